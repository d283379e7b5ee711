"""What the Swarm backend needs for replicas on other nodes: the channel objects, images, node health.

:class:`MultiNode` is held by :class:`~app.engine.runtime.swarm_runtime.SwarmRuntime` when
``swarm_multi_node`` is on. It creates (once, idempotently) the namespace's channel overlay and
its gateway service on the engine's node, copies images to the nodes listed in
``swarm_node_engines`` before a service is created from them, and answers whether a node is
up, so a replica whose node went away reads as ``dead`` and the caller can retry elsewhere.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError, NotFound
from app.engine.runtime.docker_errors import docker_errors
from app.engine.runtime.protocol import LABEL_MANAGED, LABEL_NAMESPACE
from app.engine.runtime.swarm_channel import (
    GATEWAY_SOCKET,
    LABEL_CHANNEL,
    GatewayClient,
    channel_network_name,
    gateway_service_name,
    gateway_service_spec,
    node_engines,
    subnet_of,
)
from app.engine.runtime.swarm_images import ImageCopy, distribute_image, has_image

__all__ = ["CONTAINER_UID", "MultiNode"]

CONTAINER_UID = 10001
POLL_S = 0.1


class MultiNode:
    """The channel (overlay + gateway), image copies and node states of one engine namespace.

    Parameters
    ----------
    settings
        ``namespace``, ``data_dir`` (the gateway's socket folder is ``<data_dir>/gateway/<namespace>``,
        on the engine's node), ``swarm_channel_encrypted``, ``swarm_node_engines``, ``base_image``.
    client
        The docker SDK client of the engine's node (a swarm manager).
    node_id
        The swarm id of the engine's node, where the gateway is placed.
    """

    def __init__(self, settings: Settings, client: Any, node_id: str) -> None:
        self.settings = settings
        self.client = client
        self.node_id = node_id
        self.network = channel_network_name(settings.namespace)
        self.gateway_name = gateway_service_name(settings.namespace)
        self.socket_dir = Path(settings.data_dir) / "gateway" / settings.namespace
        self._lock = threading.Lock()
        self._subnet = ""
        self._copied: set[str] = set()

    @property
    def api(self) -> Any:
        """The low-level client."""
        return self.client.api

    @property
    def socket_path(self) -> Path:
        """The gateway's Unix socket on the engine's host."""
        return self.socket_dir / GATEWAY_SOCKET

    def gateway(self, timeout_s: float = 30.0) -> GatewayClient:
        """A client of the gateway socket."""
        return GatewayClient(self.socket_path, timeout_s=timeout_s)

    # -- the channel ----------------------------------------------------------------------

    def ensure(self, timeout_s: float = 60.0) -> str:
        """Make the overlay and the gateway unless they exist; the overlay's subnet."""
        with self._lock:
            if self._subnet and self.socket_path.exists():
                return self._subnet
            labels = {LABEL_MANAGED: "true", LABEL_NAMESPACE: self.settings.namespace, LABEL_CHANNEL: self.network}
            with docker_errors(f"create network {self.network}"):
                found = [n for n in self.api.networks(names=[self.network]) if n.get("Name") == self.network]
                if not found:
                    options = {"encrypted": ""} if self.settings.swarm_channel_encrypted else None
                    self.api.create_network(
                        self.network,
                        driver="overlay",
                        internal=True,
                        attachable=False,
                        options=options,
                        labels=labels,
                        check_duplicate=True,
                    )
                self._subnet = subnet_of(self.api.inspect_network(self.network))
            self._ensure_gateway(timeout_s)
            return self._subnet

    def _ensure_gateway(self, timeout_s: float) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.socket_dir, CONTAINER_UID, CONTAINER_UID)
            os.chmod(self.socket_dir, 0o700)
        else:
            os.chmod(self.socket_dir, 0o1777)
        with docker_errors(f"create service {self.gateway_name}"):
            exists = bool(self.api.services(filters={"name": self.gateway_name}))
            if not exists:
                image_id = str(self.api.inspect_image(self.settings.base_image)["Id"])
                body = gateway_service_spec(
                    namespace=self.settings.namespace,
                    image_id=image_id,
                    channel=self.network,
                    socket_dir=str(self.socket_dir),
                    node_id=self.node_id,
                )
                self.api.create_service(
                    body["TaskTemplate"], name=body["Name"], labels=body["Labels"], mode=body["Mode"]
                )
        deadline = time.monotonic() + timeout_s
        while not self.socket_path.exists():
            if time.monotonic() > deadline:
                raise EngineError(f"the channel gateway {self.gateway_name} did not open {self.socket_path}")
            time.sleep(POLL_S)

    def remove(self, timeout_s: float = 30.0) -> None:
        """Remove the gateway service and the overlay, and wait until both are gone here.

        A task that was on a lost node keeps its address on the overlay until that node is
        removed from the swarm (``docker node rm --force``): until then the overlay may stay,
        and ``EngineError`` says so after ``timeout_s``.
        """
        with self._lock:
            self._subnet = ""
            try:
                with docker_errors(f"remove service {self.gateway_name}"):
                    self.api.remove_service(self.gateway_name)
            except NotFound:
                pass
            deadline = time.monotonic() + timeout_s
            while True:
                with docker_errors(f"list network {self.network}"):
                    found = [n for n in self.api.networks(names=[self.network]) if n.get("Name") == self.network]
                if not found:
                    return
                try:  # refused while the gateway's endpoint is still there (a moment after its task)
                    with docker_errors(f"remove network {self.network}"):
                        self.api.remove_network(self.network)
                except NotFound:
                    pass
                except EngineError:
                    if time.monotonic() > deadline:
                        raise
                if time.monotonic() > deadline:
                    raise EngineError(f"network {self.network} is still on this node after {timeout_s:g} s")
                time.sleep(0.2)

    # -- images ---------------------------------------------------------------------------

    def distribute(self, ref: str) -> list[ImageCopy]:
        """Copy image ``ref`` from the engine's node to every node in ``swarm_node_engines``."""
        urls = self.settings.swarm_node_engines
        if not urls:
            return []
        targets, unreachable = node_engines(urls, self.settings.docker_timeout_s * 10)
        try:
            copies = distribute_image(self.client, ref, targets)
        finally:
            for target in targets.values():
                target.close()
        if not unreachable:  # else try again next time: a node that comes back needs it too
            self._copied.add(ref)
        return copies + [ImageCopy(node, "", "unreachable", 0.0) for node in unreachable]

    def ensure_image(self, ref: str) -> None:
        """:meth:`distribute` once per image and engine run."""
        if ref not in self._copied:
            self.distribute(ref)

    def remove_volumes(self, filters: dict[str, str], timeout_s: float = 15.0) -> int:
        """Remove volumes matching ``filters`` on every node in ``swarm_node_engines`` (best effort).

        The manager cannot remove a volume on another node. A volume still held by a task that
        is stopping there is tried again until ``timeout_s``; a node that cannot be reached (it
        is down) keeps its volumes until it is back or gone. Returns how many were removed.
        """
        removed = 0
        if not self.settings.swarm_node_engines:
            return removed
        targets, _ = node_engines(self.settings.swarm_node_engines, self.settings.docker_timeout_s)
        deadline = time.monotonic() + timeout_s
        try:
            pending = dict(targets)
            while pending:
                for name, target in list(pending.items()):
                    left = 0
                    try:
                        with docker_errors(f"volumes on node {name}"):
                            found = target.api.volumes(filters=filters).get("Volumes") or []
                    except EngineError:
                        del pending[name]
                        continue
                    for volume in found:
                        try:
                            with docker_errors(f"remove volume on node {name}"):
                                target.api.remove_volume(volume["Name"], force=True)
                            removed += 1
                        except EngineError:  # in use by a container still stopping
                            left += 1
                    if not left:
                        del pending[name]
                if not pending or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            for target in targets.values():
                target.close()
        return removed

    def image_problems(self, refs: Sequence[str], hostnames: Sequence[str], own_hostname: str) -> list[str]:
        """What keeps ``refs`` (present on the engine's node) from being on every node, for ``doctor``.

        One line per node that has no engine URL in ``swarm_node_engines`` (images cannot be
        copied there), cannot be reached, or lacks some of the images; empty when all is well.
        """
        ids: dict[str, str] = {}
        for ref in refs:
            try:
                with docker_errors(f"inspect image {ref}"):
                    ids[ref] = str(self.api.inspect_image(ref)["Id"])
            except NotFound:
                continue  # not built here yet: nothing to copy
        others = [h for h in hostnames if h != own_hostname]
        urls = {h: u for h, u in self.settings.swarm_node_engines.items() if h in others}
        problems = [f"{h}: no engine URL in swarm_node_engines" for h in others if h not in urls]
        clients, unreachable = node_engines(urls, self.settings.docker_timeout_s)
        try:
            problems += [f"{h}: engine unreachable ({why})" for h, why in unreachable.items()]
            for host, client in clients.items():
                missing = [ref for ref, image_id in ids.items() if not has_image(client, image_id)]
                if missing:
                    problems.append(f"{host}: missing {', '.join(missing)}")
        finally:
            for client in clients.values():
                client.close()
        return sorted(problems)

    # -- nodes ----------------------------------------------------------------------------

    def hostname(self, node_id: str) -> str:
        """The node's hostname (the key of ``swarm_node_engines``); '' when it is not in the swarm."""
        try:
            with docker_errors(f"inspect node {node_id}"):
                return str(self.api.inspect_node(node_id)["Description"]["Hostname"])
        except NotFound:
            return ""

    def node_state(self, node_id: str) -> str:
        """``ready``, ``down``, ``unknown`` or ``disconnected`` as the manager sees the node."""
        try:
            with docker_errors(f"inspect node {node_id}"):
                return str(self.api.inspect_node(node_id)["Status"]["State"])
        except NotFound:
            return "down"  # removed from the swarm
