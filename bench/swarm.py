"""The Swarm backend: time to converge on +N replicas, and task latency against the local backend.

Usage::

    .venv/bin/python bench/swarm.py [--replicas 5] [--rounds 30]

Prints one JSON document:

- ``converge``: decision-to-converged seconds (the call, until exactly 1+N tasks run and no
  rolling update is in progress) for +N replicas of one hardened service, three ways: the
  direct update (``SwarmRuntime.set_replicas``: only ``Mode.Replicated.Replicas`` changes),
  ``Service.scale()`` of the SDK (re-reads the spec with defaults inserted, so Swarm sees a
  new template and replaces the running task as well), and N one-replica services started
  one after another (what the engine's lifecycle does for +N on the Swarm backend). For each:
  whether the spec changed and how many of the tasks that ran before were replaced.
- ``latency``: the same trivial task (``select 1`` on the database specialist) for ``rounds``
  rounds through an orchestrator on the local Docker backend and on the Swarm backend, after
  one warm-up task; p50/p95/mean in ms, and the cold first task of each.

- ``multi_node`` (unless ``--no-multi-node``): on a swarm of three engines in containers
  (``tests/swarm_cluster.py``; the host engine's swarm is not involved), with the channel
  gateway: decision-to-converged seconds for +N replicas spread over the three nodes (the
  direct update of one service, and N one-replica services as the lifecycle makes them);
  the wire round trip of one ``ping`` and one ``select 1`` task to a local container over its
  bind-mounted Unix socket, against the gateway to a replica on the engine's node and on a
  worker (a new connection per request, and one kept open); and tasks per second from 6
  client threads with one replica against three replicas on three nodes.

When the engine is not in a swarm, a single-node swarm is made on 127.0.0.1 (its ingress
overlay removed, so no VXLAN port listens on every address) and left again at the end, with
the ``docker_gwbridge`` network removed. Every object is created in a namespace of its own and
removed. Bounded: about three minutes on two busy cores, plus about one for the multi-node part.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker

from app.engine.core.config import Settings, load_settings
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.protocol import LaunchSpec, Mount
from app.engine.runtime.swarm_runtime import SwarmRuntime
from app.engine.runtime.swarm_spec import isolation_network, service_spec

NS_LABEL = "io.switchboard.namespace"
SLEEPER = "import time\nwhile True:\n    time.sleep(1)\n"


def ensure_swarm(client: Any) -> bool:
    """Make a loopback single-node swarm when there is none; ``True`` when made here."""
    if client.info()["Swarm"]["LocalNodeState"] != "inactive":
        return False
    client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", data_path_addr="127.0.0.1")
    for net in client.networks.list(names=["ingress"]):
        if net.name == "ingress":
            net.remove()
    return True


def leave_swarm(client: Any) -> None:
    """Leave the swarm and remove the ``docker_gwbridge`` network it leaves behind."""
    client.swarm.leave(force=True)
    for _ in range(50):
        nets = [n for n in client.networks.list(names=["docker_gwbridge"]) if n.name == "docker_gwbridge"]
        if not nets:
            return
        try:
            nets[0].remove()
        except docker.errors.APIError:
            time.sleep(0.2)


def purge(client: Any, namespace: str) -> None:
    """Remove every service, container, network and volume of ``namespace``."""
    label = {"label": f"{NS_LABEL}={namespace}"}
    for svc in client.services.list(filters=label):
        svc.remove()
    deadline = time.monotonic() + 30
    while client.containers.list(all=True, filters=label) and time.monotonic() < deadline:
        time.sleep(0.2)
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True)
    for net in client.networks.list(filters=label):
        net.remove()
    for vol in client.volumes.list(filters=label):
        vol.remove(force=True)


def probe_spec(settings: Settings, namespace: str) -> LaunchSpec:
    """A hardened sleeper like a specialist replica (no mounts: nothing to exchange)."""
    labels = {
        "io.switchboard.managed": "true",
        "io.switchboard.role": "test",
        "io.switchboard.specialist": "bench",
        NS_LABEL: namespace,
    }
    return LaunchSpec(
        name=f"sb-bench-{secrets.token_hex(4)}",
        image=settings.base_image,
        labels=labels,
        memory_mb=48,
        cpus=0.1,
        pids=16,
        tmpfs_mb=4,
        command=("python3", "-c", SLEEPER),
    )


def wait_settled(client: Any, name: str, replicas: int, timeout_s: float = 180.0) -> None:
    """Until exactly ``replicas`` tasks run, none other is wanted or stopping, and no update runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        svc = client.api.inspect_service(name)
        update = (svc.get("UpdateStatus") or {}).get("State", "completed")
        tasks = client.api.tasks(filters={"service": name})
        wanted = [t for t in tasks if t["DesiredState"] == "running"]
        running = [t for t in wanted if t["Status"]["State"] == "running"]
        stopping = [t for t in tasks if t["DesiredState"] != "running" and t["Status"]["State"] == "running"]
        if len(running) == len(wanted) == replicas and not stopping and update in ("completed", "rollback_completed"):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{name} did not settle on {replicas} replicas")


def running_ids(client: Any, name: str) -> set[str]:
    return {
        t["ID"]
        for t in client.api.tasks(filters={"service": name, "desired-state": "running"})
        if t["Status"]["State"] == "running"
    }


def bench_converge(client: Any, rt: SwarmRuntime, settings: Settings, namespace: str, extra: int) -> dict[str, Any]:
    """+``extra`` replicas of one service: the direct update against ``Service.scale()``."""
    out: dict[str, Any] = {"replicas_added": extra}
    for way in ("direct_update", "service_scale"):
        spec = probe_spec(settings, namespace)
        network = isolation_network(spec.labels, spec.name, private=False)
        rt.ensure_network(network, internal=True, labels=spec.labels)
        image_id = rt.image_id(spec.image) or ""
        body = service_spec(
            spec,
            image_id=image_id,
            command=list(spec.command or ()),
            network=network,
            constraints=[f"node.id=={rt.node_id()}"],
        )
        client.api.create_service(body["TaskTemplate"], name=body["Name"], labels=body["Labels"], mode=body["Mode"])
        wait_settled(client, spec.name, 1)
        before_spec = client.api.inspect_service(spec.name, insert_defaults=False)["Spec"]
        before_tasks = running_ids(client, spec.name)
        began = time.monotonic()
        if way == "direct_update":
            rt.set_replicas(spec.name, 1 + extra)
        else:
            client.services.get(spec.name).scale(1 + extra)
        wait_settled(client, spec.name, 1 + extra)
        took = time.monotonic() - began
        after_spec = client.api.inspect_service(spec.name, insert_defaults=False)["Spec"]
        changed = sorted(
            k for k in set(before_spec) | set(after_spec) if k != "Mode" and before_spec.get(k) != after_spec.get(k)
        )
        out[way] = {
            "seconds": round(took, 3),
            "spec_changed_besides_replicas": changed,
            "earlier_tasks_replaced": len(before_tasks - running_ids(client, spec.name)),
        }
        rt.remove(spec.name)
    # what the lifecycle does on this backend: one more one-replica service per replica, in turn
    began = time.monotonic()
    names = []
    for _ in range(extra):
        spec = probe_spec(settings, namespace)
        rt.run(spec)
        names.append(spec.name)
    out["per_replica_services"] = {
        "seconds": round(time.monotonic() - began, 3),
        "mode": "sequential, each waits until its task runs",
    }
    for name in names:
        rt.remove(name)
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def bench_latency(client: Any, backend: str, rounds: int) -> dict[str, Any]:
    """``rounds`` trivial database tasks through an orchestrator on ``backend``."""
    namespace = "b" + secrets.token_hex(4)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp) / "data",
            namespace=namespace,
            runtime_backend=backend,
            ollama_autostart=False,
            llama_autostart=False,
            stats_interval_s=2.0,
        )
        orch = Orchestrator(settings)
        try:
            orch.start().result(timeout=300)
            began = time.monotonic()
            first = orch.submit("select 1 as one", specialist="database").future.result(timeout=300)
            cold_ms = (time.monotonic() - began) * 1000
            assert first.state == "succeeded", first.error
            samples: list[float] = []
            for i in range(rounds):
                began = time.monotonic()
                view = orch.submit(f"select {i} + 1 as n", specialist="database").future.result(timeout=120)
                samples.append((time.monotonic() - began) * 1000)
                assert view.state == "succeeded", view.error
            return {
                "backend": backend,
                "rounds": rounds,
                "cold_first_task_ms": round(cold_ms, 1),
                **percentiles(samples),
            }
        finally:
            orch.close(remove_containers=True)
            purge(client, namespace)


# -- multi-node: three engines in containers, the channel gateway -------------------------------


def _database_image(settings: Settings) -> str:
    from app.engine.core.specs import load_catalogue
    from app.engine.runtime.docker_runtime import DockerRuntime
    from app.engine.runtime.images import ImageBuilder

    spec = load_catalogue(settings.specialists_dir).specs["database"]
    return ImageBuilder(settings, DockerRuntime(settings)).ensure_specialist_image(spec)


def _replica_spec(namespace: str, image: str, exchange: Path, *, cpus: float = 1.0) -> LaunchSpec:
    """A database replica as the lifecycle launches it (manifest limits: 1 CPU, 256 MB)."""
    name = f"sb-database-{secrets.token_hex(4)}"
    return LaunchSpec(
        name=name,
        image=image,
        labels={
            "io.switchboard.managed": "true",
            "io.switchboard.role": "specialist",
            "io.switchboard.specialist": "database",
            NS_LABEL: namespace,
        },
        env={
            "SWITCHBOARD_SPECIALIST": "database",
            "SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock",
            "SWITCHBOARD_HANDLER": "/opt/specialist/handler.py",
        },
        mounts=(
            Mount(str(exchange / name / "sock"), "/run/switchboard"),
            Mount(str(exchange / name / "in"), "/input", read_only=True),
            Mount(f"switchboard-{namespace}-data-database", "/data", volume=True),
        ),
        memory_mb=256,
        cpus=cpus,
        pids=64,
        tmpfs_mb=64,
        output_tmpfs_mb=8,
    )


def _message(kind: str, i: int) -> bytes:
    if kind == "ping":
        doc: dict[str, Any] = {"v": 1, "kind": "ping", "id": f"p{i}"}
    else:
        doc = {
            "v": 1,
            "kind": "task",
            "id": f"t{i}",
            "text": "select 1 as one",
            "inputs": [],
            "output_dir": f"/output/t{i}",
            "timeout_s": 30,
            "max_output_bytes": 1 << 20,
        }
    return json.dumps(doc).encode() + b"\n"


def _round_trips(connect: Callable[[], socket.socket], kind: str, rounds: int, reuse: bool) -> dict[str, float]:
    """``rounds`` requests of ``kind``: over one kept connection (``reuse``) or a new one each."""
    samples: list[float] = []
    kept = connect() if reuse else None
    reader = kept.makefile("rb") if kept is not None else None
    try:
        for i in range(rounds):
            began = time.perf_counter()
            if kept is not None and reader is not None:
                kept.sendall(_message(kind, i))
                line = reader.readline()
            else:
                with connect() as sock, sock.makefile("rb") as fresh:
                    sock.sendall(_message(kind, i))
                    line = fresh.readline()
            samples.append((time.perf_counter() - began) * 1000)
            if not json.loads(line).get("ok"):
                raise RuntimeError(f"{kind} failed: {line[-400:]!r}")
    finally:
        if reader is not None:
            reader.close()
        if kept is not None:
            kept.close()
    ordered = sorted(samples)  # sub-millisecond: three decimals, unlike percentiles()
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def _unix_connect(path: Path) -> Callable[[], socket.socket]:
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(path))
        return sock

    return connect


def _latency_set(connect: Callable[[], socket.socket], rounds: int) -> dict[str, Any]:
    return {
        f"{kind}_{'kept' if reuse else 'new'}_connection": _round_trips(connect, kind, rounds, reuse)
        for kind in ("ping", "task")
        for reuse in (True, False)
    }


def _local_baseline(client: Any, image: str, rounds: int) -> dict[str, Any]:
    """The same requests to a container on the host engine over its bind-mounted socket."""
    with tempfile.TemporaryDirectory(prefix="sb-bench-sock-") as tmp:
        folder = Path(tmp)
        os.chown(folder, 10001, 10001)
        container = client.containers.run(
            image,
            detach=True,
            user="10001:10001",
            read_only=True,
            network_mode="none",
            init=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit="256m",
            nano_cpus=1_000_000_000,
            tmpfs={"/tmp": "size=64m", "/output": "size=8m,uid=10001", "/data": "size=16m,uid=10001"},
            volumes={str(folder): {"bind": "/run/switchboard", "mode": "rw"}},
            labels={"io.switchboard.managed": "true", "io.switchboard.role": "test"},
        )
        try:
            path = folder / "specialist.sock"
            deadline = time.monotonic() + 30
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            return _latency_set(_unix_connect(path), rounds)
        finally:
            container.remove(force=True)


def _throughput(gateway: Any, replicas: list[str], seconds: float, threads: int = 6) -> dict[str, Any]:
    """Tasks per second from ``threads`` clients, each with kept connections to every replica, round robin."""
    stop = time.monotonic() + seconds
    done = [0] * threads
    errors: list[str] = []

    def client(k: int) -> None:
        socks = [gateway.connect(name) for name in replicas]
        readers = [sock.makefile("rb") for sock in socks]
        i = k
        try:
            while time.monotonic() < stop:
                j = i % len(socks)
                socks[j].sendall(_message("task", i))
                line = readers[j].readline()
                if not json.loads(line).get("ok"):
                    errors.append(line[:120].decode("utf-8", "replace"))
                    return
                done[k] += 1
                i += 1
        finally:
            for reader in readers:
                reader.close()
            for sock in socks:
                sock.close()

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    took = time.monotonic() - began
    return {
        "replicas": len(replicas),
        "threads": threads,
        "tasks": sum(done),
        "tasks_per_s": round(sum(done) / took, 1),
        "errors": errors[:3],
    }


def _spread(rt: SwarmRuntime, names: list[str], nodes: dict[str, str]) -> dict[str, int]:
    count: dict[str, int] = {}
    for name in names:
        for task in rt.running_tasks(name):
            host = nodes.get(task["NodeID"], task["NodeID"][:8])
            count[host] = count.get(host, 0) + 1
    return dict(sorted(count.items()))


def bench_multi_node(extra: int, rounds: int, seconds: float) -> dict[str, Any]:
    """Converge, latency and throughput on three engines in containers, through the channel gateway."""
    root = Path(__file__).resolve().parents[1]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from app.engine.runtime.swarm_channel import channel_service_spec
    from app.engine.runtime.swarm_images import distribute_image
    from tests.swarm_cluster import SwarmCluster

    host = docker.from_env(timeout=120)
    out: dict[str, Any] = {}
    began = time.monotonic()
    with SwarmCluster() as cluster:
        out["cluster_start_s"] = round(time.monotonic() - began, 2)
        namespace = "b" + secrets.token_hex(3)
        settings = load_settings(
            data_dir=cluster.shared / "data",
            namespace=namespace,
            docker_url=cluster.manager.url,
            runtime_backend="swarm",
            swarm_multi_node=True,
            swarm_channel_encrypted=False,  # no IPsec ESP in this kernel
            swarm_node_engines={n.container: n.url for n in cluster.nodes},
            ollama_autostart=False,
            llama_autostart=False,
        )
        image = _database_image(load_settings(ollama_autostart=False, llama_autostart=False))
        manager_only = {cluster.manager.container: cluster.manager.client()}
        distribute_image(host, image, manager_only)
        distribute_image(host, settings.base_image, manager_only)
        rt = SwarmRuntime(settings)
        rt.ping()
        multi = rt.multi_node
        assert multi is not None
        hostnames = {n.node_id: n.container.rsplit("-", 1)[-1] for n in cluster.nodes}
        began = time.monotonic()
        copies = multi.distribute(image)
        out["image_copy"] = {
            "seconds": round(time.monotonic() - began, 2),
            "copies": [{"node": c.node.rsplit("-", 1)[-1], "action": c.action, "mb": c.bytes >> 20} for c in copies],
        }
        began = time.monotonic()
        multi.ensure()
        out["channel_setup_s"] = round(time.monotonic() - began, 2)
        names: list[str] = []
        try:
            # +N: the lifecycle's way (N one-replica services, each until it runs), spread over nodes
            began = time.monotonic()
            for _ in range(extra):
                spec = _replica_spec(namespace, image, settings.data_dir / "exchange", cpus=0.25)
                rt.run(spec)
                names.append(spec.name)
            ran = time.monotonic() - began
            gateway = multi.gateway()
            for name in names:
                gateway.wait_ready(name, 60)
            out["converge_per_replica_services"] = {
                "replicas_added": extra,
                "seconds_until_running": round(ran, 2),
                "seconds_until_answering": round(time.monotonic() - began, 2),
                "per_node": _spread(rt, names, hostnames),
            }
            for name in names:
                rt.remove(name)
            names.clear()
            # +N: one service, the direct update of its replica count
            spec = _replica_spec(namespace, image, settings.data_dir / "exchange", cpus=0.25)
            body = service_spec(
                spec,
                image_id=rt.image_id(image) or "",
                command=["/opt/venv/bin/python", "-m", "switchboard_runtime"],
                network="unused-iso",
            )
            body = channel_service_spec(body, channel=multi.network, subnet=multi.ensure())
            rt.api.create_service(
                body["TaskTemplate"],
                name=body["Name"],
                labels=body["Labels"],
                mode=body["Mode"],
                endpoint_spec=body["EndpointSpec"],
            )
            names.append(spec.name)
            rt.wait_converged(spec.name, 1, timeout_s=60)
            began = time.monotonic()
            rt.set_replicas(spec.name, 1 + extra)
            took = rt.wait_converged(spec.name, 1 + extra, timeout_s=120)
            out["converge_direct_update"] = {
                "replicas_added": extra,
                "seconds": round(took, 2),
                "per_node": _spread(rt, names, hostnames),
            }
            rt.remove(spec.name)
            names.clear()

            # latency: one replica per node (1 CPU each, the manifest's limit)
            for _ in range(3):
                spec = _replica_spec(namespace, image, settings.data_dir / "exchange")
                rt.run(spec)
                names.append(spec.name)
            where = {name: rt.running_tasks(name)[0]["NodeID"] for name in names}
            for name in names:
                gateway.wait_ready(name, 60)
            on_manager = next((n for n in names if where[n] == cluster.manager.node_id), None)
            on_worker = next(n for n in names if where[n] != cluster.manager.node_id)
            latency: dict[str, Any] = {"rounds": rounds, "local_unix_socket": _local_baseline(host, image, rounds)}
            if on_manager is not None:
                latency["gateway_to_manager_node"] = _latency_set(lambda: gateway.connect(on_manager), rounds)
            latency["gateway_to_worker_node"] = _latency_set(lambda: gateway.connect(on_worker), rounds)
            out["latency_ms"] = latency
            out["throughput"] = {
                "one_replica": _throughput(gateway, [on_worker], seconds),
                "three_replicas_three_nodes": _throughput(gateway, names, seconds),
                "per_node": _spread(rt, names, hostnames),
                "note": "all three engines share this machine's 2 cores",
            }
        finally:
            for name in names:
                rt.remove(name)
            multi.remove()
            rt.close()
            host.close()
    out["left_after"] = cluster.leftovers()
    return out


def main() -> None:
    """Run both parts and print the JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=5, help="replicas to add (+N)")
    parser.add_argument("--rounds", type=int, default=30, help="tasks per backend")
    parser.add_argument("--no-multi-node", action="store_true", help="skip the three-engine part")
    parser.add_argument("--only-multi-node", action="store_true", help="only the three-engine part")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each throughput run")
    args = parser.parse_args()
    if args.only_multi_node:
        print(json.dumps({"multi_node": bench_multi_node(args.replicas, args.rounds * 3, args.seconds)}, indent=2))
        return
    client = docker.from_env(timeout=60)
    made = ensure_swarm(client)
    namespace = "b" + secrets.token_hex(4)
    result: dict[str, Any] = {
        "engine": client.version()["Version"],
        "api": client.version()["ApiVersion"],
        "swarm_made_here": made,
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(data_dir=Path(tmp), namespace=namespace, runtime_backend="swarm")
            rt = SwarmRuntime(settings)
            rt.ping()
            try:
                result["converge"] = bench_converge(client, rt, settings, namespace, args.replicas)
            finally:
                purge(client, namespace)
        local = bench_latency(client, "docker", args.rounds)
        swarm = bench_latency(client, "swarm", args.rounds)
        result["latency"] = {
            "docker": local,
            "swarm": swarm,
            "swarm_minus_docker_p50_ms": round(swarm["p50_ms"] - local["p50_ms"], 1),
            "channel": "Unix socket in a bind-mounted folder on both backends (single node; no gateway)",
        }
        if not args.no_multi_node:
            result["multi_node"] = bench_multi_node(args.replicas, args.rounds * 3, args.seconds)
    finally:
        if made:
            leave_swarm(client)
        result["swarm_state_after"] = client.info()["Swarm"]["LocalNodeState"]
        client.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
