"""Fixtures for the engine's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store (PostgreSQL tests override this fixture)."""
    s = Store(f"sqlite:///{tmp_path / 'db' / 'switchboard.db'}", data_dir=tmp_path)
    try:
        yield s
    finally:
        s.close()
