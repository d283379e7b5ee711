"""The budget across nodes: a replica must fit on one ready, active node."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.errors import OverBudget
from app.engine.fleet.node_room import no_room_reason
from app.engine.runtime.swarm_nodes import NodeView
from tests.unit.fake_runtime import make_rig, make_spec


def _node(
    name: str, memory_mb: int, reserved_mb: int, cpus: float = 2.0, reserved_cpus: float = 0.0, **kw: str
) -> NodeView:
    return NodeView(
        id=name,
        name=name,
        role=kw.get("role", "worker"),
        state=kw.get("state", "ready"),
        availability=kw.get("availability", "active"),
        address="10.0.0.1",
        leader=False,
        cpus=cpus,
        memory_mb=memory_mb,
        reserved_cpus=reserved_cpus,
        reserved_memory_mb=reserved_mb,
        replicas={},
    )


def test_room_is_per_node_not_summed() -> None:
    views = [_node("a", 1024, 700), _node("b", 1024, 700)]  # 648 MB free in total, 324 MB on each
    reason = no_room_reason(views, "database", 512, 1.0)
    assert "no node has room for database (512 MB" in reason and "324 MB" in reason
    assert no_room_reason(views, "database", 256, 1.0) == ""


def test_down_or_drained_nodes_do_not_count() -> None:
    views = [_node("a", 4096, 0, state="down"), _node("b", 4096, 0, availability="drain"), _node("c", 1024, 900)]
    assert "no node has room" in no_room_reason(views, "ml", 512, 1.0)
    assert "no ready, active node" in no_room_reason(views[:2], "ml", 512, 1.0)


def test_cpus_count_too() -> None:
    assert "0.5 CPUs unreserved" in no_room_reason([_node("a", 4096, 0, cpus=2.0, reserved_cpus=1.5)], "ml", 256, 1.0)


def test_the_lifecycle_refuses_a_start_no_node_has_room_for(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(memory_mb=512, max_replicas=3)]) as r:
        assert r.lifecycle.channel is not None  # local sockets: the fake runtime has no gateway
        r.lifecycle.settings = r.settings.model_copy(update={"runtime_backend": "swarm", "swarm_multi_node": True})
        views = [_node("manager-1", 1024, 700), _node("worker-1", 1024, 800)]
        r.runtime.nodes = lambda namespace=None: views  # type: ignore[attr-defined]
        with pytest.raises(OverBudget, match=r"no node has room for echo \(512 MB"):
            r.lifecycle.start("echo")
        assert r.runtime.started == [] and "no node has room" in r.recorder.decisions("refuse_budget")[0].reason
        views.append(_node("worker-2", 2048, 0))
        assert r.lifecycle.start("echo").specialist == "echo", "a node with room: it starts"
