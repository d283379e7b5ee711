"""SwarmRuntime on a real single-node swarm: hardened services, the direct replica update, a task end to end.

The module's ``swarm`` fixture makes this engine a swarm manager on loopback only when it is not
in a swarm yet (and removes the ``ingress`` overlay it creates, whose VXLAN port would listen on
every address); afterwards it leaves the swarm it made and removes the ``docker_gwbridge``
network that ``swarm leave`` leaves behind. Everything else is created in a namespace of its own.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings, load_settings
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.protocol import LaunchSpec, Mount, RuntimeEvent
from app.engine.runtime.swarm_runtime import SwarmRuntime
from tests.integration.conftest import remove_labelled

pytestmark = pytest.mark.docker

NS_LABEL = "io.switchboard.namespace"
SWARM_EXPECTED_FAILURES = {"no-new-privileges", "memory limit", "network isolated"}
PROBE = (
    "import os, time\n"
    "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)\n"
    "print('nnp', status['NoNewPrivs'].strip(), 'uid', os.getuid(), flush=True)\n"
    "try:\n    open('/etc/x', 'w')\n    print('root-writable', flush=True)\n"
    "except OSError:\n    print('root-read-only', flush=True)\n"
    "open('/tmp/scratch', 'w').write('ok')\n"
    "open('/output/result', 'w').write('ok')\n"
    "print('output-writable', oct(os.stat('/output').st_mode & 0o7777), os.stat('/output').st_uid, flush=True)\n"
    "while True:\n    time.sleep(0.5)\n"
)


def _wait(predicate: Any, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def swarm(docker_client: Any) -> Iterator[Any]:
    """A single-node swarm on 127.0.0.1 (made here, and left again, only when there was none)."""
    state = docker_client.info()["Swarm"]["LocalNodeState"]
    created = state == "inactive"
    if created:
        docker_client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", data_path_addr="127.0.0.1")
        # no published ports here: without the routing mesh no VXLAN socket listens on 0.0.0.0:4789
        for net in docker_client.networks.list(names=["ingress"]):
            if net.name == "ingress":
                net.remove()
    elif not docker_client.info()["Swarm"].get("ControlAvailable"):
        pytest.fail(f"this engine is in a swarm ({state}) but not a manager")
    yield docker_client
    if created:
        docker_client.swarm.leave(force=True)
        for _ in range(50):
            nets = [n for n in docker_client.networks.list(names=["docker_gwbridge"]) if n.name == "docker_gwbridge"]
            if not nets:
                break
            try:
                nets[0].remove()
            except Exception:  # its endpoints go away a moment after leaving
                time.sleep(0.2)
        assert docker_client.info()["Swarm"]["LocalNodeState"] == "inactive"
        assert not [n for n in docker_client.networks.list(names=["docker_gwbridge"]) if n.name == "docker_gwbridge"]


def _leftovers(client: Any, namespace: str) -> dict[str, list[str]]:
    label = {"label": f"{NS_LABEL}={namespace}"}
    return {
        "services": [s.name for s in client.services.list(filters=label)],
        "containers": [c.name for c in client.containers.list(all=True, filters=label)],
        "networks": [n.name for n in client.networks.list(filters=label)],
        "volumes": [v.name for v in client.volumes.list(filters=label)],
    }


@pytest.fixture
def namespace(swarm: Any) -> Iterator[str]:
    """A namespace of this test; whatever the test leaves in it is removed (and the test fails)."""
    ns = "t" + secrets.token_hex(4)
    yield ns
    left = _leftovers(swarm, ns)
    for svc in swarm.services.list(filters={"label": f"{NS_LABEL}={ns}"}):
        svc.remove()
    _wait(lambda: not swarm.containers.list(all=True, filters={"label": f"{NS_LABEL}={ns}"}))
    remove_labelled(swarm, {"label": f"{NS_LABEL}={ns}"})
    assert not any(left.values()), f"left behind in {ns}: {left}"


@pytest.fixture
def settings(tmp_path: Path, namespace: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        namespace=namespace,
        runtime_backend="swarm",
        ollama_autostart=False,
        llama_autostart=False,
        stats_interval_s=0.5,
    )


def _labels(namespace: str, specialist: str = "swarm-test") -> dict[str, str]:
    return {
        "io.switchboard.managed": "true",
        "io.switchboard.role": "test",
        "io.switchboard.specialist": specialist,
        NS_LABEL: namespace,
    }


def _probe_spec(settings: Settings, namespace: str, *, volume: bool) -> LaunchSpec:
    name = f"sb-swarm-test-{secrets.token_hex(4)}"
    mounts: tuple[Mount, ...] = ()
    if volume:
        mounts = (Mount(f"switchboard-{namespace}-data-swarm-test", "/data", volume=True),)
    return LaunchSpec(
        name=name,
        image=settings.base_image,
        labels=_labels(namespace),
        memory_mb=96,
        cpus=0.25,
        pids=24,
        tmpfs_mb=8,
        output_tmpfs_mb=4,
        command=("python3", "-c", PROBE),
        mounts=mounts,
    )


def _spec_without(spec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in keys}


def test_replica_is_a_hardened_service_scaled_by_the_direct_update(
    swarm: Any, settings: Settings, namespace: str
) -> None:
    rt = SwarmRuntime(settings)
    assert rt.ping().backend == "swarm"
    spec = _probe_spec(settings, namespace, volume=True)
    rt.ensure_volume(f"switchboard-{namespace}-data-swarm-test", _labels(namespace))
    info = rt.run(spec)
    try:
        assert info.status == "running" and info.name == spec.name
        assert info.labels[NS_LABEL] == namespace and info.image.startswith("sha256:")  # created from the image id
        assert [i.name for i in rt.list({NS_LABEL: namespace})] == [spec.name]

        svc = swarm.api.inspect_service(spec.name, insert_defaults=False)
        c = svc["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert c["User"] == "10001:10001" and c["ReadOnly"] and c["Init"] and c["CapabilityDrop"] == ["ALL"]
        assert c["Command"][:3] == ["setpriv", "--no-new-privs", "--"]
        assert not any("docker.sock" in str(m.get("Source")) for m in c["Mounts"])
        limits = svc["Spec"]["TaskTemplate"]["Resources"]
        assert limits["Limits"] == {"NanoCPUs": 250_000_000, "MemoryBytes": 96 << 20, "Pids": 24}
        assert limits["Reservations"] == {"NanoCPUs": 250_000_000, "MemoryBytes": 96 << 20}

        task = rt.running_tasks(spec.name)[0]
        container = swarm.api.inspect_container(task["Status"]["ContainerStatus"]["ContainerID"])
        host = container["HostConfig"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and host["Init"] and not host["Privileged"]
        assert host["Memory"] == 96 << 20 and host["NanoCpus"] == 250_000_000 and host["PidsLimit"] == 24
        assert container["Config"]["User"] == "10001:10001"
        tmpfs = {m["Target"]: m["TmpfsOptions"]["SizeBytes"] for m in host["Mounts"] if m["Type"] == "tmpfs"}
        assert tmpfs == {"/tmp": 8 << 20}
        output = next(m for m in container["Mounts"] if m["Destination"] == "/output")
        assert output["Type"] == "volume" and output["Driver"] == "local"  # a tmpfs the replica's user owns
        networks = list(container["NetworkSettings"]["Networks"])
        assert networks == [f"switchboard-{namespace}-iso-swarm-test"]
        assert swarm.api.inspect_network(networks[0])["Internal"] is True
        # what runs inside: no new privileges for the server, read-only root, writable tmpfs
        assert _wait(lambda: "root-read-only" in rt.logs(spec.name)), rt.logs(spec.name)
        assert "nnp 1 uid 10001" in rt.logs(spec.name)
        assert _wait(lambda: "output-writable 0o700 10001" in rt.logs(spec.name)), rt.logs(spec.name)
        assert rt.stats(spec.name).memory_limit_bytes == 96 << 20

        checks = {c.item: c for c in rt.hardening(spec.name)}
        assert {item for item, c in checks.items() if not c.passed} == SWARM_EXPECTED_FAILURES, checks
        assert "setpriv" in checks["no-new-privileges"].detail
        assert "internal bridge" in checks["network isolated"].detail

        # the direct update: only the replica count changes, the running task is left alone
        before = swarm.api.inspect_service(spec.name, insert_defaults=False)
        first_task = task["ID"]
        version = rt.set_replicas(spec.name, 3)
        assert version > before["Version"]["Index"]  # the store's raft index: one update went in
        took_up = rt.wait_converged(spec.name, 3, timeout_s=60)
        after = swarm.api.inspect_service(spec.name, insert_defaults=False)
        assert after["Spec"]["Mode"] == {"Replicated": {"Replicas": 3}}
        assert _spec_without(after["Spec"], "Mode") == _spec_without(before["Spec"], "Mode")
        assert first_task in {t["ID"] for t in rt.running_tasks(spec.name)}
        rt.set_replicas(spec.name, 1)
        rt.wait_converged(spec.name, 1, timeout_s=60)
        down = swarm.api.inspect_service(spec.name, insert_defaults=False)
        assert down["Spec"] == before["Spec"] and down["Version"]["Index"] > after["Version"]["Index"]
        assert took_up < 30

        rt.stop(spec.name)
        assert rt.get(spec.name).status == "exited"
    finally:
        rt.remove(spec.name)
    assert not rt.list({NS_LABEL: namespace})
    rt.remove_network(f"switchboard-{namespace}-iso-swarm-test")
    rt.remove_volume(f"switchboard-{namespace}-data-swarm-test")
    assert not any(_leftovers(swarm, namespace).values())


def test_a_sandbox_gets_a_network_of_its_own_removed_with_it(swarm: Any, settings: Settings, namespace: str) -> None:
    rt = SwarmRuntime(settings)
    spec = _probe_spec(settings, namespace, volume=False)  # no /data volume: a program sandbox
    rt.run(spec)
    stop = threading.Event()
    seen: list[RuntimeEvent] = []

    def watch() -> None:
        seen.extend(e for e in rt.events(stop) if e.container == spec.name)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        nets = [n.name for n in swarm.networks.list(filters={"label": f"{NS_LABEL}={namespace}"})]
        assert nets == [f"{spec.name}-iso"]
        time.sleep(0.5)  # the event stream is open
        rt.kill(spec.name)
        assert _wait(lambda: rt.get(spec.name).status == "exited", 20)
        assert rt.get(spec.name).exit_code == 137
        # container events come named after the replica (the service), not the task container
        assert _wait(lambda: any(e.action == "die" for e in seen), 10), seen
        assert next(e for e in seen if e.action == "die").exit_code == 137
    finally:
        stop.set()
        rt.remove(spec.name)
        watcher.join(timeout=5)
    assert not any(_leftovers(swarm, namespace).values())


def test_a_task_runs_end_to_end_on_the_swarm(swarm: Any, settings: Settings, namespace: str) -> None:
    orch = Orchestrator(settings)  # runtime_backend="swarm" picks the SwarmRuntime
    assert isinstance(orch.runtime, SwarmRuntime)
    try:
        orch.start().result(timeout=300)
        view = orch.submit("select 2 + 3 as five", specialist="database").future.result(timeout=300)
        assert view.state == "succeeded", view.error
        assert "5" in view.answer
        name = orch.task(view.id).container
        assert name and name.startswith("sb-database-")
        assert swarm.services.get(name).attrs["Spec"]["Labels"][NS_LABEL] == namespace
        doc = orch.inspect(name)
        failed = {item["item"] for item in doc["hardening"] if not item["passed"]}
        assert failed == SWARM_EXPECTED_FAILURES, doc["hardening"]
        swarm_check = next(c for c in orch.doctor() if c.component == "swarm")
        assert swarm_check.ok and "1 node(s), 1 ready" in swarm_check.detail, swarm_check
        (node,) = orch.nodes()  # the Containers tab's view: this node, with the replica on it
        assert node.state == "ready" and node.replicas == {"database": 1}, node
        again = orch.submit("select 6 * 7 as answer", specialist="database").future.result(timeout=120)
        assert again.state == "succeeded" and "42" in again.answer
        assert orch.task(again.id).container == name  # the same replica served both
        # a restarted engine adopts or removes every replica service the last one left
        orch.close()
        left_running = SwarmRuntime(settings).list({NS_LABEL: namespace})
        assert [(i.name, i.status in ("running", "paused")) for i in left_running] == [(name, True)]
        orch = Orchestrator(settings)
        orch.start().result(timeout=300)
        owned = {c.name for c in orch.containers()}
        assert {i.name for i in SwarmRuntime(settings).list({NS_LABEL: namespace})} == owned
        third = orch.submit("select 1 + 1 as two", specialist="database").future.result(timeout=120)
        assert third.state == "succeeded" and "2" in third.answer
    finally:
        orch.close(remove_containers=True)
    left = _leftovers(swarm, namespace)
    assert not left["services"] and not left["containers"], left
    rt = SwarmRuntime(settings)  # the engine keeps a specialist's volume and network, like locally
    for net in left["networks"]:
        rt.remove_network(net)
    for vol in left["volumes"]:
        rt.remove_volume(vol)
    assert not any(_leftovers(swarm, namespace).values())
