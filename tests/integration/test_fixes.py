"""The status bar's Fix: the engine starts what is missing, and stops only what it started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.engine.core.config import load_settings
from app.engine.core.errors import BadInput
from app.engine.llm.ollama_service import ollama_home
from app.engine.orchestrator import Orchestrator
from tests.conftest import require_service


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.ollama
def test_fix_starts_ollama_and_close_stops_only_it(tmp_path: Path) -> None:
    installed = (ollama_home() / "R/bin/ollama").is_file()
    require_service("Ollama installation", None if installed else "run packaging/setup/ollama.sh install")
    port = _free_port()
    settings = load_settings(
        data_dir=tmp_path,
        namespace="fixes",
        ollama_host=f"http://127.0.0.1:{port}",
        ollama_autostart=True,
        ollama_timeout_s=120,
    )
    orch = Orchestrator(settings)
    orch.start(docker=False, reconcile=False, monitors=False).result(timeout=60)
    try:
        assert orch.routing.health().status == "down"
        done = orch.fix("ollama").result(timeout=180)
        assert "started the Ollama server" in done
        assert orch.routing.health().status == "ok"
    finally:
        orch.close()
    with socket.socket() as probe:  # the server the engine started is gone with it
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_unknown_or_manual_fixes_say_so(tmp_path: Path) -> None:
    orch = Orchestrator(load_settings(data_dir=tmp_path, namespace="fixes2", ollama_autostart=False))
    try:
        with pytest.raises(BadInput, match="no automatic fix"):
            orch.fix("database").result(timeout=30)
        with pytest.raises(BadInput, match="unknown component"):
            orch.fix("toaster").result(timeout=30)
    finally:
        orch.close()
