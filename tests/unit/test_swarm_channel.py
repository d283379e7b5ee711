"""The multi-node channel's pure parts: specs for replicas on any node and the gateway, the retry rule."""

from __future__ import annotations

import pytest

from app.engine.core.errors import EngineError
from app.engine.runtime.protocol import LaunchSpec, Mount
from app.engine.runtime.swarm_channel import (
    REPLICA_SOCKET,
    channel_network_name,
    channel_service_spec,
    gateway_service_name,
    gateway_service_spec,
    program_source,
)
from app.engine.runtime.swarm_failover import retry_once_elsewhere
from app.engine.runtime.swarm_spec import NNP_WRAPPER, service_spec

IMAGE_ID = "sha256:" + "a" * 64


def _body() -> dict[str, object]:
    spec = LaunchSpec(
        name="sb-database-1234",
        image="switchboard/database:x",
        labels={"io.switchboard.namespace": "t1", "io.switchboard.specialist": "database"},
        env={"SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock"},
        mounts=(
            Mount("/host/ex/sock", "/run/switchboard"),
            Mount("/host/ex/in", "/input", read_only=True),
            Mount("switchboard-t1-data-database", "/data", volume=True),
        ),
    )
    return service_spec(
        spec,
        image_id=IMAGE_ID,
        command=["python", "-m", "switchboard_runtime"],
        network="switchboard-t1-iso-database",
        constraints=["node.id==abc"],
    )


def test_a_replica_for_any_node_has_no_host_folder_and_joins_the_channel() -> None:
    body = _body()
    out = channel_service_spec(body, channel="switchboard-t1-channel", subnet="10.210.3.0/24")
    template = out["TaskTemplate"]
    container = template["ContainerSpec"]
    assert template["Placement"] == {"Preferences": [{"Spread": {"SpreadDescriptor": "node.id"}}]}
    assert template["Networks"] == [{"Target": "switchboard-t1-channel"}]
    assert out["EndpointSpec"] == {"Mode": "dnsrr"}
    assert not [m for m in container["Mounts"] if m["Type"] == "bind"]
    assert {m["Target"] for m in container["Mounts"]} == {"/tmp", "/run/switchboard", "/input", "/data"}
    assert container["Command"][:5] == [*NNP_WRAPPER, "python3", "-c"]
    assert container["Command"][5] == program_source("channel_relay")
    assert container["Command"][6:] == ["python", "-m", "switchboard_runtime"]
    assert f"SWITCHBOARD_SOCKET={REPLICA_SOCKET}" in container["Env"]
    assert "SWITCHBOARD_CHANNEL_SUBNET=10.210.3.0/24" in container["Env"]
    assert sum(e.startswith("SWITCHBOARD_SOCKET=") for e in container["Env"]) == 1
    # the hardening and the budget stay as they were
    same = ("User", "ReadOnly", "Init", "CapabilityDrop", "Labels")
    assert {k: container[k] for k in same} == {k: body["TaskTemplate"]["ContainerSpec"][k] for k in same}  # type: ignore[index]
    assert template["Resources"] == body["TaskTemplate"]["Resources"]  # type: ignore[index]
    assert body["TaskTemplate"]["Placement"] == {"Constraints": ["node.id==abc"]}  # type: ignore[index]  # not mutated


def test_a_replica_with_a_network_of_its_own_keeps_it_and_joins_the_channel_too() -> None:
    body = _body()
    body["TaskTemplate"]["Networks"] = [{"Target": "switchboard-t1-net-web"}]  # type: ignore[index]
    out = channel_service_spec(
        body, channel="switchboard-t1-channel", subnet="10.210.3.0/24", keep_network="switchboard-t1-net-web"
    )
    assert out["TaskTemplate"]["Networks"] == [
        {"Target": "switchboard-t1-net-web"},
        {"Target": "switchboard-t1-channel"},
    ]


def test_the_gateway_is_hardened_and_pinned_to_the_engines_node() -> None:
    body = gateway_service_spec(
        namespace="t1", image_id=IMAGE_ID, channel="switchboard-t1-channel", socket_dir="/d/gateway", node_id="abc"
    )
    assert body["Name"] == gateway_service_name("t1") == "switchboard-t1-gateway"
    assert channel_network_name("default") == "switchboard-channel"
    container = body["TaskTemplate"]["ContainerSpec"]
    assert container["User"] == "10001:10001" and container["ReadOnly"] and container["CapabilityDrop"] == ["ALL"]
    assert container["Command"][:3] == list(NNP_WRAPPER)
    assert body["TaskTemplate"]["Placement"] == {"Constraints": ["node.id==abc"]}
    assert body["TaskTemplate"]["Networks"] == [{"Target": "switchboard-t1-channel"}]
    binds = [m for m in container["Mounts"] if m["Type"] == "bind"]
    assert binds == [{"Type": "bind", "Source": "/d/gateway", "Target": "/run/gateway"}]
    assert body["Labels"]["io.switchboard.role"] == "gateway"  # never taken for a replica by the lifecycle


class _Runtime:
    def __init__(self, lost: bool) -> None:
        self.lost = lost

    def replica_lost(self, name: str) -> bool:
        return self.lost


def test_a_call_is_retried_once_elsewhere_only_when_the_replicas_node_is_lost() -> None:
    calls: list[str] = []

    def call(name: str) -> str:
        calls.append(name)
        if name == "r1":
            raise EngineError("connection lost")
        return f"answer from {name}"

    assert retry_once_elsewhere(_Runtime(lost=True), "r1", call, lambda n: "r2") == ("answer from r2", "r2")
    assert calls == ["r1", "r2"]
    calls.clear()
    with pytest.raises(EngineError, match="connection lost"):
        retry_once_elsewhere(_Runtime(lost=False), "r1", call, lambda n: "r2")
    assert calls == ["r1"]  # the replica's own failure: not retried
    with pytest.raises(EngineError, match="failed too"):
        retry_once_elsewhere(_Runtime(lost=True), "r1", call, lambda n: "r1")
