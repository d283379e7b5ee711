"""A swarm of three Docker engines on this machine, for the multi-node tests and bench.

Each engine is ``dockerd`` inside a container of the image ``packaging/setup/swarm_node_image.sh``
builds offline (Debian's ``docker.io``; built once per machine, cached by its versioned tag).
The nodes sit on an **internal** Docker network of the cluster's own, so their swarm ports
(2377, 7946, 4789) exist only on container addresses of that network, never on a host address.
The host reaches each engine's API through a Unix socket in a host folder bind-mounted into
its node (``<root>/n<i>/docker.sock``); nothing listens on TCP outside the nodes.

Node 0 is the manager. A folder of the host (``<root>/shared``) is mounted into it *at the same
path*, so a host path the engine bind-mounts into a service (the gateway's socket folder)
exists on the manager as on a local engine.

Why not ``--privileged``: this machine's capability bounding set lacks ``CAP_SYS_RESOURCE``, so
runc refuses a privileged container ("unable to apply caps"). A node gets every other
capability, no seccomp filter, unmasked ``/proc``, every device, and a private cgroup namespace;
its entry script remounts ``/sys`` and the cgroup controllers writable. Its ``/var/lib/docker``
is a tmpfs (overlay2 works on it), so nothing is left on disk.

Everything is labelled ``io.switchboard.swarm-cluster=<id>`` and removed by :meth:`close`,
which runs even when :meth:`start` failed halfway (use the cluster as a context manager).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

ROOT = Path(__file__).resolve().parents[1]
IMAGE_SCRIPT = ROOT / "packaging" / "setup" / "swarm_node_image.sh"
NODE_IMAGE = os.environ.get("SWITCHBOARD_SWARM_NODE_IMAGE", "switchboard-swarm-node:bookworm-docker-1")
LABEL_CLUSTER = "io.switchboard.swarm-cluster"
BASE_LABELS = {"io.switchboard.managed": "true", "io.switchboard.role": "test"}
# inner address ranges chosen away from Docker's defaults (172.17+ on the host and the
# cluster's own network), so an inner bridge never shadows the address of another node
INNER_BIP = "10.200.0.1/24"
INNER_POOL = "base=10.201.0.0/16,size=24"
SWARM_POOL = "10.210.0.0/16"


def ensure_node_image(timeout_s: float = 240.0) -> str:
    """Build the node image unless its tag exists (about 30 s once per machine); its tag."""
    client = docker.from_env(timeout=30)
    try:
        client.images.get(NODE_IMAGE)
        return NODE_IMAGE
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()
    env = {**os.environ, "SWITCHBOARD_SWARM_NODE_IMAGE": NODE_IMAGE}
    subprocess.run([str(IMAGE_SCRIPT)], check=True, timeout=timeout_s, env=env)
    return NODE_IMAGE


def wait_for(what: str, predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.2) -> float:
    """Seconds until ``predicate()`` holds; ``TimeoutError`` naming ``what`` past the timeout."""
    began = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - began
        except Exception:  # an engine still starting answers with errors: keep polling
            pass
        if time.monotonic() - began > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        time.sleep(poll_s)


@dataclass
class SwarmNode:
    """One engine of the cluster."""

    index: int
    container: str  # the node's container name on the host engine
    socket_dir: Path
    address: str = ""  # on the cluster's internal network
    node_id: str = ""  # the swarm's id of this node
    _client: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The engine's API, as ``docker_url`` for the SDK or the engine's settings."""
        return f"unix://{self.socket_dir / 'docker.sock'}"

    def client(self) -> Any:
        """A docker SDK client of this engine (cached)."""
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.url, timeout=60)
        return self._client

    def close_client(self) -> None:
        """Close the cached client."""
        if self._client is not None:
            self._client.close()
            self._client = None


class SwarmCluster:
    """Three (``size``) engines in containers, in one swarm; a context manager that always cleans up.

    Parameters
    ----------
    size
        Number of engines; node 0 is the manager, the others workers.
    heartbeat_s
        The swarm dispatcher's heartbeat: a stopped worker is seen ``down`` within a few of
        these (Docker's default is 5 s).
    """

    def __init__(self, size: int = 3, heartbeat_s: float = 1.0, start_timeout_s: float = 60.0) -> None:
        self.id = secrets.token_hex(3)
        self.size = size
        self.heartbeat_s = heartbeat_s
        self.start_timeout_s = start_timeout_s
        self.root = Path(tempfile.mkdtemp(prefix=f"sb-swarm-{self.id}-"))
        self.shared = self.root / "shared"
        self.network = f"switchboard-swarm-{self.id}"
        self.labels = {**BASE_LABELS, LABEL_CLUSTER: self.id}
        self.nodes = [SwarmNode(i, f"switchboard-swarm-{self.id}-n{i}", self.root / f"n{i}") for i in range(size)]
        self.host = docker.from_env(timeout=60)
        self.timings: dict[str, float] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> SwarmCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def manager(self) -> SwarmNode:
        """Node 0, where the swarm was made (and the engine's channel lives)."""
        return self.nodes[0]

    @property
    def workers(self) -> list[SwarmNode]:
        """Every node but the manager."""
        return self.nodes[1:]

    def start(self) -> None:
        """Start the engines, make the swarm on node 0, join the others, wait until all are ready."""
        began = time.monotonic()
        image = ensure_node_image()
        self.timings["image_s"] = time.monotonic() - began
        self.shared.mkdir(mode=0o755)
        self.host.networks.create(self.network, driver="bridge", internal=True, labels=self.labels)
        for node in self.nodes:
            self._run_node(node, image)
        for node in self.nodes:
            wait_for(f"engine {node.container}", lambda n=node: bool(n.client().ping()), self.start_timeout_s)
            attrs = self.host.containers.get(node.container).attrs
            node.address = attrs["NetworkSettings"]["Networks"][self.network]["IPAddress"]
        self.timings["engines_s"] = time.monotonic() - began
        manager = self.manager.client()
        manager.swarm.init(
            advertise_addr=self.manager.address,
            listen_addr=f"{self.manager.address}:2377",
            data_path_addr=self.manager.address,
            default_addr_pool=[SWARM_POOL],
            subnet_size=24,
            dispatcher_heartbeat_period=int(self.heartbeat_s * 1e9),
        )
        # no published ports are used: without the routing mesh's ingress overlay no VXLAN
        # socket of the ingress network exists on the nodes
        for net in manager.networks.list(names=["ingress"]):
            if net.name == "ingress":
                net.remove()
        token = manager.swarm.attrs["JoinTokens"]["Worker"]
        for node in self.workers:
            node.client().swarm.join(
                remote_addrs=[f"{self.manager.address}:2377"],
                join_token=token,
                advertise_addr=node.address,
                listen_addr=f"{node.address}:2377",
                data_path_addr=node.address,
            )
        wait_for("every node ready", lambda: len(self.ready_nodes()) == self.size, self.start_timeout_s)
        for node in self.nodes:
            node.node_id = node.client().info()["Swarm"]["NodeID"]
        self.timings["swarm_s"] = time.monotonic() - began

    def _run_node(self, node: SwarmNode, image: str) -> None:
        node.socket_dir.mkdir(mode=0o700)
        volumes = {str(node.socket_dir): {"bind": "/run/sbnode", "mode": "rw"}}
        if node.index == 0:  # the manager sees the shared host folder at the same path
            volumes[str(self.shared)] = {"bind": str(self.shared), "mode": "rw"}
        api = self.host.api
        host_config = api.create_host_config(
            binds=volumes,
            tmpfs={"/var/lib/docker": "rw,exec,dev,suid", "/run/docker": "rw,exec"},
            cgroupns="private",
            cap_add=["ALL"],
            cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined"],
            device_cgroup_rules=["a *:* rwm"],
            network_mode=self.network,
        )
        # `--security-opt systempaths=unconfined` of the CLI (the SDK has no parameter for it):
        # dockerd writes /proc/sys for its bridges and overlays
        host_config["MaskedPaths"] = []
        host_config["ReadonlyPaths"] = []
        created = api.create_container(
            image,
            command=[
                "-H",
                "unix:///run/sbnode/docker.sock",
                "--storage-driver=overlay2",
                f"--bip={INNER_BIP}",
                f"--default-address-pool={INNER_POOL}",
            ],
            name=node.container,
            hostname=node.container,
            detach=True,
            labels=self.labels,
            host_config=host_config,
        )
        api.start(created["Id"])

    def ready_nodes(self) -> list[str]:
        """Hostnames of the nodes the manager sees ready."""
        nodes = self.manager.client().api.nodes()
        return [n["Description"]["Hostname"] for n in nodes if n["Status"]["State"] == "ready"]

    def node_state(self, node: SwarmNode) -> str:
        """The state the manager reports for ``node`` (ready, down, unknown)."""
        return str(self.manager.client().api.inspect_node(node.node_id)["Status"]["State"])

    def stop_node(self, node: SwarmNode, kill: bool = True) -> None:
        """End a node's container: with ``kill`` at once, like a machine that is lost (the
        manager notices from missed heartbeats); else its engine shuts down and says so."""
        node.close_client()
        container = self.host.containers.get(node.container)
        if kill:
            container.kill()
        else:
            container.stop(timeout=5)

    def close(self) -> None:
        """Remove the nodes (and with them their engines, tasks and tmpfs), the network, the folders."""
        for node in self.nodes:
            node.close_client()
        flt = {"label": f"{LABEL_CLUSTER}={self.id}"}
        for container in self.host.containers.list(all=True, filters=flt, ignore_removed=True):
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
        for net in self.host.networks.list(filters=flt):
            try:
                net.remove()
            except docker.errors.NotFound:
                pass
        for vol in self.host.volumes.list(filters=flt):
            vol.remove(force=True)
        shutil.rmtree(self.root, ignore_errors=True)
        self.host.close()

    def leftovers(self) -> dict[str, list[str]]:
        """What of this cluster still exists on the host engine (empty lists after :meth:`close`)."""
        host = docker.from_env(timeout=30)
        try:
            flt = {"label": f"{LABEL_CLUSTER}={self.id}"}
            return {
                "containers": [c.name for c in host.containers.list(all=True, filters=flt)],
                "networks": [n.name for n in host.networks.list(filters=flt)],
                "volumes": [v.name for v in host.volumes.list(filters=flt)],
                "folders": [str(self.root)] if self.root.exists() else [],
            }
        finally:
            host.close()
