"""The embedded llama.cpp server (``llama-cpp-python``'s OpenAI-compatible API) as a chat service.

Setup (``packaging/setup/llama.sh``) builds the server once per machine and fetches the pinned
Qwen2.5-Coder-1.5B-Instruct GGUF; the engine starts it on 127.0.0.1 when it does not answer
(``llama_autostart``) and stops it on close only if it started it. Every call has a timeout.
The chat template is the server's (built from the model family, ``chatml`` for Qwen), never
trusted blindly from the file: the request sends plain role/content messages only.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from app.engine.core.config import Settings, repo_root
from app.engine.core.errors import OllamaUnavailable

__all__ = ["LlamaCppService", "ModelStatus"]

log = logging.getLogger(__name__)
START_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class ModelStatus:
    """Whether the server answers, which models it serves, and how to fix it."""

    up: bool
    models: tuple[str, ...]
    detail: str
    fix: str = ""


class LlamaCppService:
    """Chat completions from the llama.cpp server at ``settings.llama_host``.

    Thread-safe; one generation at a time is the server's own rule (it queues the rest).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = settings.llama_host.rstrip("/")
        self._started_by_us = False
        self._start_lock = threading.Lock()
        self._up_cache: tuple[float, bool] = (0.0, False)

    # ---------------------------------------------------------------- HTTP
    def _request(self, path: str, body: dict[str, Any] | None, timeout_s: float) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - loopback URL
                payload: dict[str, Any] = json.loads(resp.read())
                return payload
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise OllamaUnavailable(f"llama.cpp server error {exc.code} at {self.base}: {detail}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OllamaUnavailable(
                f"the llama.cpp server at {self.base} did not answer ({reason})",
                hint="start it: `packaging/setup/llama.sh start` (part of `make setup`)",
            ) from exc

    def _accepts(self) -> bool:
        """Whether something listens on the server's port (a TCP connect, 1 s)."""
        host, _, port = self.base.split("://", 1)[-1].partition(":")
        try:
            with socket.create_connection((host, int(port or 80)), timeout=1.0):
                return True
        except (OSError, ValueError):
            return False

    def is_up(self, max_age_s: float = 5.0) -> bool:
        """Whether the server listens, cached for ``max_age_s`` (the router asks before each call).

        A TCP connect only (1 s at most): the model list does not answer while the server
        generates, and a busy server is up.
        """
        expires, up = self._up_cache
        if time.monotonic() < expires:
            return up
        up = self._accepts()
        self._up_cache = (time.monotonic() + max_age_s, up)
        return up

    def status(self) -> ModelStatus:
        """Never raises; bounded by a few seconds.

        The server answers nothing else while it generates, so a listening server whose model
        list does not come back in time is reported up and busy, not down; a server that is
        really hung is caught by the chat call's own timeout.
        """
        try:
            doc = self._request("/v1/models", None, 3.0)
        except OllamaUnavailable as exc:
            if self._accepts():
                model = self.settings.planning_model
                return ModelStatus(True, (model,), f"llama.cpp at {self.base}: busy generating")
            return ModelStatus(False, (), exc.message, exc.hint or "")
        models = tuple(str(m.get("id")) for m in doc.get("data", []))
        present = self.settings.planning_model in models
        detail = f"llama.cpp at {self.base}: {', '.join(models) or 'no model'}"
        fix = "" if present else f"set planning_model to one of: {', '.join(models)}"
        return ModelStatus(True, models, detail, fix)

    def chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        format: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """The assistant's reply; ``format`` (a JSON schema) constrains it by grammar."""
        opts = options or {}
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": float(opts.get("temperature", 0.0)),
            "max_tokens": int(opts.get("num_predict", 512)),
        }
        for key in ("seed", "top_p", "stop", "grammar"):  # grammar: GBNF that the reply must follow
            if key in opts:
                body[key] = opts[key]
        if format is not None:
            body["response_format"] = {"type": "json_object", "schema": format}
        timeout = timeout_s or self.settings.llama_timeout_s
        try:
            doc = self._request("/v1/chat/completions", body, timeout)
        except OllamaUnavailable:
            if not self.settings.llama_autostart or self.status().up:
                raise
            self.ensure_server()  # not running: start the installed server once, then retry
            doc = self._request("/v1/chat/completions", body, timeout)
        try:
            return str(doc["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise OllamaUnavailable(f"llama.cpp gave an unexpected reply: {str(doc)[:200]}") from exc

    # ---------------------------------------------------------------- server
    def ensure_server(self) -> bool:
        """Start the installed server when none answers; True when this call started it."""
        with self._start_lock:
            if self.status().up:
                return False
            if not self.settings.llama_autostart:
                raise OllamaUnavailable(
                    f"no llama.cpp server at {self.base}", hint="start it: `packaging/setup/llama.sh start`"
                )
            port = self.base.rsplit(":", 1)[-1]
            script = repo_root() / "packaging" / "setup" / "llama.sh"
            started = time.monotonic()
            try:
                done = subprocess.run(
                    ["bash", str(script), "start"],
                    capture_output=True,
                    text=True,
                    timeout=START_TIMEOUT_S,
                    check=False,
                    env={**_env(), "SWITCHBOARD_LLAMA_PORT": port},
                )
            except subprocess.TimeoutExpired as exc:
                raise OllamaUnavailable(f"the llama.cpp server did not start within {START_TIMEOUT_S:g} s") from exc
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise OllamaUnavailable(
                    "could not start the llama.cpp server: " + " / ".join(tail),
                    hint="run `make setup` (builds it once per machine)",
                )
            # llama.sh says "started" only when it launched the server; a server someone else
            # started (and that was merely slow to answer) is never ours to stop
            if "llama.cpp server started" not in done.stdout:
                return False
            self._started_by_us = True
            log.info("started the llama.cpp server in %.1f s", time.monotonic() - started)
            return True

    def stop_started_server(self) -> None:
        """Stop the server only if this engine started it."""
        if not self._started_by_us:
            return
        script = repo_root() / "packaging" / "setup" / "llama.sh"
        port = self.base.rsplit(":", 1)[-1]
        subprocess.run(
            ["bash", str(script), "stop"],
            capture_output=True,
            timeout=30,
            check=False,
            env={**_env(), "SWITCHBOARD_LLAMA_PORT": port},
        )
        self._started_by_us = False


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
