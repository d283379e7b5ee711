"""A real orchestrator on a real Docker engine, in a namespace of its own.

Everything the engine creates in that namespace (containers, volumes, networks) is removed
when the fixture ends. Images are kept: they are tagged by content hash and reused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings, load_settings
from app.engine.orchestrator import Orchestrator

NS_LABEL = "io.switchboard.namespace"


def purge_namespace(client: Any, namespace: str) -> None:
    """Remove every container, network and volume labelled with ``namespace``."""
    from tests.integration.conftest import remove_labelled

    remove_labelled(client, {"label": f"{NS_LABEL}={namespace}"})


@pytest.fixture
def engine_settings(tmp_path: Path, docker_client: Any) -> Iterator[Callable[..., Settings]]:
    """Factory of settings sharing one data dir and namespace (so restarts see the same state)."""
    namespace = "t" + secrets.token_hex(4)
    data_dir = tmp_path / "data"

    def make(**overrides: Any) -> Settings:
        return load_settings(
            data_dir=data_dir, namespace=namespace, ollama_autostart=False, stats_interval_s=0.5, **overrides
        )

    yield make
    purge_namespace(docker_client, namespace)


@pytest.fixture
def orch(engine_settings: Callable[..., Settings]) -> Iterator[Orchestrator]:
    """A started orchestrator; closed and its containers removed afterwards."""
    engine = Orchestrator(engine_settings())
    engine.start().result(timeout=120)
    yield engine
    engine.close(remove_containers=True)
