"""LlamaCppService.status without a model: nothing listening is down; a silent listener is busy."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import OllamaUnavailable
from app.engine.llm.llamacpp import LlamaCppService


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_down_with_the_fix(tmp_path: Path) -> None:
    service = LlamaCppService(
        Settings(data_dir=tmp_path, llama_host=f"http://127.0.0.1:{_free_port()}", llama_autostart=False)
    )
    status = service.status()
    assert not status.up and "llama.sh start" in status.fix
    with pytest.raises(OllamaUnavailable):
        service.chat("m", [{"role": "user", "content": "hi"}], timeout_s=2)


def test_a_listener_that_never_answers_is_busy_and_a_chat_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        service = LlamaCppService(
            Settings(data_dir=tmp_path, llama_host=f"http://127.0.0.1:{port}", llama_autostart=False)
        )
        status = service.status()
        assert status.up and "busy" in status.detail
        with pytest.raises(OllamaUnavailable) as err:
            service.chat("m", [{"role": "user", "content": "hi"}], timeout_s=1.5)
        assert "did not answer" in err.value.message
