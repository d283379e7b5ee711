"""Which models an Ollama server holds in memory, for the engine's one memory budget.

``/api/ps`` lists loaded models with their size. With the engine's ``keep_alive=-1`` a model
never expires, so its expiry says nothing about when it was last used; every loaded model
therefore counts as idle (``idle_s`` infinite) and the budget evicts models only after paused
and idle containers, in the order the server lists them.
"""

from __future__ import annotations

import time

import httpx
import ollama

from app.engine.core.errors import OllamaUnavailable
from app.engine.fleet.budget import LoadedModel

__all__ = ["OllamaResidency"]


class OllamaResidency:
    """:class:`~app.engine.fleet.budget.ModelMemory` over one Ollama server."""

    def __init__(self, host: str, timeout_s: float = 3.0) -> None:
        self.host = host
        self._client = ollama.Client(host=host, timeout=timeout_s)
        self._cache: tuple[float, list[LoadedModel]] = (-1e9, [])

    def loaded(self) -> list[LoadedModel]:
        """Models in memory now (cached 2 s); ``OllamaUnavailable`` when the server does not answer."""
        if time.monotonic() - self._cache[0] < 2.0:
            return list(self._cache[1])
        try:
            models = self._client.ps().models
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, OSError) as exc:
            raise OllamaUnavailable(f"Ollama does not answer at {self.host} (ps)") from exc
        now = time.monotonic()
        out = []
        for m in models:
            name = str(m.model or m.name or "")
            out.append(LoadedModel(name=name, memory_mb=int((m.size or 0) / (1024 * 1024)), idle_s=float("inf")))
        self._cache = (now, out)
        return list(out)

    def unload(self, name: str) -> None:
        """Free ``name``'s memory now; Ollama reloads it on the next call."""
        self._cache = (-1e9, [])
        try:
            self._client.generate(model=name, keep_alive=0)
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, OSError) as exc:
            raise OllamaUnavailable(f"could not unload {name} from {self.host}: {exc}") from exc
