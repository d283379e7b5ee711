"""Find or start the local Ollama server and manage the base and derived models.

Everything goes through the official ``ollama`` client with a timeout on every call (the
client's default is to wait forever). Any failure becomes :class:`OllamaUnavailable` with a
hint that says how to fix it, so callers (router, planner, doctor) never see httpx errors and
never hang.

The server the engine may start is the one ``packaging/setup/ollama.sh install`` put under
``$SWITCHBOARD_HOME/ollama`` (``R/bin/ollama``, ``venv/lib``, ``models/``, ``model_path``);
it is bound to 127.0.0.1 only, and :meth:`OllamaService.stop_started_server` stops only a
server this object started.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import ollama

from app.engine.core.config import Settings
from app.engine.core.errors import OllamaUnavailable
from app.engine.core.specs import SpecialistSpec

__all__ = ["ModelInfo", "OllamaService", "OllamaStatus", "ollama_home"]

T = TypeVar("T")
SETUP_HINT = "run `packaging/setup/ollama.sh install && packaging/setup/ollama.sh start` or set SWITCHBOARD_OLLAMA_HOST"


def ollama_home() -> Path:
    """Where ``ollama.sh install`` puts the server, its libraries and models."""
    root = os.environ.get("SWITCHBOARD_HOME") or str(Path.home() / ".local/share/switchboard")
    return Path(root) / "ollama"


@dataclass(frozen=True)
class OllamaStatus:
    """Whether the server answers, its version, whether the base model exists, and how fast."""

    up: bool
    version: str = ""
    model_present: bool = False
    latency_ms: float | None = None
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """One model the server holds."""

    name: str
    size: int
    modified: str
    loaded: bool
    expires_at: str = ""


def _bare(name: str) -> str:
    return name[: -len(":latest")] if name.endswith(":latest") else name


class OllamaService:
    """The engine's only door to Ollama (thread-safe; one client per timeout value)."""

    def __init__(self, settings: Settings, *, home: Path | None = None) -> None:
        self.settings = settings
        self.host = settings.ollama_host
        self.model = settings.ollama_model
        self.timeout_s = settings.ollama_timeout_s
        self.home = home or ollama_home()
        self._clients: dict[float, ollama.Client] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._up_cache: tuple[float, bool] = (0.0, False)
        # None = the server's default; -1 keeps models loaded until the engine's memory budget
        # unloads them (fewer reloads than Ollama's own 5-minute expiry)
        self.keep_alive: int | None = -1 if settings.models_in_budget else None

    # -- plumbing -------------------------------------------------------------------------
    def _client(self, timeout_s: float | None = None) -> ollama.Client:
        timeout = timeout_s if timeout_s else self.timeout_s
        with self._lock:
            if timeout not in self._clients:
                self._clients[timeout] = ollama.Client(host=self.host, timeout=timeout)
            return self._clients[timeout]

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one client call, mapping every transport or server error to OllamaUnavailable."""
        try:
            return fn()
        except ollama.ResponseError as exc:
            raise OllamaUnavailable(
                f"Ollama {what} failed: {exc.error} (HTTP {exc.status_code})", hint=self._hint()
            ) from exc
        except httpx.TimeoutException as exc:
            raise OllamaUnavailable(
                f"Ollama {what} timed out at {self.host}",
                hint="the model may be loading; retry or raise ollama_timeout_s",
            ) from exc
        except (ConnectionError, httpx.HTTPError, OSError) as exc:
            self._up_cache = (time.monotonic(), False)
            raise OllamaUnavailable(f"Ollama does not answer at {self.host} ({what})", hint=SETUP_HINT) from exc

    def _hint(self) -> str:
        return f"check `ollama list` (source {self.home}/env.sh) and that model {self.model!r} exists"

    # -- server ---------------------------------------------------------------------------
    def version(self, timeout_s: float = 3.0) -> str:
        """Server version; raises OllamaUnavailable quickly when nothing answers."""
        client = self._client(timeout_s)
        raw = self._call("version", lambda: client._request_raw("GET", "/api/version"))
        return str(raw.json().get("version", ""))

    def is_up(self, max_age_s: float = 5.0) -> bool:
        """Cached liveness check for the router's hot path (at most one probe per ``max_age_s``)."""
        checked, up = self._up_cache
        if time.monotonic() - checked < max_age_s:
            return up
        try:
            self.version(timeout_s=1.0)
            up = True
        except OllamaUnavailable:
            up = False
        self._up_cache = (time.monotonic(), up)
        return up

    def status(self) -> OllamaStatus:
        """Version, base-model presence and round-trip latency; never hangs, never raises."""
        start = time.perf_counter()
        try:
            version = self.version(timeout_s=min(3.0, self.timeout_s))
        except OllamaUnavailable as exc:
            return OllamaStatus(False, detail=exc.message, fix=exc.hint or SETUP_HINT)
        latency = (time.perf_counter() - start) * 1000
        try:
            present = self.has_model(self.model)
        except OllamaUnavailable as exc:
            return OllamaStatus(True, version, False, latency, exc.message, exc.hint or "")
        fix = "" if present else "run `packaging/setup/ollama.sh model` (or let the app create it)"
        detail = f"Ollama {version} at {self.host}; model {self.model} {'present' if present else 'missing'}"
        return OllamaStatus(True, version, present, latency, detail, fix)

    def _port(self) -> int:
        parsed = urlparse(self.host)
        if parsed.hostname not in ("127.0.0.1", "localhost"):
            raise OllamaUnavailable(
                f"not starting Ollama for non-local host {self.host}", hint="start that server yourself"
            )
        return parsed.port or 11434

    def ensure_server(self, wait_s: float = 30.0) -> bool:
        """Start the installed server when none answers; return True if this call started it."""
        if self.is_up(max_age_s=0):
            return False
        if not self.settings.ollama_autostart:
            raise OllamaUnavailable(
                f"Ollama does not answer at {self.host}", hint="ollama_autostart is off; " + SETUP_HINT
            )
        port = self._port()
        exe = self.home / "R/bin/ollama"
        if not exe.is_file():
            raise OllamaUnavailable(f"no Ollama server installed at {exe}", hint=SETUP_HINT)
        env = dict(os.environ)
        libs = [str(self.home / "R/lib/ollama"), str(self.home / "venv/lib")]
        env.update(
            LD_LIBRARY_PATH=":".join(libs + [p for p in [env.get("LD_LIBRARY_PATH", "")] if p]),
            OLLAMA_HOST=f"127.0.0.1:{port}",
            OLLAMA_NUM_GPU="0",
            OLLAMA_MODELS=str(self.home / "models"),
            OLLAMA_KEEP_ALIVE=env.get("OLLAMA_KEEP_ALIVE", "30m"),
        )
        log_path = self.settings.data_dir / "logs" / f"ollama-{port}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
                [str(exe), "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,
            )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                self._proc = None
                raise OllamaUnavailable(f"Ollama exited at start; log {log_path}:\n{tail}", hint=SETUP_HINT)
            if self.is_up(max_age_s=0):
                return True
            time.sleep(0.1)
        self.stop_started_server()
        raise OllamaUnavailable(f"Ollama did not answer within {wait_s:.0f} s (log {log_path})", hint=SETUP_HINT)

    @property
    def started_pid(self) -> int | None:
        """Pid of the server this object started, if it still runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def stop_started_server(self, grace_s: float = 10.0) -> bool:
        """Stop the server (and its model runners) this object started; never any other."""
        proc, self._proc = self._proc, None
        if proc is None:
            return False
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)  # its own session: the group is exactly serve + runners
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._up_cache = (0.0, False)
        return True

    # -- models ---------------------------------------------------------------------------
    def list_models(self) -> list[ModelInfo]:
        """Every model with size, modification time and whether it is loaded now."""
        client = self._client()
        listed = self._call("list", client.list)
        loaded = {_bare(str(m.model)): str(m.expires_at or "") for m in self._call("ps", client.ps).models}
        return [
            ModelInfo(
                name=_bare(str(m.model)),
                size=int(m.size or 0),
                modified=m.modified_at.isoformat() if m.modified_at else "",
                loaded=_bare(str(m.model)) in loaded,
                expires_at=loaded.get(_bare(str(m.model)), ""),
            )
            for m in listed.models
        ]

    def has_model(self, name: str) -> bool:
        """Whether the server holds ``name`` (``:latest`` optional)."""
        client = self._client(min(5.0, self.timeout_s))
        return any(_bare(str(m.model)) == _bare(name) for m in self._call("list", client.list).models)

    def ensure_base_model(self, on_progress: Callable[[str, float | None], None] | None = None) -> bool:
        """Create the base model from the packaged GGUF when missing; True if it was created."""
        if self.has_model(self.model):
            return False
        path_file = self.home / "model_path"
        gguf = Path(path_file.read_text().strip()) if path_file.is_file() else None
        if gguf is None or not gguf.is_file():
            raise OllamaUnavailable(f"model {self.model} is missing and no GGUF is installed", hint=SETUP_HINT)
        report = on_progress or (lambda _line, _fraction: None)
        client = self._client(max(self.timeout_s, 120.0))
        report(f"uploading {gguf.name} ({gguf.stat().st_size // 1048576} MB)", 0.0)
        digest = self._call("create_blob", lambda: client.create_blob(gguf))
        report("creating model", 0.5)
        for update in self._call(
            "create", lambda: list(client.create(model=self.model, files={"model.gguf": digest}, stream=True))
        ):
            report(str(update.status or ""), None)
        report(f"model {self.model} ready", 1.0)
        return True

    def _derived_state_file(self) -> Path:
        return self.settings.data_dir / "ollama" / "derived_models.json"

    @staticmethod
    def derived_fingerprint(spec: SpecialistSpec, base: str) -> str:
        """Hash of everything the derived model is made from: a change means re-create."""
        planner = spec.planner
        payload = {
            "base": base,
            "system": planner.system_prompt if planner else "",
            "temperature": planner.temperature if planner else 0.0,
            "num_predict": planner.num_predict if planner else 256,
            "examples": [[e.task, e.plan] for e in planner.examples] if planner else [],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def ensure_derived_model(self, spec: SpecialistSpec) -> bool:
        """Create or update ``switchboard-<id>`` from the base model; False when unchanged."""
        if spec.planner is None:
            raise OllamaUnavailable(f"{spec.id} has no [planner] section", hint="add one to its specialist.toml")
        fingerprint = self.derived_fingerprint(spec, self.model)
        state_file = self._derived_state_file()
        try:
            state: dict[str, str] = json.loads(state_file.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get(spec.model_name) == fingerprint and self.has_model(spec.model_name):
            return False
        messages: list[dict[str, str]] = []
        for example in spec.planner.examples:
            messages += [{"role": "user", "content": example.task}, {"role": "assistant", "content": example.plan}]
        client = self._client()
        self._call(
            "create",
            lambda: client.create(
                model=spec.model_name,
                from_=self.model,
                system=spec.planner.system_prompt,  # type: ignore[union-attr]
                parameters={"temperature": spec.planner.temperature, "num_predict": spec.planner.num_predict},  # type: ignore[union-attr]
                messages=messages or None,
            ),
        )
        state[spec.model_name] = fingerprint
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps(state, indent=1, sort_keys=True))
        return True

    def create_model(
        self,
        name: str,
        *,
        base: str,
        system: str,
        parameters: dict[str, Any],
        messages: list[dict[str, str]] | None = None,
    ) -> None:
        """Create (or replace) ``name`` from ``base`` with a system prompt, parameters and few-shots.

        Used for specialist variants (``switchboard-<id>-v<n>``); the manifest's own derived
        model goes through :meth:`ensure_derived_model`, which also skips unchanged ones.
        """
        client = self._client()
        self._call(
            "create",
            lambda: client.create(
                model=name, from_=base, system=system, parameters=parameters, messages=messages or None
            ),
        )

    def unload(self, model: str) -> None:
        """Free the model's memory now (``keep_alive=0``); it reloads on the next call."""
        client = self._client()
        self._call("unload", lambda: client.generate(model=model, keep_alive=0))

    def delete(self, model: str) -> None:
        """Delete a model from the server (and forget its fingerprint)."""
        client = self._client()
        self._call("delete", lambda: client.delete(model))
        state_file = self._derived_state_file()
        try:
            state = json.loads(state_file.read_text())
            if state.pop(_bare(model), None) is not None:
                state_file.write_text(json.dumps(state, indent=1, sort_keys=True))
        except (OSError, ValueError):
            pass

    # -- inference ------------------------------------------------------------------------
    def chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        format: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> str:
        """One non-streaming chat; returns the assistant's content (raises OllamaUnavailable).

        Ollama takes no GBNF grammar: a ``grammar`` option is dropped (``format`` constrains JSON).
        """
        client = self._client(timeout_s)
        options = {k: v for k, v in (options or {}).items() if k != "grammar"} or None
        response = self._call(
            "chat",
            lambda: client.chat(
                model=model, messages=messages, format=format, options=options, keep_alive=self.keep_alive
            ),
        )
        return str(response.message.content or "")

    def test_completion(self) -> tuple[float, str]:
        """A tiny schema-constrained completion for ``doctor``: (latency ms, content)."""
        start = time.perf_counter()
        schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
        content = self.chat(
            self.model,
            [{"role": "user", "content": "Reply with JSON: what colour is the sky?"}],
            format=schema,
            options={"temperature": 0, "num_predict": 24},
        )
        try:
            json.loads(content.strip())
        except json.JSONDecodeError as exc:
            raise OllamaUnavailable(f"test completion was not JSON: {content[:80]!r}", hint=self._hint()) from exc
        return (time.perf_counter() - start) * 1000, content.strip()
