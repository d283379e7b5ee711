"""A Docker-free ``ContainerRuntime`` whose "containers" are in-process Unix-socket servers.

``FakeRuntime.run(spec)`` binds ``specialist.sock`` in the host folder mounted at
``/run/switchboard`` and answers the NDJSON wire protocol (ping -> pong, task -> result,
cleanup -> cleaned) on one thread per connection, like the in-container runtime does.

Tasks are answered by ``runtime.behaviour(container, request)``; the default, :func:`scripted`,
reads the task text:

``hang``      never answers (until the container goes away)
``wait``      answers once ``runtime.gate`` is set
``die``       the container dies mid-task (every attempt)
``die-once``  the container dies on the first attempt of this task id only
``oom``       the container is OOM-killed mid-task
``fail``      answers ``ok: false`` with a ``bad_input`` error
``cat``       answers with the content of the task's input files
anything else answers ``echo: <text>``

A behaviour returning ``None`` closes the connection without an answer.

:func:`make_rig` wires a real SQLite ``Store``, ``BlobStore``, ``EventBus``, ``Lifecycle`` and
``Dispatcher`` over the fake, and tears every thread down again.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import shutil
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import DockerUnavailable, EngineError, NotFound
from app.engine.core.events import Decision, EngineEvent, EventBus, TaskStateChanged
from app.engine.core.specs import Limits, Scaling, SpecialistSpec
from app.engine.fleet.lifecycle import Lifecycle
from app.engine.runtime.protocol import (
    ContainerInfo,
    ContainerRuntime,
    ContainerStats,
    HardeningCheck,
    LaunchSpec,
    RuntimeEvent,
    RuntimeInfo,
)
from app.engine.store import BlobStore, Store, TaskRecord
from app.engine.tasks.dispatch import Dispatcher, InputRecord, Job

Behaviour = Callable[["FakeContainer", dict[str, Any]], dict[str, Any] | None]

SOCKET_TARGET = "/run/switchboard"
_PROTOCOL = frozenset(n for n in vars(ContainerRuntime) if not n.startswith("_"))  # what ``down`` refuses
INPUT_TARGET = "/input"


def result(request: dict[str, Any], answer: str, **extra: Any) -> dict[str, Any]:
    """A successful wire answer to ``request``."""
    return {"v": 1, "kind": "result", "id": request["id"], "ok": True, "answer": answer, **extra}


def error(request: dict[str, Any], kind: str, message: str) -> dict[str, Any]:
    """A failed wire answer to ``request``."""
    return {"v": 1, "kind": "result", "id": request["id"], "ok": False, "error": {"kind": kind, "message": message}}


def scripted(container: FakeContainer, request: dict[str, Any]) -> dict[str, Any] | None:
    """The default behaviour: the task text says what the container does (module docstring)."""
    text = str(request.get("text", ""))
    runtime = container.runtime
    if text == "hang":
        container.stopped.wait()
        return None
    if text == "wait":
        while not runtime.gate.wait(0.01):
            if container.stopped.is_set():
                return None
        return result(request, "waited")
    if text == "die" or (text == "die-once" and runtime.attempts_of(request["id"]) == 1):
        container.die()
        return None
    if text == "oom":
        container.die(oom=True)
        return None
    if text == "fail":
        return error(request, "bad_input", "row 3 is wrong")
    if text == "cat":
        parts = [container.host_path(ref["path"]).read_text() for ref in request.get("inputs", [])]
        return result(request, "+".join(parts))
    return result(request, f"echo: {text}")


class FakeContainer:
    """One fake container: a status, labels, and (when started) a socket server."""

    def __init__(self, runtime: FakeRuntime, spec: LaunchSpec) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = spec.name
        self.status = "running"
        self.oom_killed = False
        self.exit_code: int | None = None
        self.stopped = threading.Event()
        self.requests: list[dict[str, Any]] = []  # task requests received, in order
        self._mounts = {m.target: Path(m.source) for m in spec.mounts if not m.volume}
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def specialist(self) -> str:
        """The specialist label."""
        return self.spec.labels.get("io.switchboard.specialist", "")

    @property
    def socket_path(self) -> Path | None:
        """The host path of ``/run/switchboard/specialist.sock`` (None without that mount)."""
        folder = self._mounts.get(SOCKET_TARGET)
        return folder / "specialist.sock" if folder is not None else None

    def host_path(self, container_path: str) -> Path:
        """Translate a path under a bind mount (``/input/...``) to the host path."""
        for target, source in self._mounts.items():
            if container_path == target or container_path.startswith(target + "/"):
                return source / container_path[len(target) :].lstrip("/")
        raise AssertionError(f"{container_path} is not under a bind mount of {self.name}")

    def info(self) -> ContainerInfo:
        """What the runtime lists for this container."""
        return ContainerInfo(
            id=f"id-{self.name}",
            name=self.name,
            image=self.spec.image,
            status=self.status,
            labels=dict(self.spec.labels),
            exit_code=self.exit_code,
            oom_killed=self.oom_killed,
        )

    # ------------------------------------------------------------------ server
    def serve(self) -> None:
        """Bind the socket and start accepting connections on a thread."""
        path = self.socket_path
        if path is None:
            return
        assert len(str(path).encode()) < 108, f"socket path too long: {path}"
        path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._spawn(self._accept_loop, f"fake-{self.name}-accept")

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                if self.stopped.is_set():
                    conn.close()
                    return
                self._conns.append(conn)
            self._spawn(self._serve_conn, f"fake-{self.name}-conn", conn)

    def _serve_conn(self, conn: socket.socket) -> None:
        try:
            with conn.makefile("rb") as reader:
                for line in reader:
                    request = json.loads(line)
                    reply = self.runtime.answer(self, request)
                    if reply is None or self.stopped.is_set():
                        return
                    conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            return
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()

    def die(self, *, oom: bool = False) -> None:
        """The container stops at once: status ``exited``, every connection is cut."""
        with self._lock:
            if self.stopped.is_set():
                return
            self.status = "exited"
            self.exit_code = 137 if oom else 1
            self.oom_killed = oom
            self.stopped.set()
            conns, self._conns = list(self._conns), []
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def join(self, timeout_s: float = 5.0) -> None:
        """Wait for this container's threads (never from one of them)."""
        me = threading.current_thread()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not me:
                thread.join(timeout_s)

    def alive_threads(self) -> list[threading.Thread]:
        """Threads of this container still running."""
        with self._lock:
            return [t for t in self._threads if t.is_alive()]


class FakeRuntime:
    """Implements the ``ContainerRuntime`` protocol in memory; records what was asked of it."""

    def __init__(self, behaviour: Behaviour = scripted) -> None:
        self.behaviour = behaviour
        self.gate = threading.Event()  # releases tasks whose text is "wait"
        self.containers: dict[str, FakeContainer] = {}
        self.started: list[str] = []
        self.removed: list[str] = []
        self.paused: list[str] = []
        self.resumed: list[str] = []
        self.volumes: set[str] = set()
        self.networks: set[str] = set()
        self.start_fails = False  # containers exit at once without ever binding their socket
        self.on_run: Callable[[LaunchSpec], None] | None = None  # called first in run(), on the caller's thread
        self.down = False  # the backend does not answer: every call raises DockerUnavailable
        self._gone: list[FakeContainer] = []
        self._attempts: Counter[str] = Counter()
        self._active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()  # most tasks running at once, by specialist and container
        self._cond = threading.Condition()

    # ------------------------------------------------------------------ tasks
    def answer(self, container: FakeContainer, request: dict[str, Any]) -> dict[str, Any] | None:
        """Answer one wire request on a connection thread of ``container``."""
        kind = request.get("kind")
        if kind == "ping":
            return {"v": 1, "kind": "pong", "ok": True, "specialist": container.specialist}
        if kind == "cleanup":
            return {"v": 1, "kind": "cleaned", "ok": True, "id": request.get("id")}
        if kind != "task":
            return {
                "v": 1,
                "kind": "result",
                "id": request.get("id", ""),
                "ok": False,
                "error": {"kind": "unsupported", "message": f"kind {kind!r}"},
            }
        keys = (container.specialist, container.name)
        with self._cond:
            container.requests.append(request)
            self._attempts[request["id"]] += 1
            for key in keys:
                self._active[key] += 1
                self.peak[key] = max(self.peak[key], self._active[key])
            self._cond.notify_all()
        try:
            return self.behaviour(container, request)
        finally:
            with self._cond:
                for key in keys:
                    self._active[key] -= 1
                self._cond.notify_all()

    def attempts_of(self, task_id: str) -> int:
        """How many times a container received this task."""
        with self._cond:
            return self._attempts[task_id]

    def active(self, key: str) -> int:
        """Tasks running now in a specialist's (or one container's) containers."""
        with self._cond:
            return self._active[key]

    def wait_active(self, key: str, count: int, timeout_s: float = 5.0) -> None:
        """Block until ``count`` tasks of ``key`` run at once (AssertionError on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._active[key] >= count, timeout_s):
                raise AssertionError(f"{key}: {self._active[key]} tasks running, expected {count}")

    def all_requests(self) -> list[dict[str, Any]]:
        """Every task request any container received."""
        with self._cond:
            return [r for c in [*self._gone, *self.containers.values()] for r in c.requests]

    def engine_restart(self) -> None:
        """What a Docker engine restart does: every container stops (and stays listed as exited)."""
        with self._cond:
            running = [c for c in self.containers.values() if c.status in ("running", "paused")]
        for container in running:
            container.die()
            container.join()

    def _answering(self) -> None:
        if self.down:
            raise DockerUnavailable("cannot connect to the Docker engine (fake: down)")

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if name in _PROTOCOL and object.__getattribute__(self, "down"):
            object.__getattribute__(self, "_answering")()
        return attr

    # ------------------------------------------------------------------ protocol
    def ping(self) -> RuntimeInfo:
        """Always answers (unless ``down``)."""
        return RuntimeInfo(backend="fake", version="0", api_version="0", os="linux", cgroup_version="2")

    def image_exists(self, tag: str) -> bool:
        """Every image exists."""
        return True

    def image_id(self, tag: str) -> str | None:
        """A made-up id."""
        return f"sha256:{tag}"

    def build_image(self, request: Any, on_line: Callable[[str], None]) -> str:
        """Builds are not part of these tests."""
        raise AssertionError("build_image must not be called")

    def remove_image(self, tag: str) -> None:
        """Nothing to do."""

    def run(self, spec: LaunchSpec) -> ContainerInfo:
        """Start a fake container serving the wire protocol on its mounted socket folder."""
        if self.on_run is not None:
            self.on_run(spec)
        with self._cond:
            if spec.name in self.containers:
                raise EngineError(f"container name {spec.name} already in use")
            container = FakeContainer(self, spec)
            self.containers[spec.name] = container
            self.started.append(spec.name)
        if self.start_fails:
            container.status = "exited"
            container.exit_code = 1
        else:
            container.serve()
        return container.info()

    def stop(self, name: str, timeout_s: float = 5.0) -> None:
        """Stop (no error when absent)."""
        container = self.containers.get(name)
        if container is not None:
            container.die()

    def kill(self, name: str) -> None:
        """Kill at once."""
        self._get(name).die()

    def remove(self, name: str) -> None:
        """Force-remove (no error when absent)."""
        with self._cond:
            container = self.containers.pop(name, None)
            if container is None:
                return
            self.removed.append(name)
            self._gone.append(container)
        container.die()
        container.join()

    def pause(self, name: str) -> None:
        """Mark the container paused (it must be running)."""
        container = self._get(name)
        if container.status != "running":
            raise EngineError(f"container {name} is {container.status}, not running")
        container.status = "paused"
        self.paused.append(name)

    def unpause(self, name: str) -> None:
        """Mark a paused container running again."""
        container = self._get(name)
        if container.status != "paused":
            raise EngineError(f"container {name} is not paused")
        container.status = "running"
        self.resumed.append(name)

    def list(self, labels: dict[str, str], all_states: bool = True) -> builtins.list[ContainerInfo]:
        """Containers whose labels include every given key=value."""
        with self._cond:
            found = list(self.containers.values())
        return [
            c.info()
            for c in found
            if all(c.spec.labels.get(k) == v for k, v in labels.items()) and (all_states or c.status == "running")
        ]

    def _get(self, name: str) -> FakeContainer:
        with self._cond:
            container = self.containers.get(name)
        if container is None:
            raise NotFound(f"no container {name!r}")
        return container

    def get(self, name: str) -> ContainerInfo:
        """One container; ``NotFound`` when absent."""
        return self._get(name).info()

    def stats(self, name: str) -> ContainerStats:
        """A constant sample."""
        self._get(name)
        return ContainerStats(cpu_percent=0.0, memory_bytes=0, memory_limit_bytes=1, pids=1)

    def logs(self, name: str, tail: int = 200) -> str:
        """A recognisable log line."""
        return f"fake logs of {name}"

    def read_dir(self, name: str, path: str, max_bytes: int) -> bytes:
        """Outputs are not part of these tests."""
        raise AssertionError("read_dir must not be called")

    def follow_logs(self, name: str, stop: threading.Event) -> Iterator[str]:
        """No lines."""
        return iter(())

    def events(self, stop: threading.Event) -> Iterator[RuntimeEvent]:
        """No events."""
        return iter(())

    def hardening(self, name: str) -> builtins.list[HardeningCheck]:
        """Nothing checked."""
        return []

    def ensure_network(self, name: str, internal: bool, labels: dict[str, str]) -> None:
        """Record the network."""
        self.networks.add(name)

    def remove_network(self, name: str) -> None:
        """Forget the network."""
        self.networks.discard(name)

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        """Record the volume."""
        self.volumes.add(name)

    def remove_volume(self, name: str) -> None:
        """Forget the volume."""
        self.volumes.discard(name)

    # ------------------------------------------------------------------ teardown
    def close(self) -> None:
        """Stop every container and join every thread; fail if one will not end."""
        with self._cond:
            everything = [*self._gone, *self.containers.values()]
        for container in everything:
            container.die()
        for container in everything:
            container.join()
        alive = [t.name for c in everything for t in c.alive_threads()]
        assert not alive, f"fake container threads did not end: {alive}"


# ---------------------------------------------------------------------- specs and rigs
def make_spec(
    sid: str = "echo",
    *,
    concurrency: int = 2,
    max_replicas: int = 2,
    min_replicas: int = 0,
    idle_ttl_s: float = 900.0,
    fresh_per_task: bool = False,
    memory_mb: int = 256,
    task_timeout_s: float = 30.0,
    **scaling: Any,
) -> SpecialistSpec:
    """A specialist spec with the scaling knobs these tests turn."""
    return SpecialistSpec(
        id=sid,
        title=sid.title(),
        description=f"The {sid} test specialist.",
        capabilities=("test",),
        example_tasks=("do it",),
        limits=Limits(memory_mb=memory_mb, task_timeout_s=task_timeout_s),
        scaling=Scaling(
            concurrency=concurrency,
            max_replicas=max_replicas,
            min_replicas=min_replicas,
            idle_ttl_s=idle_ttl_s,
            fresh_per_task=fresh_per_task,
            **scaling,
        ),
    )


@dataclass
class Recorder:
    """Every event published on a bus, in order."""

    events: list[EngineEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self.events.append(event)

    def decisions(self, kind: str | None = None) -> list[Decision]:
        """Decision events (of one kind)."""
        with self._lock:
            return [e for e in self.events if isinstance(e, Decision) and (kind is None or e.kind == kind)]

    def task_states(self, task_id: str) -> list[str]:
        """The states a task was published in, in order."""
        with self._lock:
            return [e.state for e in self.events if isinstance(e, TaskStateChanged) and e.task_id == task_id]


@dataclass
class Rig:
    """Real store, bus, lifecycle and dispatcher over a fake runtime."""

    settings: Settings
    runtime: FakeRuntime
    bus: EventBus
    recorder: Recorder
    store: Store
    blobs: BlobStore
    lifecycle: Lifecycle
    dispatcher: Dispatcher
    specs: dict[str, SpecialistSpec]
    extra: builtins.list[Lifecycle] = field(default_factory=list)
    _seq: int = 0

    def new_lifecycle(self, specs: dict[str, SpecialistSpec] | None = None, instance_id: str = "second") -> Lifecycle:
        """Another engine's lifecycle over the same runtime and data folder (closed by the rig)."""
        lifecycle = Lifecycle(
            self.settings,
            self.runtime,
            self.specs if specs is None else specs,
            self.bus,
            lambda s: f"img/{s.id}",
            instance_id,
        )
        self.extra.append(lifecycle)
        return lifecycle

    def store_task(self, text: str, *, specialist: str = "echo", **fields: Any) -> str:
        """Insert a task row (state ``routed``) and return its id."""
        self._seq += 1
        task_id = f"t{self._seq:04d}"
        row = {"id": task_id, "text": text, "state": "routed", "specialist": specialist, **fields}
        self.store.insert_task(row).result(timeout=5)
        return task_id

    def job(
        self, text: str, *, specialist: str = "echo", timeout_s: float = 10.0, inputs: list[InputRecord] | None = None
    ) -> Job:
        """A stored task as a dispatcher job."""
        task_id = self.store_task(text, specialist=specialist)
        return Job(
            task_id=task_id,
            text=text,
            spec=self.specs[specialist],
            inputs=inputs or [],
            timeout_s=timeout_s,
            created_at=time.time(),
        )

    def stored(self, task_id: str) -> TaskRecord:
        """The task row as stored now (every earlier write has committed)."""
        row = self.store.get_task(task_id).result(timeout=5)
        assert row is not None
        return row


def short_data_dir() -> Path:
    """A data folder short enough for Unix socket paths (sockaddr_un holds 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="sb-", dir="/tmp"))


@contextlib.contextmanager
def make_rig(
    db_dir: Path,
    specs: builtins.list[SpecialistSpec] | None = None,
    behaviour: Behaviour = scripted,
    **settings: Any,
) -> Iterator[Rig]:
    """Build a rig (database under ``db_dir``, sockets under a short /tmp folder); tear it all down."""
    data_dir = short_data_dir()
    catalogue = {s.id: s for s in (specs or [make_spec()])}
    runtime = FakeRuntime(behaviour)
    conf = Settings(data_dir=data_dir, specialists_dir=data_dir / "specialists", **settings)
    bus = EventBus()
    recorder = Recorder()
    bus.subscribe(EngineEvent, recorder)
    store = Store(f"sqlite:///{db_dir / 'switchboard.db'}", data_dir=data_dir)
    blobs = BlobStore(data_dir / "blobs")
    lifecycle = Lifecycle(conf, runtime, catalogue, bus, lambda s: f"img/{s.id}", "first")
    dispatcher = Dispatcher(conf, lifecycle, store, blobs, bus)
    rig = Rig(conf, runtime, bus, recorder, store, blobs, lifecycle, dispatcher, catalogue)
    before = set(threading.enumerate())
    try:
        yield rig
    finally:
        runtime.gate.set()
        try:
            dispatcher.close(wait=True)
            for lc in [lifecycle, *rig.extra]:
                lc.close(remove_containers=True)
            runtime.close()
        finally:
            store.close()
            shutil.rmtree(data_dir, ignore_errors=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
            if not leaked:
                break
            time.sleep(0.01)
        assert not leaked, f"threads left running: {[t.name for t in leaked]}"
