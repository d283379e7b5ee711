"""Swarm service specs, task states, the Swarm hardening checklist and node views, without Docker."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.engine.core.errors import BadInput
from app.engine.runtime.hardening import ITEMS
from app.engine.runtime.protocol import LaunchSpec, Mount
from app.engine.runtime.swarm_hardening import evaluate_service
from app.engine.runtime.swarm_nodes import free_capacity, node_views
from app.engine.runtime.swarm_spec import (
    LABEL_BACKEND,
    NNP_WRAPPER,
    isolation_network,
    replicas_of,
    service_spec,
    task_state,
    with_replicas,
)

IMAGE = "sha256:" + "ab" * 32
LABELS = {
    "io.switchboard.managed": "true",
    "io.switchboard.specialist": "database",
    "io.switchboard.namespace": "t1",
    "io.switchboard.role": "specialist",
}


def launch(**changes: Any) -> LaunchSpec:
    fields: dict[str, Any] = {
        "name": "sb-database-0a1b2c3d",
        "image": "switchboard/database:abc",
        "labels": dict(LABELS),
        "env": {"SWITCHBOARD_SPECIALIST": "database"},
        "mounts": (
            Mount("/data/exchange/sb-database-0a1b2c3d/sock", "/run/switchboard"),
            Mount("/data/exchange/sb-database-0a1b2c3d/in", "/input", read_only=True),
            Mount("switchboard-t1-data-database", "/data", volume=True),
        ),
        "memory_mb": 256,
        "cpus": 0.5,
        "pids": 32,
        "tmpfs_mb": 64,
        "output_tmpfs_mb": 16,
    }
    fields.update(changes)
    return LaunchSpec(**fields)


def build(spec: LaunchSpec | None = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"image_id": IMAGE, "command": ["python", "-m", "srv"], "network": "net-iso"}
    args.update(kw)
    return service_spec(spec or launch(), **args)


def test_service_spec_carries_every_hardening_rule() -> None:
    body = build(constraints=["node.id==abc"])
    assert body["Name"] == "sb-database-0a1b2c3d"
    assert body["Mode"] == {"Replicated": {"Replicas": 1}}
    assert body["Labels"] == {**LABELS, LABEL_BACKEND: "swarm"}
    tt = body["TaskTemplate"]
    c = tt["ContainerSpec"]
    assert c["Image"] == IMAGE and c["Labels"] == body["Labels"]
    assert c["User"] == "10001:10001" and c["ReadOnly"] is True and c["Init"] is True
    assert c["CapabilityDrop"] == ["ALL"] and "CapabilityAdd" not in c and "Privileges" not in c
    assert tuple(c["Command"][:3]) == NNP_WRAPPER and c["Command"][3:] == ["python", "-m", "srv"]
    assert c["Env"] == ["SWITCHBOARD_SPECIALIST=database"]
    tmpfs = {m["Target"]: m["TmpfsOptions"] for m in c["Mounts"] if m["Type"] == "tmpfs"}
    assert tmpfs == {"/tmp": {"SizeBytes": 64 << 20, "Mode": 0o1777}}
    # /output: a tmpfs the replica's user owns (a tmpfs mount over the image's /output is root 0755)
    (output,) = [m for m in c["Mounts"] if m["Target"] == "/output"]
    assert output["Type"] == "volume" and "Source" not in output  # anonymous: goes with the task
    assert output["VolumeOptions"]["DriverConfig"] == {
        "Name": "local",
        "Options": {
            "type": "tmpfs",
            "device": "tmpfs",
            "o": "size=16m,uid=10001,gid=10001,mode=0700,nosuid,nodev,noexec",
        },
    }
    assert output["VolumeOptions"]["Labels"] == {**LABELS, "io.switchboard.output-of": "sb-database-0a1b2c3d"}
    binds = {m["Target"]: m for m in c["Mounts"] if m["Type"] != "tmpfs" and m["Target"] != "/output"}
    assert binds["/input"]["ReadOnly"] is True and binds["/input"]["Type"] == "bind"
    assert binds["/data"]["Type"] == "volume" and binds["/data"]["Source"] == "switchboard-t1-data-database"
    limits, reserve = tt["Resources"]["Limits"], tt["Resources"]["Reservations"]
    assert limits == {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20, "Pids": 32}
    assert reserve == {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20}
    assert tt["RestartPolicy"]["Condition"] == "none"
    assert tt["Placement"] == {"Constraints": ["node.id==abc"]}
    assert tt["Networks"] == [{"Target": "net-iso"}]
    assert "EndpointSpec" not in body


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"user": "0:0"}, "root"),
        ({"mounts": (Mount("/var/run", "/host-run"),)}, "Docker socket"),
        ({"network": "host"}, "shared"),
        ({"network": "net-x", "publish": {8080: 0}}, "every interface"),
        ({"memory_mb": 1}, "limits"),
    ],
)
def test_unsafe_specs_are_refused(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(BadInput, match=words):
        build(launch(**changes))


def test_image_must_be_an_id_and_command_present() -> None:
    with pytest.raises(BadInput, match="image id"):
        build(image_id="switchboard/database:abc")
    with pytest.raises(BadInput, match="no command"):
        build(command=[])


def test_aliases_go_on_the_network_attachment() -> None:
    body = build(launch(network="switchboard-t1-net-web", aliases=("sb-testsite",)), network="switchboard-t1-net-web")
    assert body["TaskTemplate"]["Networks"] == [{"Target": "switchboard-t1-net-web", "Aliases": ["sb-testsite"]}]


def test_isolation_networks_are_per_specialist_and_private_for_sandboxes() -> None:
    assert isolation_network(LABELS, "sb-database-1", private=False) == "switchboard-t1-iso-database"
    assert (
        isolation_network({**LABELS, "io.switchboard.namespace": "default"}, "x", private=False)
        == "switchboard-iso-database"
    )
    assert isolation_network(LABELS, "sb-database-1", private=True) == "sb-database-1-iso"


def test_with_replicas_changes_only_the_count() -> None:
    body = build()
    before = copy.deepcopy(body)
    changed = with_replicas(body, 4)
    assert body == before  # the input is not modified
    assert replicas_of(changed) == 4
    changed["Mode"] = before["Mode"]
    assert changed == before
    with pytest.raises(BadInput):
        with_replicas(body, -1)
    with pytest.raises(BadInput, match="not replicated"):
        with_replicas({"Name": "g", "Mode": {"Global": {}}}, 2)


def task(state: str, desired: str = "running", ts: str = "2026-01-01T00:00:01Z", **status: Any) -> dict[str, Any]:
    return {
        "DesiredState": desired,
        "NodeID": "n1",
        "Slot": 1,
        "Status": {
            "State": state,
            "Timestamp": ts,
            "ContainerStatus": {"ContainerID": "c1", "ExitCode": status.pop("code", 0)},
            **status,
        },
    }


@pytest.mark.parametrize(
    "tasks, desired, status, code",
    [
        ([], 1, "created", None),
        ([], 0, "exited", None),
        ([task("preparing")], 1, "created", None),
        ([task("running")], 1, "running", None),
        ([task("running", desired="shutdown")], 0, "removing", None),
        ([task("failed", code=137)], 1, "exited", 137),
        ([task("failed", code=0, Err="task: non-zero exit (3)")], 1, "exited", 3),
        ([task("complete")], 1, "exited", 0),
        ([task("rejected", Err="no such image")], 1, "dead", None),
        # the newest task wanted running wins over an older one that is shutting down
        (
            [
                task("shutdown", desired="shutdown", ts="2026-01-01T00:00:09Z"),
                task("running", ts="2026-01-01T00:00:02Z"),
            ],
            1,
            "running",
            None,
        ),
    ],
)
def test_task_state_maps_to_container_status(
    tasks: list[dict[str, Any]], desired: int, status: str, code: int | None
) -> None:
    state = task_state(tasks, desired)
    assert state.status == status
    assert state.exit_code == code


def container_attrs(body: dict[str, Any]) -> dict[str, Any]:
    """What ``docker inspect`` shows for a task container made from ``body`` (as seen on 20.10)."""
    c = body["TaskTemplate"]["ContainerSpec"]
    limits = body["TaskTemplate"]["Resources"]["Limits"]
    return {
        "Config": {"User": c["User"], "Labels": c["Labels"]},
        "HostConfig": {
            "ReadonlyRootfs": True,
            "Tmpfs": None,
            "CapDrop": ["ALL"],
            "CapAdd": None,
            "SecurityOpt": None,
            "Memory": limits["MemoryBytes"],
            "MemorySwap": 2 * limits["MemoryBytes"],
            "NanoCpus": limits["NanoCPUs"],
            "PidsLimit": limits["Pids"],
            "Privileged": False,
            "NetworkMode": "default",
            "Init": True,
            "Mounts": c["Mounts"],
        },
        "Mounts": [{"Type": m["Type"], "Source": m.get("Source", "")} for m in c["Mounts"] if m["Type"] != "tmpfs"],
    }


def test_swarm_checklist_says_what_swarm_cannot_do() -> None:
    body = build()
    checks = evaluate_service(body, container_attrs(body), networks={"net-iso": True}, host_swap_bytes=0)
    assert [c.item for c in checks] == list(ITEMS)
    by = {c.item: c for c in checks}
    failed = {c.item for c in checks if not c.passed}
    assert failed == {"no-new-privileges", "memory limit", "network isolated"}
    assert "setpriv --no-new-privs" in by["no-new-privileges"].detail
    assert "no swap" in by["memory limit"].detail
    assert "host's own addresses are reachable" in by["network isolated"].detail
    assert "/tmp (size=64m,mode=1777)" in by["bounded tmpfs"].detail
    assert "/output (size=16m,uid=10001" in by["bounded tmpfs"].detail
    # a specialist's own user network counts as isolated, as locally
    user_net = evaluate_service(body, container_attrs(body), networks={"switchboard-t1-net-web": False})
    assert next(c for c in user_net if c.item == "network isolated").passed


def test_checklist_from_the_spec_alone_says_so_and_catches_regressions() -> None:
    body = build()
    bad = copy.deepcopy(body)
    c = bad["TaskTemplate"]["ContainerSpec"]
    c["Command"] = ["python", "-m", "srv"]
    c["ReadOnly"] = False
    c["CapabilityDrop"] = []
    bad["EndpointSpec"] = {"Ports": [{"TargetPort": 80, "PublishedPort": 8080}]}
    checks = {ch.item: ch for ch in evaluate_service(bad, None, networks={})}
    assert all("from the service spec" in ch.detail for ch in checks.values())
    for item in (
        "read-only root filesystem",
        "all capabilities dropped",
        "no-new-privileges",
        "network isolated",
        "ports on 127.0.0.1 only",
    ):
        assert not checks[item].passed, item
    assert "no compensation" in checks["no-new-privileges"].detail
    assert checks["pids limit"].passed and checks["non-root user"].passed


def test_node_views_count_our_running_replicas_and_reservations() -> None:
    nodes = [
        {
            "ID": "n1",
            "Spec": {"Role": "manager", "Availability": "active"},
            "Status": {"State": "ready", "Addr": "127.0.0.1"},
            "ManagerStatus": {"Leader": True},
            "Description": {"Hostname": "vm", "Resources": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 4 << 30}},
        },
        {
            "ID": "n2",
            "Spec": {"Role": "worker", "Availability": "drain"},
            "Status": {"State": "down"},
            "Description": {"Hostname": "w1", "Resources": {"NanoCPUs": 4_000_000_000, "MemoryBytes": 8 << 30}},
        },
    ]
    services = [
        {"ID": "s1", "Spec": {"Labels": {**LABELS}}},
        {"ID": "s2", "Spec": {"Labels": {**LABELS, "io.switchboard.namespace": "other"}}},
        {"ID": "s3", "Spec": {"Labels": {}}},
    ]
    reserve = {"Resources": {"Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20}}}
    tasks = [
        {"ServiceID": "s1", "NodeID": "n1", "DesiredState": "running", "Status": {"State": "running"}, "Spec": reserve},
        {
            "ServiceID": "s1",
            "NodeID": "n1",
            "DesiredState": "shutdown",
            "Status": {"State": "running"},
            "Spec": reserve,
        },
        {"ServiceID": "s2", "NodeID": "n1", "DesiredState": "running", "Status": {"State": "running"}, "Spec": reserve},
        {"ServiceID": "s3", "NodeID": "n1", "DesiredState": "running", "Status": {"State": "running"}, "Spec": reserve},
    ]
    views = node_views(nodes, services, tasks, namespace="t1")
    assert [v.name for v in views] == ["vm", "w1"]
    vm, w1 = views
    assert vm.replicas == {"database": 1} and vm.reserved_memory_mb == 256 and vm.reserved_cpus == 0.5
    assert vm.leader and vm.state == "ready" and vm.cpus == 2.0 and vm.memory_mb == 4096
    assert w1.replicas == {} and w1.state == "down" and w1.availability == "drain"
    assert free_capacity(views) == (1.5, 4096 - 256)  # the drained, down node offers nothing
    everyone = node_views(nodes, services, tasks)
    assert everyone[0].replicas == {"database": 2}
