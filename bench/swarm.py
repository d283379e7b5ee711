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

When the engine is not in a swarm, a single-node swarm is made on 127.0.0.1 (its ingress
overlay removed, so no VXLAN port listens on every address) and left again at the end, with
the ``docker_gwbridge`` network removed. Every object is created in a namespace of its own and
removed. Bounded: about three minutes on two busy cores.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import docker

from app.engine.core.config import Settings, load_settings
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.protocol import LaunchSpec
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


def main() -> None:
    """Run both parts and print the JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=5, help="replicas to add (+N)")
    parser.add_argument("--rounds", type=int, default=30, help="tasks per backend")
    args = parser.parse_args()
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
    finally:
        if made:
            leave_swarm(client)
        result["swarm_state_after"] = client.info()["Swarm"]["LocalNodeState"]
        client.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
