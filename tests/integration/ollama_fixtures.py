"""Fixtures for tests against the real Ollama server (fail under CI=true when it is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.llm.ollama_service import OllamaService
from tests.conftest import require_service

__all__ = ["ollama_service", "ollama_settings"]


@pytest.fixture
def ollama_settings(tmp_path: Path) -> Settings:
    """Settings for the shared server (``SWITCHBOARD_OLLAMA_HOST`` or 127.0.0.1:11435)."""
    return Settings(data_dir=tmp_path / "data", ollama_timeout_s=120.0, ollama_autostart=False)


@pytest.fixture
def ollama_service(ollama_settings: Settings) -> OllamaService:
    """An OllamaService whose server answers and holds the base model."""
    service = OllamaService(ollama_settings)
    status = service.status()
    problem = None if status.up and status.model_present else f"{status.detail} ({status.fix})"
    require_service("Ollama", problem)
    return service
