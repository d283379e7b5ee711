"""The channel across machines: an overlay network, a gateway on the manager, a relay in each replica.

On one node the engine talks to a replica over a Unix socket in a bind-mounted exchange folder.
A replica on another node has no such folder, so in the multi-node mode:

- every replica of a namespace joins the namespace's **channel overlay** (internal: no route out;
  encrypted when the kernel has IPsec ESP, see ``docs/scale-out.md``), and its service resolves
  by DNS round robin (``dnsrr``: the name is the task's address; no IPVS virtual IP);
- the replica's command runs under :mod:`~app.engine.runtime.channel_relay`, which listens on
  the overlay address only and forwards to the server's Unix socket, now in a tmpfs;
- one **gateway** service per namespace, constrained to the engine's node, joins the overlay and
  listens on a Unix socket in a folder bind-mounted from the engine's host
  (:mod:`~app.engine.runtime.channel_gateway`); :class:`GatewayClient` connects through it.

Nothing of this listens on a host address: the overlay's VXLAN traffic runs between the nodes'
swarm data-path addresses (which the operator chooses), the gateway only on its Unix socket.

Pure functions build the specs (unit-tested without Docker); :class:`GatewayClient` is the
engine's side of the socket.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.engine.core.errors import EngineError
from app.engine.runtime.protocol import LABEL_MANAGED, LABEL_NAMESPACE
from app.engine.runtime.swarm_spec import LABEL_BACKEND, NNP_WRAPPER, STOP_GRACE_NS

__all__ = [
    "CHANNEL_PORT",
    "GATEWAY_SOCKET",
    "LABEL_CHANNEL",
    "GatewayClient",
    "channel_network_name",
    "channel_service_spec",
    "gateway_service_name",
    "gateway_service_spec",
    "node_engines",
    "program_source",
    "subnet_of",
]

CHANNEL_PORT = 7070
GATEWAY_SOCKET = "gateway.sock"
LABEL_CHANNEL = "io.switchboard.channel"  # on the overlay and the gateway of a namespace
EXCHANGE_TMPFS_BYTES = 1 << 20  # what a bind-mounted exchange folder becomes on a remote node
# The server's socket in a replica on any node: under /tmp, the one tmpfs Swarm leaves writable
# for uid 10001. A tmpfs over a folder the image has (/run/switchboard, /output) keeps that
# folder's root 0755 on Swarm: TmpfsOptions.Mode is not applied over an existing folder.
REPLICA_SOCKET = "/tmp/switchboard/specialist.sock"
REPLICA_INPUTS = "/tmp/switchboard/input"  # uploaded inputs (``put``): /input/<task>/<name> there
_HERE = Path(__file__).resolve().parent


def program_source(module: str) -> str:
    """The source of ``channel_gateway`` or ``channel_relay``, to run with ``python3 -c``."""
    if module not in ("channel_gateway", "channel_relay"):
        raise ValueError(module)
    return (_HERE / f"{module}.py").read_text(encoding="utf-8")


def _scoped(namespace: str, what: str) -> str:
    return f"switchboard-{what}" if namespace == "default" else f"switchboard-{namespace}-{what}"


def channel_network_name(namespace: str) -> str:
    """The overlay of a namespace's replicas and its gateway."""
    return _scoped(namespace, "channel")


def gateway_service_name(namespace: str) -> str:
    """The gateway service of a namespace."""
    return _scoped(namespace, "gateway")


def channel_service_spec(
    body: Mapping[str, Any],
    *,
    channel: str,
    subnet: str,
    keep_network: str | None = None,
    input_bytes: int = EXCHANGE_TMPFS_BYTES,
) -> dict[str, Any]:
    """A replica's service spec (``swarm_spec.service_spec``) made placeable on any node.

    - the node constraint goes (Swarm spreads the replicas over nodes instead), reservations stay;
    - bind mounts (the exchange folders, which exist on the engine's node only) become small
      tmpfs mounts at the same place, so the server's socket lives inside the container;
    - inputs are uploaded over the channel into :data:`REPLICA_INPUTS` (under ``/tmp``, the
      tmpfs of ``limits.tmpfs_mb``; ``/input`` stays root-owned on Swarm, like ``/run``), at
      most ``input_bytes`` each;
    - the replica joins ``channel`` instead of its isolation bridge (the overlay is internal too),
      and keeps ``keep_network``, the network of its own it has when it ``needs_network``;
    - the command runs under the relay (``channel_relay``), inside the ``setpriv`` wrapper, and
      the server's socket moves to :data:`REPLICA_SOCKET` (the relay's target);
    - the endpoint is ``dnsrr``: the service name resolves to the task's address.
    """
    spec = copy.deepcopy(dict(body))
    template = spec["TaskTemplate"]
    container = template["ContainerSpec"]
    command = list(container["Command"])
    if tuple(command[: len(NNP_WRAPPER)]) == NNP_WRAPPER:
        command = command[len(NNP_WRAPPER) :]
    container["Command"] = [*NNP_WRAPPER, "python3", "-c", program_source("channel_relay"), *command]
    env = [e for e in container.get("Env", []) if not e.startswith("SWITCHBOARD_SOCKET=")]
    container["Env"] = sorted(
        [
            *env,
            f"SWITCHBOARD_SOCKET={REPLICA_SOCKET}",
            f"SWITCHBOARD_CHANNEL_PORT={CHANNEL_PORT}",
            f"SWITCHBOARD_CHANNEL_SUBNET={subnet}",
            f"SWITCHBOARD_MAX_INPUT_BYTES={input_bytes}",
            f"SWITCHBOARD_INPUT_ROOT={REPLICA_INPUTS}",
        ]
    )
    mounts = []
    for mount in container.get("Mounts", []):
        if mount.get("Type") == "bind":
            mount = {
                "Type": "tmpfs",
                "Target": mount["Target"],
                "TmpfsOptions": {"SizeBytes": EXCHANGE_TMPFS_BYTES, "Mode": 0o1777},
            }
        mounts.append(mount)
    container["Mounts"] = mounts
    own = [n for n in template.get("Networks", []) if keep_network and n.get("Target") == keep_network]
    template["Networks"] = [*own, {"Target": channel}]
    template["Placement"] = {"Preferences": [{"Spread": {"SpreadDescriptor": "node.id"}}]}
    spec["EndpointSpec"] = {"Mode": "dnsrr"}
    return spec


def gateway_service_spec(
    *,
    namespace: str,
    image_id: str,
    channel: str,
    socket_dir: str,
    node_id: str,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The gateway service of ``namespace``: hardened like a replica, pinned to the engine's node.

    Its only mount is the socket folder (bind, from the engine's host); its only network the
    channel overlay. It runs as uid 10001 with a read-only root, no capabilities, a pids limit
    and ``setpriv --no-new-privs``; 0.25 CPU and 64 MiB are plenty for byte copying.
    """
    all_labels = {
        LABEL_MANAGED: "true",
        LABEL_NAMESPACE: namespace,
        "io.switchboard.role": "gateway",
        LABEL_CHANNEL: channel,
        LABEL_BACKEND: "swarm",
        **(labels or {}),
    }
    container = {
        "Image": image_id,
        "Labels": dict(all_labels),
        "Command": [*NNP_WRAPPER, "python3", "-c", program_source("channel_gateway")],
        "Env": [
            f"GATEWAY_SOCKET=/run/gateway/{GATEWAY_SOCKET}",
            f"GATEWAY_REPLICA_PORT={CHANNEL_PORT}",
        ],
        "User": "10001:10001",
        "ReadOnly": True,
        "Init": True,
        "CapabilityDrop": ["ALL"],
        "Mounts": [
            {"Type": "bind", "Source": socket_dir, "Target": "/run/gateway"},
            {"Type": "tmpfs", "Target": "/tmp", "TmpfsOptions": {"SizeBytes": 4 << 20, "Mode": 0o1777}},
        ],
        "StopGracePeriod": STOP_GRACE_NS,
    }
    return {
        "Name": gateway_service_name(namespace),
        "Labels": all_labels,
        "TaskTemplate": {
            "ContainerSpec": container,
            "Resources": {
                "Limits": {"NanoCPUs": 250_000_000, "MemoryBytes": 64 << 20, "Pids": 256},
                "Reservations": {"NanoCPUs": 50_000_000, "MemoryBytes": 32 << 20},
            },
            # the gateway, unlike a replica, is infrastructure: Swarm restarts it
            "RestartPolicy": {"Condition": "any", "Delay": 500_000_000},
            "Placement": {"Constraints": [f"node.id=={node_id}"]},
            "Networks": [{"Target": channel}],
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }


class GatewayClient:
    """The engine's side of the gateway socket: one connection per replica conversation."""

    def __init__(self, socket_path: Path, timeout_s: float = 30.0) -> None:
        self.socket_path = socket_path
        self.timeout_s = timeout_s

    def connect(self, replica: str) -> socket.socket:
        """A socket that speaks the wire protocol with ``replica`` (``EngineError`` if unreachable)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(str(self.socket_path))
            sock.sendall(json.dumps({"replica": replica}).encode() + b"\n")
            reply = _read_line(sock, 1024)
        except OSError as exc:
            sock.close()
            raise EngineError(f"the channel gateway at {self.socket_path} did not answer: {exc}") from exc
        try:
            answer = json.loads(reply)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            sock.close()
            error = answer.get("error") if isinstance(answer, dict) else None
            raise EngineError(f"the channel gateway cannot reach replica {replica}: {error or reply[:120]!r}")
        return sock

    def request(self, replica: str, message: Mapping[str, Any], max_bytes: int = 8 << 20) -> dict[str, Any]:
        """One wire-protocol request on a new connection, and its answer (for probes and benches)."""
        with self.connect(replica) as sock:
            sock.sendall(json.dumps(dict(message)).encode() + b"\n")
            line = _read_line(sock, max_bytes)
        answer = json.loads(line)
        if not isinstance(answer, dict):
            raise EngineError(f"replica {replica} answered with a JSON {type(answer).__name__}")
        return answer

    def wait_ready(self, replica: str, timeout_s: float = 30.0) -> float:
        """Seconds until ``replica`` answers a ping through the gateway; ``EngineError`` past ``timeout_s``."""
        began = time.monotonic()
        last = ""
        while time.monotonic() - began < timeout_s:
            try:
                if self.request(replica, {"v": 1, "kind": "ping", "id": "ready"}).get("ok"):
                    return time.monotonic() - began
            except (EngineError, OSError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise EngineError(f"replica {replica} did not answer through the gateway within {timeout_s:g} s: {last}")


def _read_line(sock: socket.socket, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        data = sock.recv(min(1 << 16, max_bytes + 1 - size))
        if not data:
            raise EngineError(f"the connection closed before a full line ({size} bytes)")
        chunks.append(data)
        size += len(data)
        if data.endswith(b"\n") or b"\n" in data:
            return b"".join(chunks).split(b"\n", 1)[0]
        if size > max_bytes:
            raise EngineError(f"an answer larger than {max_bytes:,} bytes")


def node_engines(urls: Mapping[str, str], timeout_s: float) -> tuple[dict[str, Any], dict[str, str]]:
    """Docker SDK clients for ``hostname -> URL`` that answer, and why the others do not.

    A node that is down cannot take an image or give back a volume, and Swarm places nothing
    there meanwhile: the caller skips it (and reports it) rather than failing.
    """
    import docker

    clients: dict[str, Any] = {}
    unreachable: dict[str, str] = {}
    for name, url in urls.items():
        try:
            client = docker.DockerClient(base_url=url, timeout=int(timeout_s))
            client.ping()
            clients[name] = client
        except Exception as exc:  # any failure means: not reachable now
            unreachable[name] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return clients, unreachable


def subnet_of(network: Mapping[str, Any]) -> str:
    """The first IPAM subnet of an inspected network ('' when it has none yet)."""
    configs: Sequence[Mapping[str, Any]] = (network.get("IPAM") or {}).get("Config") or []
    return str(configs[0].get("Subnet") or "") if configs else ""
