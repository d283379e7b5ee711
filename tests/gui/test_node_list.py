"""The swarm node table of the Containers tab (``widgets/node_list.py``), fed plain views."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor

from app.engine.core.views import NodeView
from widgets.format import state_colour
from widgets.node_list import NodeList


def _nodes() -> list[NodeView]:
    return [
        NodeView(
            id="a",
            name="node-a",
            role="manager",
            state="ready",
            availability="active",
            address="10.0.0.1",
            leader=True,
            cpus=8.0,
            memory_mb=32000,
            reserved_cpus=1.5,
            reserved_memory_mb=640,
            replicas={"numerical": 1, "database": 2},
        ),
        NodeView(
            id="b",
            name="node-b",
            role="worker",
            state="ready",
            availability="active",
            address="10.0.0.2",
            leader=False,
            cpus=4.0,
            memory_mb=16000,
            reserved_cpus=1.0,
            reserved_memory_mb=256,
            replicas={"database": 1},
        ),
        NodeView(
            id="c",
            name="node-c",
            role="worker",
            state="down",
            availability="active",
            address="10.0.0.3",
            leader=False,
            cpus=4.0,
            memory_mb=16000,
        ),
    ]


def test_nodes_show_role_state_capacity_and_replicas(qtbot, tmp_path: Path) -> None:
    table = NodeList()
    qtbot.addWidget(table)
    table.resize(820, 140)
    table.set_nodes(_nodes())
    table.show()
    qtbot.waitExposed(table)
    assert table.rows() == [
        ["node-a", "manager (leader)", "ready", "1.5 / 8", "640 / 32,000 MiB", "database 2, numerical 1"],
        ["node-b", "worker", "ready", "1 / 4", "256 / 16,000 MiB", "database 1"],
        ["node-c", "worker", "down", "0 / 4", "0 / 16,000 MiB", "–"],
    ]
    assert table.item(2, 2).foreground().color() == QColor(state_colour("down"))  # a lost node in red
    assert table.item(0, 2).foreground().color() == QColor(state_colour("running"))
    # the same nodes again change nothing; a node whose replica went changes its row
    table.set_nodes(_nodes())
    moved = _nodes()
    moved[1] = NodeView(**{**moved[1].__dict__, "replicas": {}, "reserved_cpus": 0.0, "reserved_memory_mb": 0})
    table.set_nodes(moved)
    assert table.rows()[1][3:] == ["0 / 4", "0 / 16,000 MiB", "–"]
    assert table.rowCount() == 3
    assert table.grab().save(str(tmp_path / "nodes.png"))
