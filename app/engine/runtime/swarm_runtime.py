"""The Docker Swarm backend of :class:`~app.engine.runtime.protocol.ContainerRuntime`.

**One service per replica.** The lifecycle addresses every replica by name: it removes the
idle one on scale-down, pauses one, forgets one that died, reattaches one after a restart, and
each has its own exchange folder (socket, inputs). A replicated service per specialist cannot
honour that: on scale-down Swarm picks which task to stop (by node spread, in map order), so a
busy replica could be killed while an idle one stays, and every task of a service shares one
mount spec. So ``run(spec)`` creates a service named ``spec.name`` with one replica, and the
service *is* the replica: ``get``/``list`` report the service with its task's state, ``stop``
sets its replica count to 0 with the direct update (:meth:`SwarmRuntime.set_replicas`, which
changes only ``Mode.Replicated.Replicas``, never ``Service.scale()``: that one re-reads the spec
with defaults inserted, so the template differs and Swarm replaces every task one by one),
``remove`` removes the service. The restart policy is ``none``, like a local container: the
lifecycle's crash guard, not Swarm, decides what happens after a crash.

**One node by default.** The engine talks to a replica over a Unix socket in a bind-mounted
exchange folder, so every service is constrained to this engine's node
(``node.id==<this node>``); Swarm still schedules, reserves and accounts the resources. With
``swarm_multi_node`` a replica may run on any node: :class:`~app.engine.runtime.swarm_multinode.MultiNode`
copies its image to every node, and the replica joins the namespace's channel overlay, reached
through the gateway on this node (:mod:`app.engine.runtime.swarm_channel`); a replica whose node
is down reads as ``dead``. Calls that need the task's container (``pause``, ``read_dir``,
``stats``, ``follow_logs``, ``kill``) use the engine of the task's node: this one, or in the
multi-node mode that node's own API from ``swarm_node_engines``, and say so when neither can be
reached; ``logs`` falls back to the service log API.

Images, volumes and the local container calls are delegated to a
:class:`~app.engine.runtime.docker_runtime.DockerRuntime` on the same engine. Services are
created from the image id, which Swarm never pulls: it works offline, without a registry.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import DockerUnavailable, EngineError, NotFound
from app.engine.runtime.docker_convert import runtime_event
from app.engine.runtime.docker_errors import docker_errors
from app.engine.runtime.docker_runtime import DockerRuntime, _close_when_set
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
from app.engine.runtime.swarm_channel import channel_service_spec
from app.engine.runtime.swarm_hardening import evaluate_service
from app.engine.runtime.swarm_multinode import MultiNode
from app.engine.runtime.swarm_nodes import NodeView, node_views
from app.engine.runtime.swarm_spec import (
    LABEL_OUTPUT_OF,
    LABEL_PRIVATE_NET,
    TaskState,
    isolation_network,
    replicas_of,
    service_spec,
    task_state,
    with_replicas,
)

__all__ = ["SWARM_FIX", "SwarmRuntime"]

SWARM_FIX = (
    "make this engine a swarm manager: docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377"
)
LABEL_SWARM_SERVICE = "com.docker.swarm.service.name"
POLL_S = 0.1


def _swap_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("SwapTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class SwarmRuntime:
    """Run each hardened specialist replica as a one-replica Swarm service.

    Parameters
    ----------
    settings
        ``docker_url`` and ``docker_timeout_s`` as for the local backend; the engine must be a
        swarm manager (``ping`` raises ``DockerUnavailable`` with the fix otherwise).
    local
        The backend for images, volumes and the task containers on this node (default: a
        :class:`DockerRuntime` on the same engine).
    """

    def __init__(self, settings: Settings, local: DockerRuntime | None = None) -> None:
        self._settings = settings
        self.local = local or DockerRuntime(settings)
        self._node_id = ""
        self._net_lock = threading.Lock()
        # replica -> the engine and id of its task's container (the stats hot path)
        self._stats_ids: dict[str, tuple[DockerRuntime, str]] = {}
        self._node_engines: dict[str, DockerRuntime] = {}  # node id -> its own engine (multi-node)
        self.start_timeout_s = max(60.0, settings.docker_timeout_s * 2)
        self._multi: MultiNode | None = None

    @property
    def api(self) -> Any:
        """The low-level SDK client (``docker.APIClient``)."""
        return self.local.client.api

    def close(self) -> None:
        """Close the clients' connections (the next call reconnects)."""
        self.local.close()
        for engine in self._node_engines.values():
            engine.close()
        self._node_engines.clear()

    # -- the swarm ------------------------------------------------------------------------

    def ping(self) -> RuntimeInfo:
        """Version and swarm state; ``DockerUnavailable`` unless this engine is an active manager."""
        with docker_errors("ping the swarm"):
            version: dict[str, Any] = self.local.client.version()
            info: dict[str, Any] = self.local.client.info()
        swarm: dict[str, Any] = info.get("Swarm") or {}
        state = str(swarm.get("LocalNodeState") or "inactive")
        if state != "active":
            raise DockerUnavailable(f"the Docker engine is not in a swarm (state {state})", hint=SWARM_FIX)
        if not swarm.get("ControlAvailable"):
            raise DockerUnavailable("this Docker engine is a swarm worker; the engine needs a manager", hint=SWARM_FIX)
        self._node_id = str(swarm.get("NodeID") or "")
        return RuntimeInfo(
            backend="swarm",
            version=str(version.get("Version", "")),
            api_version=str(version.get("ApiVersion", "")),
            os=str(info.get("OperatingSystem", "")),
            cgroup_version=str(info.get("CgroupVersion") or ""),
        )

    def node_id(self) -> str:
        """The id of this engine's node (where the bind-mounted channel exists)."""
        if not self._node_id:
            self.ping()
        return self._node_id

    @property
    def multi_node(self) -> MultiNode | None:
        """The channel, image copies and node states when ``swarm_multi_node`` is on, else ``None``."""
        if not self._settings.swarm_multi_node:
            return None
        if self._multi is None:
            self._multi = MultiNode(self._settings, self.local.client, self.node_id())
        return self._multi

    def replica_lost(self, name: str) -> bool:
        """Whether the replica's task is on a node that is not ready (its work must go elsewhere)."""
        state = self._task(name)[1]
        return bool(state.node_id) and self._node_down(state.node_id)

    def _node_down(self, node_id: str) -> bool:
        if node_id == self.node_id():
            return False  # this engine answers, so its node is up
        multi = self.multi_node
        if multi is None:
            with docker_errors(f"inspect node {node_id}"):
                return str(self.api.inspect_node(node_id)["Status"]["State"]) != "ready"
        return multi.node_state(node_id) != "ready"

    def nodes(self, namespace: str | None = None) -> builtins.list[NodeView]:
        """Every node with its capacity and the running replicas of ``namespace`` (or all)."""
        with docker_errors("list swarm nodes"):
            nodes = self.api.nodes()
            services = self.api.services(filters={"label": f"{LABEL_MANAGED}=true"})
            tasks = self.api.tasks(filters={"desired-state": "running"})
        return node_views(nodes, services, tasks, namespace)

    # -- images and volumes: the local engine ---------------------------------------------

    def image_exists(self, tag: str) -> bool:
        """Whether ``tag`` is present on this node."""
        return self.local.image_exists(tag)

    def image_id(self, tag: str) -> str | None:
        """The image id of ``tag`` on this node, or ``None``."""
        return self.local.image_id(tag)

    def pull_image(self, tag: str) -> str:
        """Pull ``tag`` on this node."""
        return self.local.pull_image(tag)

    def build_image(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        """Build on this node (other nodes would need ``docker save | docker load``)."""
        return self.local.build_image(request, on_line)

    def remove_image(self, tag: str) -> None:
        """Remove ``tag`` from this node."""
        self.local.remove_image(tag)

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        """Create the named volume on this node (the only node replicas are placed on)."""
        self.local.ensure_volume(name, labels)

    def remove_volume(self, name: str) -> None:
        """Remove a volume from this node."""
        self.local.remove_volume(name)

    # -- networks -------------------------------------------------------------------------

    def ensure_network(self, name: str, internal: bool, labels: dict[str, str]) -> None:
        """Create a swarm-scoped bridge ``name`` unless it exists.

        A bridge rather than an overlay: each node gets a local bridge and no VXLAN port
        (UDP 4789 on every address) is opened; replicas are on one node anyway.
        """
        with self._net_lock, docker_errors(f"create network {name}"):
            if any(n.get("Name") == name for n in self.api.networks(names=[name])):
                return
            self.api.create_network(
                name, driver="bridge", scope="swarm", internal=internal, labels=dict(labels), check_duplicate=True
            )

    def remove_network(self, name: str) -> None:
        """Remove a network (no error when absent)."""
        self.local.remove_network(name)

    def _networks_of(self, spec: Mapping[str, Any]) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for attachment in (spec.get("TaskTemplate") or {}).get("Networks") or []:
            target = str(attachment.get("Target") or "")
            try:
                with docker_errors(f"inspect network {target}"):
                    net = self.api.inspect_network(target)
                out[str(net.get("Name") or target)] = bool(net.get("Internal"))
            except NotFound:
                out[target] = False
        return out

    # -- services as containers -----------------------------------------------------------

    def _image_command(self, image_id: str) -> list[str]:
        with docker_errors(f"inspect image {image_id}"):
            config: dict[str, Any] = self.api.inspect_image(image_id).get("Config") or {}
        return [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]

    def run(self, spec: LaunchSpec) -> ContainerInfo:
        """Create the replica's service and wait until its task runs; a failed start is removed."""
        image_id = self.local.image_id(spec.image)
        if image_id is None:
            raise NotFound(f"image {spec.image} is not on this node; build it first")
        command = list(spec.command) if spec.command is not None else self._image_command(image_id)
        private = spec.network is None and not any(m.volume for m in spec.mounts)  # a program sandbox
        network = spec.network or isolation_network(spec.labels, spec.name, private)
        if spec.network is None and self.multi_node is None:  # multi-node: the channel overlay instead
            net_labels = {**spec.labels, **({LABEL_PRIVATE_NET: spec.name} if private else {})}
            self.ensure_network(network, internal=True, labels=net_labels)
        body = service_spec(
            spec, image_id=image_id, command=command, network=network, constraints=[f"node.id=={self.node_id()}"]
        )
        multi = self.multi_node
        if multi is not None:  # any node: the image on every node, the exchange through the channel
            multi.ensure_image(spec.image)
            body = channel_service_spec(
                body,
                channel=multi.network,
                subnet=multi.ensure(),
                keep_network=spec.network,
                input_bytes=self._settings.max_input_bytes,
            )
        with docker_errors(f"create service {spec.name}"):
            self.api.create_service(
                body["TaskTemplate"],
                name=body["Name"],
                labels=body["Labels"],
                mode=body["Mode"],
                endpoint_spec=body.get("EndpointSpec"),
            )
        try:
            state = self._wait_task(spec.name, self.start_timeout_s)
            if state.status != "running":
                raise EngineError(
                    f"replica {spec.name} did not start on the swarm: task {state.state}"
                    + (f": {state.error}" if state.error else "")
                )
        except BaseException:
            self.remove(spec.name)
            raise
        return self.get(spec.name)

    def _wait_task(self, name: str, timeout_s: float) -> TaskState:
        """Poll until the service's task runs or ends (or ``timeout_s`` passes)."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self._task(name)[1]
            if state.status != "created" or time.monotonic() > deadline:
                return state
            time.sleep(POLL_S)

    def _service(self, name: str) -> dict[str, Any]:
        with docker_errors(f"find replica {name}"):
            found: dict[str, Any] = self.api.inspect_service(name)
        return found

    def _task(self, name: str) -> tuple[dict[str, Any], TaskState]:
        svc = self._service(name)
        with docker_errors(f"tasks of replica {name}"):
            tasks = self.api.tasks(filters={"service": svc["ID"]})
        return svc, task_state(tasks, replicas_of(svc["Spec"]))

    def _local_container(self, name: str) -> tuple[str, TaskState]:
        """The id of the task's container when it exists on this node ('' otherwise)."""
        _, state = self._task(name)
        if state.container_id and state.node_id == self.node_id():
            return state.container_id, state
        return "", state

    def _need_container(self, name: str, what: str) -> tuple[DockerRuntime, str]:
        """The engine that runs the task's container, and the container's id.

        This node's engine, or in the multi-node mode the node's own from ``swarm_node_engines``;
        ``EngineError`` when neither can reach it.
        """
        cid, state = self._local_container(name)
        if cid:
            return self.local, cid
        remote = self._node_engine(state.node_id) if state.container_id and state.node_id else None
        if remote is not None:
            return remote, state.container_id
        where = f"runs on node {state.node_id}" if state.node_id else f"has no container ({state.state})"
        raise EngineError(
            f"{what} of {name}: its task {where}, whose engine this one cannot reach "
            "(swarm_multi_node with the node in swarm_node_engines)"
        )

    def _node_engine(self, node_id: str) -> DockerRuntime | None:
        """A local-style runtime on another node's own Docker API (multi-node), cached per node."""
        multi = self.multi_node
        if multi is None:
            return None
        if node_id not in self._node_engines:
            hostname = multi.hostname(node_id)
            url = self._settings.swarm_node_engines.get(hostname)
            if not url:
                return None
            self._node_engines[node_id] = DockerRuntime(self._settings.model_copy(update={"docker_url": url}))
        return self._node_engines[node_id]

    def get(self, name: str) -> ContainerInfo:
        """The replica's service with its task's state; ``NotFound`` when absent."""
        self.node_id()
        svc, state = self._task(name)
        info = self._info(svc, state, inspect_local=True)
        # its node is gone, so is the replica (Swarm marks the task for shutdown: "removing")
        alive = ("created", "running", "paused", "removing")
        if info.status in alive and state.node_id and self._node_down(state.node_id):
            return dataclasses.replace(info, status="dead")
        return info

    def _info(self, svc: Mapping[str, Any], state: TaskState, *, inspect_local: bool) -> ContainerInfo:
        spec: Mapping[str, Any] = svc.get("Spec") or {}
        status, oom = state.status, False
        if inspect_local and state.container_id and state.node_id == self._node_id:
            try:
                with docker_errors(f"inspect container of {spec.get('Name')}"):
                    cstate: dict[str, Any] = self.api.inspect_container(state.container_id).get("State") or {}
                oom = bool(cstate.get("OOMKilled"))
                if cstate.get("Paused"):
                    status = "paused"
            except NotFound:
                pass
        container: Mapping[str, Any] = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        return ContainerInfo(
            id=str(svc.get("ID") or ""),
            name=str(spec.get("Name") or ""),
            image=str(container.get("Image") or ""),
            status=status,
            labels=dict(spec.get("Labels") or {}),
            started_at=str(svc.get("CreatedAt") or ""),
            exit_code=state.exit_code,
            oom_killed=oom,
        )

    def list(self, labels: dict[str, str], all_states: bool = True) -> builtins.list[ContainerInfo]:
        """Replicas (services) whose labels include every given ``key=value``."""
        with docker_errors("list services"):
            services = self.api.services(filters={"label": [f"{k}={v}" for k, v in labels.items()]})
            tasks = self.api.tasks() if services else []
            paused = (
                {c["Id"] for c in self.api.containers(filters={"status": "paused", "label": f"{LABEL_MANAGED}=true"})}
                if services
                else set()
            )
        by_service: dict[str, builtins.list[dict[str, Any]]] = {}
        for task in tasks:
            by_service.setdefault(str(task.get("ServiceID") or ""), []).append(task)
        self.node_id()
        out = []
        for svc in services:
            state = task_state(by_service.get(str(svc.get("ID")), []), replicas_of(svc["Spec"]))
            info = self._info(svc, state, inspect_local=False)
            if state.container_id in paused:  # frozen on this node: the task itself still says running
                info = dataclasses.replace(info, status="paused")
            if all_states or info.status == "running":
                out.append(info)
        return out

    # -- replica counts: the direct update ------------------------------------------------

    def set_replicas(self, name: str, replicas: int) -> int:
        """Change only ``Mode.Replicated.Replicas`` of a service; returns the new version index.

        The spec is read without defaults and posted back as it was, so Swarm starts or stops
        tasks and leaves running ones untouched (no rolling replacement, as ``Service.scale()`` causes).
        """
        with docker_errors(f"scale {name}"):
            svc = self.api.inspect_service(name, insert_defaults=False)
            spec = with_replicas(svc["Spec"], replicas)
            self.api.update_service(
                svc["ID"],
                svc["Version"]["Index"],
                task_template=spec["TaskTemplate"],
                name=spec["Name"],
                labels=spec.get("Labels") or {},
                mode=spec["Mode"],
                update_config=spec.get("UpdateConfig"),
                rollback_config=spec.get("RollbackConfig"),
                endpoint_spec=spec.get("EndpointSpec"),
            )
            return int(self.api.inspect_service(svc["ID"])["Version"]["Index"])

    def running_tasks(self, name: str) -> builtins.list[dict[str, Any]]:
        """The service's tasks that run and are meant to."""
        with docker_errors(f"tasks of {name}"):
            tasks: builtins.list[dict[str, Any]] = self.api.tasks(filters={"service": name, "desired-state": "running"})
        return [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]

    def wait_converged(self, name: str, replicas: int, timeout_s: float = 120.0) -> float:
        """Seconds until exactly ``replicas`` tasks run and none other is wanted; ``EngineError`` past the timeout."""
        began = time.monotonic()
        while time.monotonic() - began < timeout_s:
            with docker_errors(f"tasks of {name}"):
                tasks = self.api.tasks(filters={"service": name})
            wanted = [t for t in tasks if t.get("DesiredState") == "running"]
            running = [t for t in wanted if (t.get("Status") or {}).get("State") == "running"]
            stopping = [
                t
                for t in tasks
                if t.get("DesiredState") != "running" and (t.get("Status") or {}).get("State") == "running"
            ]
            if len(running) == replicas == len(wanted) and not stopping:
                return time.monotonic() - began
            time.sleep(POLL_S)
        raise EngineError(f"{name} did not converge to {replicas} replica(s) within {timeout_s:g} s")

    # -- stop, kill, remove, pause --------------------------------------------------------

    def stop(self, name: str, timeout_s: float = 5.0) -> None:
        """Scale the replica's service to 0 (SIGTERM, then SIGKILL after its grace period)."""
        try:
            self.set_replicas(name, 0)
            self.wait_converged(name, 0, timeout_s=timeout_s + 15.0)
        except NotFound:
            pass

    def kill(self, name: str) -> None:
        """SIGKILL the task's container now (on whichever node's engine is reachable), else stop the service."""
        try:
            engine, cid = self._need_container(name, "kill")
        except EngineError:
            self.set_replicas(name, 0)
            return
        engine.kill(cid)

    def remove(self, name: str) -> None:
        """Remove the service and wait until its task's container is gone (absent is no error).

        Forced like the local backend's removal: the task's container is killed first, rather
        than waiting out the grace period of a graceful service removal.
        """
        self._stats_ids.pop(name, None)
        try:
            cid, _ = self._local_container(name)
        except NotFound:
            cid = ""
        if cid:
            try:
                with docker_errors(f"kill replica {name}"):
                    self.api.kill(cid)
            except EngineError:  # not running any more, or gone: nothing to kill
                pass
        try:
            with docker_errors(f"remove replica {name}"):
                self.api.remove_service(name)
        except NotFound:
            pass
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            with docker_errors(f"containers of {name}"):
                left = self.api.containers(all=True, filters={"label": f"{LABEL_SWARM_SERVICE}={name}"})
            if not left:
                break
            time.sleep(POLL_S)
        with self._net_lock, docker_errors(f"networks of {name}"):
            private = self.api.networks(filters={"label": f"{LABEL_PRIVATE_NET}={name}"})
        for net in private:
            self.local.remove_network(str(net.get("Name") or net.get("Id")))
        self._remove_output_volumes(name)

    def _remove_output_volumes(self, name: str) -> None:
        """The tasks' ``/output`` volumes (Swarm leaves a task's anonymous volumes behind)."""
        with docker_errors(f"volumes of {name}"):
            found = self.api.volumes(filters={"label": f"{LABEL_OUTPUT_OF}={name}"}).get("Volumes") or []
        for volume in found:
            try:
                self.local.remove_volume(str(volume["Name"]))
            except EngineError:  # still held by a container that is going away: best effort
                pass
        multi = self.multi_node
        if multi is not None:  # tasks that ran on other nodes left theirs there
            multi.remove_volumes({"label": f"{LABEL_OUTPUT_OF}={name}"})

    def pause(self, name: str) -> None:
        """Freeze the task's container (through its node's engine)."""
        engine, cid = self._need_container(name, "pause")
        engine.pause(cid)

    def unpause(self, name: str) -> None:
        """Thaw the task's container (through its node's engine)."""
        engine, cid = self._need_container(name, "resume")
        engine.unpause(cid)

    # -- what runs inside -----------------------------------------------------------------

    def stats(self, name: str) -> ContainerStats:
        """A sample of the task's container (cgroup files on this node).

        The replica -> container mapping is cached, so a tick costs no API call; a stale id
        (the task was replaced) misses and re-resolves.
        """
        cached = self._stats_ids.get(name)
        if cached:
            try:
                return cached[0].stats(cached[1])
            except NotFound:
                self._stats_ids.pop(name, None)
        engine, cid = self._need_container(name, "stats")
        self._stats_ids[name] = (engine, cid)
        return engine.stats(cid)

    def logs(self, name: str, tail: int = 200) -> str:
        """The task's last lines: its container on this node, else the service log API."""
        cid, _ = self._local_container(name)
        if cid:
            try:
                return self.local.logs(cid, tail=tail)
            except NotFound:
                pass
        with docker_errors(f"logs of {name}"):
            chunks = self.api.service_logs(name, stdout=True, stderr=True, tail=tail, follow=False)
            return b"".join(bytes(c) for c in chunks).decode("utf-8", "replace")

    def read_dir(self, name: str, path: str, max_bytes: int) -> bytes:
        """A tar of ``path`` made inside the task's container (``tar`` run by its node's engine).

        How a task's outputs come back from any node: the multi-node mode has no shared
        folder, but the node's own engine can run ``tar`` in the container.
        """
        engine, cid = self._need_container(name, f"read {path}")
        return engine.read_dir(cid, path, max_bytes)

    def follow_logs(self, name: str, stop: threading.Event) -> Iterator[str]:
        """Follow the task container's output (through its node's engine)."""
        engine, cid = self._need_container(name, "follow logs")
        return engine.follow_logs(cid, stop)

    def events(self, stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Events of our task containers on this node, named after their replica (service)."""
        with docker_errors("watch Docker events"):
            stream = self.local.client.events(
                decode=True, filters={"label": f"{LABEL_MANAGED}=true", "type": "container"}
            )
        done = threading.Event()
        _close_when_set(stop, stream, done)
        try:
            for raw in stream:
                if stop.is_set():
                    return
                event = runtime_event(raw)
                service = ((raw.get("Actor") or {}).get("Attributes") or {}).get(LABEL_SWARM_SERVICE)
                if event is not None and service:
                    yield dataclasses.replace(event, container=str(service))
        except Exception as exc:
            if not stop.is_set():
                with docker_errors("watch Docker events"):
                    raise exc
        finally:
            done.set()

    def hardening(self, name: str) -> builtins.list[HardeningCheck]:
        """The checklist of :mod:`app.engine.runtime.swarm_hardening` on the live replica."""
        svc = self._service(name)
        cid, _ = self._local_container(name)
        attrs: dict[str, Any] | None = None
        if cid:
            try:
                with docker_errors(f"inspect container of {name}"):
                    attrs = self.api.inspect_container(cid)
            except NotFound:
                attrs = None
        return evaluate_service(
            svc["Spec"],
            attrs,
            networks=self._networks_of(svc["Spec"]),
            host_swap_bytes=_swap_bytes() if attrs is not None else None,
        )
