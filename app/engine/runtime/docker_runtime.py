"""The Docker backend of :class:`~app.engine.runtime.protocol.ContainerRuntime` (docker SDK 7.2).

The client is created lazily on first use, so building the engine never touches the daemon and
a daemon started later is picked up by the next call. Every SDK call runs inside
:func:`~app.engine.runtime.docker_errors.docker_errors`. Streams (``events``, ``follow_logs``)
are closed from a small watcher thread once the caller's ``stop`` event is set, because a
blocked ``next()`` on a Docker stream only returns when its socket is shut.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, BuildFailed, EngineError, NotFound
from app.engine.runtime.cgroup_stats import CgroupStatsReader
from app.engine.runtime.docker_convert import api_stats, container_info, runtime_event
from app.engine.runtime.docker_errors import docker_errors
from app.engine.runtime.docker_launch import launch_kwargs
from app.engine.runtime.hardening import evaluate
from app.engine.runtime.protocol import (
    LABEL_MANAGED,
    BuildRequest,
    ContainerInfo,
    ContainerStats,
    HardeningCheck,
    LaunchSpec,
    RuntimeEvent,
    RuntimeInfo,
)

__all__ = ["DockerRuntime"]

log = logging.getLogger(__name__)

BUILD_TAIL_LINES = 30
BUILD_TIMEOUT_S = 1800


def _close_when_set(stop: threading.Event, stream: Any, done: threading.Event) -> threading.Thread:
    """Start a daemon thread that closes ``stream`` once ``stop`` (or ``done``) is set."""

    def watch() -> None:
        while not stop.wait(0.2):
            if done.is_set():
                return
        try:
            stream.close()
        except Exception:  # the stream may already be closed by the daemon
            log.debug("closing a Docker stream failed", exc_info=True)

    thread = threading.Thread(target=watch, name="docker-stream-closer", daemon=True)
    thread.start()
    return thread


class DockerRuntime:
    """Run hardened specialist containers on a local Docker engine.

    Parameters
    ----------
    settings
        Uses ``docker_url`` (empty = ``DOCKER_HOST`` or the local socket) and
        ``docker_timeout_s`` (per API call).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: docker.DockerClient | None = None
        self._client_lock = threading.Lock()
        self._cgroups = CgroupStatsReader()
        self._ids: dict[str, str] = {}

    # -- client ---------------------------------------------------------------------------

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client, created on first use; raises ``DockerUnavailable`` when unreachable."""
        with self._client_lock:
            if self._client is None:
                with docker_errors("connect to Docker"):
                    if self._settings.docker_url:
                        self._client = docker.DockerClient(
                            base_url=self._settings.docker_url, timeout=int(self._settings.docker_timeout_s)
                        )
                    else:
                        self._client = docker.from_env(timeout=int(self._settings.docker_timeout_s))
            return self._client

    def close(self) -> None:
        """Close the client's connection pool (the next call reconnects)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _container(self, name: str, action: str) -> Container:
        with docker_errors(action):
            return self.client.containers.get(name)

    # -- engine and images ----------------------------------------------------------------

    def ping(self) -> RuntimeInfo:
        """Ask the engine for its version and info; ``DockerUnavailable`` when it is down."""
        with docker_errors("ping Docker"):
            version: dict[str, Any] = self.client.version()
            info: dict[str, Any] = self.client.info()
        return RuntimeInfo(
            backend="docker",
            version=str(version.get("Version", "")),
            api_version=str(version.get("ApiVersion", "")),
            os=str(info.get("OperatingSystem", "")),
            cgroup_version=str(info.get("CgroupVersion") or self._cgroups.version),
        )

    def image_exists(self, tag: str) -> bool:
        """Whether ``tag`` is present locally."""
        return self.image_id(tag) is not None

    def image_id(self, tag: str) -> str | None:
        """The local image id of ``tag`` or ``None``.

        A read that timed out is asked once more: a busy engine (removing sandboxes, building)
        can stall one call, and failing a task for that would be wrong; a second timeout raises.
        """
        try:
            with docker_errors(f"inspect image {tag}"):
                try:
                    return str(self.client.images.get(tag).id)
                except requests.exceptions.Timeout:
                    log.warning("inspect image %s timed out; asking once more", tag)
                    return str(self.client.images.get(tag).id)
        except NotFound:
            return None

    def pull_image(self, tag: str) -> str:
        """Pull ``tag`` from its registry (optional method used for ``python:3.12-slim`` bases)."""
        with docker_errors(f"pull image {tag}"):
            image = self.client.images.pull(tag)
        return str(image.id)

    def build_image(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        """Build with the legacy builder (``--force-rm``), streaming lines; ``BuildFailed`` on error."""
        tail: list[str] = []

        def emit(line: str) -> None:
            tail.append(line)
            del tail[:-BUILD_TAIL_LINES]
            on_line(line)

        image_id = ""
        with docker_errors(f"build image {request.tag}"):
            chunks = self.client.api.build(
                path=str(request.context),
                tag=request.tag,
                buildargs=dict(request.build_args),
                labels=dict(request.labels),
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                timeout=max(BUILD_TIMEOUT_S, int(self._settings.docker_timeout_s)),
            )
            for chunk in chunks:
                for line in str(chunk.get("stream") or chunk.get("status") or "").splitlines():
                    if line.strip():
                        emit(line.rstrip())
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("error") or (chunk.get("errorDetail") or {}).get("message", "")
                    emit(str(detail).rstrip())
                    raise BuildFailed(f"building {request.tag} failed: {str(detail).strip()}", log_tail="\n".join(tail))
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
        found = self.image_id(request.tag)
        if found is None:
            raise BuildFailed(f"building {request.tag} produced no image", log_tail="\n".join(tail))
        return found or image_id

    def remove_image(self, tag: str) -> None:
        """Remove ``tag`` (no error when it is already gone)."""
        try:
            with docker_errors(f"remove image {tag}"):
                self.client.images.remove(tag, noprune=False)
        except NotFound:
            pass

    # -- containers -----------------------------------------------------------------------

    def run(self, spec: LaunchSpec) -> ContainerInfo:
        """Create and start a hardened container; a container that fails to start is removed."""
        kwargs = launch_kwargs(spec)
        with docker_errors(f"create container {spec.name}"):
            container = self.client.containers.create(**kwargs)
        try:
            with docker_errors(f"start container {spec.name}"):
                container.start()
                container.reload()
        except EngineError:
            self.remove(spec.name)
            raise
        return container_info(container)

    def stop(self, name: str, timeout_s: float = 5.0) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after ``timeout_s``); absent is not an error."""
        try:
            container = self._container(name, f"stop container {name}")
            with docker_errors(f"stop container {name}"):
                container.stop(timeout=max(0, round(timeout_s)))
        except NotFound:
            pass

    def kill(self, name: str) -> None:
        """SIGKILL now; a container that is not running is left as it is."""
        container = self._container(name, f"kill container {name}")
        try:
            with docker_errors(f"kill container {name}"):
                container.kill()
        except EngineError as exc:
            if "is not running" not in str(exc):
                raise

    def pause(self, name: str) -> None:
        """``docker pause``: the cgroup freezer stops every process; memory stays allocated."""
        container = self._container(name, f"pause container {name}")
        with docker_errors(f"pause container {name}"):
            container.pause()

    def unpause(self, name: str) -> None:
        """``docker unpause``: thaw the frozen processes."""
        container = self._container(name, f"resume container {name}")
        with docker_errors(f"resume container {name}"):
            container.unpause()

    def remove(self, name: str) -> None:
        """Force-remove with its anonymous volumes; absent is not an error."""
        try:
            container = self._container(name, f"remove container {name}")
            self._cgroups.forget(container.id or "")
            self._ids.pop(name, None)
            with docker_errors(f"remove container {name}"):
                container.remove(force=True, v=True)
        except NotFound:
            pass
        except EngineError as exc:
            if "already in progress" not in str(exc):
                raise

    def list(self, labels: dict[str, str], all_states: bool = True) -> list[ContainerInfo]:
        """Containers carrying every ``key=value`` of ``labels``."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        with docker_errors("list containers"):
            found = self.client.containers.list(all=all_states, filters=filters, ignore_removed=True)
        return [container_info(c) for c in found]

    def get(self, name: str) -> ContainerInfo:
        """One container by name or id; ``NotFound`` when absent."""
        return container_info(self._container(name, f"find container {name}"))

    def published_port(self, name: str, container_port: int) -> int | None:
        """The host port (on 127.0.0.1) bound to ``container_port``, or ``None``."""
        container = self._container(name, f"inspect container {name}")
        ports: dict[str, Any] = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for binding in ports.get(f"{container_port}/tcp") or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
        return None

    def stats(self, name: str) -> ContainerStats:
        """A sample from the cgroup files (~0.1 ms), else from the API (1-2 s).

        The name -> id mapping is cached so the fast path makes no API call at all; a
        stale id (container re-created under the same name) simply misses and re-resolves.
        """
        cached = self._ids.get(name)
        if cached:
            fast = self._cgroups.stats(cached)
            if fast is not None:
                return fast
        container = self._container(name, f"stats of container {name}")
        self._ids[name] = container.id or ""
        fast = self._cgroups.stats(container.id or "")
        if fast is not None:
            return fast
        with docker_errors(f"stats of container {name}"):
            raw: dict[str, Any] = container.stats(stream=False)
        return api_stats(raw)

    def logs(self, name: str, tail: int = 200) -> str:
        """The last ``tail`` lines of stdout and stderr."""
        container = self._container(name, f"logs of container {name}")
        with docker_errors(f"logs of container {name}"):
            data = container.logs(stdout=True, stderr=True, tail=tail)
        return bytes(data).decode("utf-8", "replace")

    def read_dir(self, name: str, path: str, max_bytes: int) -> bytes:
        """A tar archive of ``path`` in the container.

        Made by ``tar`` inside the container (the archive API cannot see tmpfs mounts such as
        ``/output``); ``NotFound`` when the folder does not exist, ``BadInput`` past ``max_bytes``.
        """
        parent, _, base = path.rstrip("/").rpartition("/")
        container = self._container(name, f"read {path} in {name}")
        with docker_errors(f"read {path} in {name}"):
            result = container.exec_run(["tar", "-C", parent or "/", "-cf", "-", base], stream=True, demux=True)
            chunks: list[bytes] = []
            errors: list[bytes] = []
            total = 0
            for out, err in result.output:
                if err:
                    errors.append(err)
                if out:
                    total += len(out)
                    if total > max_bytes:
                        raise BadInput(f"the outputs in {path} exceed {max_bytes / 1e6:.0f} MB; not collected")
                    chunks.append(out)
        if not chunks:
            message = b"".join(errors).decode("utf-8", "replace").strip()
            raise NotFound(f"{path} not found in {name}" + (f": {message}" if message else ""))
        return b"".join(chunks)

    def follow_logs(self, name: str, stop: threading.Event) -> Iterator[str]:
        """Yield new lines (not earlier ones: use :meth:`logs`) until ``stop`` or the end."""
        container = self._container(name, f"follow logs of {name}")
        with docker_errors(f"follow logs of {name}"):
            stream = container.logs(stdout=True, stderr=True, stream=True, follow=True, tail=0)
        done = threading.Event()
        _close_when_set(stop, stream, done)
        pending = b""
        try:
            for chunk in stream:
                pending += bytes(chunk)
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace")
                if stop.is_set():
                    return
            if pending and not stop.is_set():
                yield pending.decode("utf-8", "replace")
        except Exception as exc:
            if not stop.is_set():
                with docker_errors(f"follow logs of {name}"):
                    raise exc
        finally:
            done.set()

    def events(self, stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Yield events of managed containers until ``stop`` is set (or the daemon goes away)."""
        with docker_errors("watch Docker events"):
            stream = self.client.events(decode=True, filters={"label": f"{LABEL_MANAGED}=true", "type": "container"})
        done = threading.Event()
        _close_when_set(stop, stream, done)
        try:
            for raw in stream:
                if stop.is_set():
                    return
                event = runtime_event(raw)
                if event is not None:
                    yield event
        except Exception as exc:
            if not stop.is_set():
                with docker_errors("watch Docker events"):
                    raise exc
        finally:
            done.set()

    def hardening(self, name: str) -> builtins.list[HardeningCheck]:
        """The checklist of :mod:`app.engine.runtime.hardening` on the live container."""
        return evaluate(self._container(name, f"inspect container {name}").attrs)

    # -- networks and volumes -------------------------------------------------------------

    def ensure_network(self, name: str, internal: bool, labels: dict[str, str]) -> None:
        """Create a user bridge network ``name`` unless one exists."""
        with docker_errors(f"create network {name}"):
            if any(n.name == name for n in self.client.networks.list(names=[name])):
                return
            self.client.networks.create(name, driver="bridge", internal=internal, labels=dict(labels))

    def remove_network(self, name: str) -> None:
        """Remove network ``name`` (no error when absent)."""
        try:
            with docker_errors(f"remove network {name}"):
                self.client.networks.get(name).remove()
        except NotFound:
            pass

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        """Create named volume ``name`` unless it exists."""
        try:
            with docker_errors(f"inspect volume {name}"):
                self.client.volumes.get(name)
            return
        except NotFound:
            pass
        with docker_errors(f"create volume {name}"):
            self.client.volumes.create(name=name, labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        """Remove volume ``name`` (no error when absent)."""
        try:
            with docker_errors(f"remove volume {name}"):
                self.client.volumes.get(name).remove(force=True)
        except NotFound:
            pass
