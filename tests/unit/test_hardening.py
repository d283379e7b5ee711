"""The hardening checklist on inspect-shaped dicts, and the launch refusals."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.engine.core.errors import BadInput
from app.engine.runtime.docker_launch import launch_kwargs, port_binding
from app.engine.runtime.hardening import ITEMS, evaluate, exposes_docker_socket
from app.engine.runtime.protocol import LaunchSpec, Mount


def good_attrs() -> dict[str, Any]:
    """What ``docker inspect`` shows for a container the engine started."""
    return {
        "Id": "abc",
        "Config": {"User": "10001:10001", "Labels": {"io.switchboard.managed": "true"}},
        "HostConfig": {
            "ReadonlyRootfs": True,
            "Tmpfs": {"/tmp": "size=64m,mode=1777"},
            "CapDrop": ["ALL"],
            "CapAdd": None,
            "SecurityOpt": ["no-new-privileges:true"],
            "Memory": 512 * 2**20,
            "MemorySwap": 512 * 2**20,
            "NanoCpus": 1_000_000_000,
            "CpuQuota": 0,
            "CpuPeriod": 0,
            "PidsLimit": 64,
            "Privileged": False,
            "NetworkMode": "switchboard-net-web-scraping",
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]},
            "Binds": None,
            "Init": True,
        },
        "Mounts": [
            {"Type": "bind", "Source": "/srv/exchange/sb-x/sock", "Destination": "/run/switchboard"},
            {
                "Type": "volume",
                "Name": "switchboard-data-x",
                "Source": "/var/lib/docker/volumes/x/_data",
                "Destination": "/data",
            },
        ],
        "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}},
    }


def _host(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(attrs: dict[str, Any]) -> None:
        attrs["HostConfig"].update(changes)

    return apply


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(attrs: dict[str, Any]) -> None:
        target = attrs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return apply


BAD_VARIANTS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("non-root user", _set(("Config", "User"), "")),
    ("non-root user", _set(("Config", "User"), "0:0")),
    ("non-root user", _set(("Config", "User"), "root")),
    ("read-only root filesystem", _host(ReadonlyRootfs=False)),
    ("bounded tmpfs", _host(Tmpfs={})),
    ("bounded tmpfs", _host(Tmpfs={"/tmp": "mode=1777"})),
    ("all capabilities dropped", _host(CapDrop=["NET_RAW"])),
    ("all capabilities dropped", _host(CapAdd=["SYS_ADMIN"])),
    ("no-new-privileges", _host(SecurityOpt=None)),
    ("memory limit", _host(Memory=0, MemorySwap=0)),
    ("memory limit", _host(MemorySwap=1024 * 2**20)),
    ("cpu limit", _host(NanoCpus=0)),
    ("pids limit", _host(PidsLimit=None)),
    ("pids limit", _host(PidsLimit=-1)),
    ("not privileged", _host(Privileged=True)),
    ("network isolated", _host(NetworkMode="host")),
    ("network isolated", _host(NetworkMode="default")),
    ("network isolated", _host(NetworkMode="bridge")),
    ("network isolated", _host(NetworkMode="container:other")),
    ("ports on 127.0.0.1 only", _host(PortBindings={"8080/tcp": [{"HostIp": "", "HostPort": "8080"}]})),
    ("ports on 127.0.0.1 only", _host(PortBindings={"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})),
    (
        "ports on 127.0.0.1 only",
        _set(("NetworkSettings", "Ports"), {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}]}),
    ),
    ("ports on 127.0.0.1 only", _host(PublishAllPorts=True)),
    ("docker socket not mounted", _host(Binds=["/var/run/docker.sock:/var/run/docker.sock"])),
    ("docker socket not mounted", _host(Binds=["/var/run:/host-run:ro"])),
    (
        "docker socket not mounted",
        _set(("Mounts",), [{"Type": "bind", "Source": "/run/docker.sock", "Destination": "/x"}]),
    ),
    ("docker socket not mounted", _set(("Mounts",), [{"Type": "bind", "Source": "/", "Destination": "/host"}])),
    ("init process", _host(Init=None)),
]


def test_good_container_passes_every_item() -> None:
    checks = evaluate(good_attrs())
    assert [c.item for c in checks] == list(ITEMS)
    failed = [c for c in checks if not c.passed]
    assert failed == []
    assert all(c.detail for c in checks)


def test_network_none_and_cpu_quota_pass() -> None:
    attrs = good_attrs()
    attrs["HostConfig"].update(NetworkMode="none", NanoCpus=0, CpuQuota=50_000, CpuPeriod=100_000, PortBindings={})
    attrs["NetworkSettings"]["Ports"] = {}
    assert all(c.passed for c in evaluate(attrs))


@pytest.mark.parametrize(("item", "mutate"), BAD_VARIANTS, ids=[f"{i}-{n}" for n, (i, _) in enumerate(BAD_VARIANTS)])
def test_each_bad_variant_fails_exactly_its_item(item: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    attrs = copy.deepcopy(good_attrs())
    mutate(attrs)
    failed = [c.item for c in evaluate(attrs) if not c.passed]
    assert failed == [item]


def test_empty_attrs_fail_safe() -> None:
    failed = {c.item for c in evaluate({}) if not c.passed}
    # Nothing known = nothing proven; only "not privileged", ports, socket and an unset
    # network mode can't be shown to be wrong, and "default" network is wrong.
    assert failed == set(ITEMS) - {"not privileged", "ports on 127.0.0.1 only", "docker socket not mounted"}


@pytest.mark.parametrize(
    ("source", "exposed"),
    [
        ("/var/run/docker.sock", True),
        ("/var/run", True),
        ("/run/", True),
        ("/", True),
        ("/home/u/proj/docker.sock", True),
        ("/srv/exchange/sb-x/sock", False),
        ("/var/lib/switchboard", False),
        ("", False),
    ],
)
def test_exposes_docker_socket(source: str, exposed: bool) -> None:
    assert exposes_docker_socket(source) is exposed


def _spec(**changes: Any) -> LaunchSpec:
    base: dict[str, Any] = {
        "name": "sb-numerical-0123abcd",
        "image": "switchboard/numerical:0123456789ab",
        "labels": {"io.switchboard.managed": "true"},
    }
    base.update(changes)
    return LaunchSpec(**base)


def test_launch_kwargs_apply_every_rule() -> None:
    kwargs = launch_kwargs(
        _spec(memory_mb=256, cpus=0.5, pids=32, tmpfs_mb=16, mounts=(Mount("/srv/x/sock", "/run/switchboard"),))
    )
    assert kwargs["user"] == "10001:10001"
    assert kwargs["read_only"] is True
    assert kwargs["tmpfs"] == {"/tmp": "size=16m,mode=1777"}
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["security_opt"] == ["no-new-privileges:true"]
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == "256m"
    assert kwargs["nano_cpus"] == 500_000_000
    assert kwargs["pids_limit"] == 32
    assert kwargs["init"] is True
    assert kwargs["privileged"] is False
    assert kwargs["network_mode"] == "none"
    assert "ports" not in kwargs and "network" not in kwargs
    assert [dict(m) for m in kwargs["mounts"]][0]["Source"] == "/srv/x/sock"


def test_launch_kwargs_ports_on_loopback_with_user_network() -> None:
    kwargs = launch_kwargs(_spec(network="switchboard-net-web", publish={8080: 0, 9000: 19000}))
    assert kwargs["network"] == "switchboard-net-web"
    assert "network_mode" not in kwargs
    assert kwargs["ports"] == {"8080/tcp": ("127.0.0.1",), "9000/tcp": ("127.0.0.1", 19000)}


@pytest.mark.parametrize(
    "changes",
    [
        {"mounts": (Mount("/var/run/docker.sock", "/var/run/docker.sock"),)},
        {"mounts": (Mount("/var/run", "/hostrun", read_only=True),)},
        {"mounts": (Mount("/srv/x", "/run/docker.sock"),)},
        {"network": "net", "publish": {8080: ("0.0.0.0", 8080)}},
        {"network": "net", "publish": {8080: ("", 8080)}},
        {"network": "net", "publish": {8080: "8080"}},
        {"publish": {8080: 0}},  # no network: nothing could be served
        {"network": "host"},
        {"network": "bridge"},
        {"user": "0:0"},
        {"user": "root"},
        {"name": "bad name!"},
        {"image": ""},
        {"memory_mb": 0},
    ],
)
def test_launch_refuses_unsafe_specs(changes: dict[str, Any]) -> None:
    with pytest.raises(BadInput):
        launch_kwargs(_spec(**changes))


def test_port_binding_accepts_loopback_tuple() -> None:
    assert port_binding(80, ("127.0.0.1", 8081)) == ("80/tcp", ("127.0.0.1", 8081))
    with pytest.raises(BadInput):
        port_binding(0, 80)
