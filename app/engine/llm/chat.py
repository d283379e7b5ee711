"""The one thing the router and the planner need from an Ollama server: a chat call."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["ChatService"]


class ChatService(Protocol):
    """Implemented by :class:`~app.engine.ollama_service.OllamaService` (and test fakes)."""

    def chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        format: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """Return the assistant message content."""
        ...
