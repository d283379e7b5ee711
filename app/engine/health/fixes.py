"""Fixes the engine can apply itself when a dependency is down (the status bar's Fix button).

Docker: run the project's own `packaging/setup/dockerd.sh` (starts `dockerd` when it is
installed and we may start it). Ollama: start the installed server on 127.0.0.1 and create the
base model when missing. The database has no automatic fix: its URL is the user's choice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from app.engine.core.config import Settings, repo_root
from app.engine.core.errors import BadInput, DockerUnavailable, EngineError
from app.engine.llm.ollama_service import OllamaService
from app.engine.runtime.protocol import ContainerRuntime

__all__ = ["apply_fix"]

DOCKERD_TIMEOUT_S = 90.0


def _fix_docker(runtime: ContainerRuntime) -> str:
    script = repo_root() / "packaging" / "setup" / "dockerd.sh"
    if shutil.which("dockerd") is None:
        raise DockerUnavailable("the Docker engine is not installed", hint="run `make setup` (installs docker.io)")
    if os.geteuid() != 0:
        raise DockerUnavailable(
            "starting the Docker engine needs administrator rights", hint="run `sudo packaging/setup/dockerd.sh`"
        )
    if not script.is_file():
        raise DockerUnavailable(f"{script} is missing", hint="start dockerd yourself")
    try:
        done = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=DOCKERD_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DockerUnavailable(f"dockerd did not answer within {DOCKERD_TIMEOUT_S:g} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise DockerUnavailable("could not start the Docker engine: " + " / ".join(tail))
    runtime.ping()
    return (done.stdout.strip().splitlines() or ["docker engine ok"])[-1]


def _fix_ollama(service: OllamaService, settings: Settings) -> str:
    started = service.ensure_server()
    created = service.ensure_base_model()
    parts = ["started the Ollama server" if started else "Ollama server answers"]
    parts.append(f"created model {settings.ollama_model}" if created else f"model {settings.ollama_model} present")
    return "; ".join(parts)


def apply_fix(
    component: str,
    *,
    runtime: ContainerRuntime,
    service: OllamaService,
    settings: Settings,
    recheck: Callable[[], object],
) -> str:
    """Apply the known fix for ``component``, then ``recheck()`` health; returns what was done."""
    if component == "docker":
        done = _fix_docker(runtime)
    elif component == "ollama":
        done = _fix_ollama(service, settings)
    elif component == "database":
        raise BadInput(
            "the database has no automatic fix: check database_url (`switchboard config`) and that its server runs"
        )
    else:
        raise BadInput(f"unknown component {component!r}; expected docker, ollama or database")
    try:
        recheck()
    except EngineError:
        pass
    return done
