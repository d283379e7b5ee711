"""Swarm nodes as a table: name, role, state, CPUs and memory reserved/total, replicas per specialist.

Shown in the Containers tab when the backend is a swarm; the UI layer hands it the facade's
``nodes()`` (plain ``NodeView``-like objects) and hides it when there are none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from widgets.format import state_colour

__all__ = ["NodeList", "node_cells"]

COLUMNS = [
    ("Node", "The node's hostname"),
    ("Role", "Swarm role: manager (leader) or worker"),
    ("State", "As the manager sees it: ready, down (lost) or unknown; and drain/pause when not active"),
    ("CPUs", "CPUs reserved by this engine's replicas / the node's CPUs"),
    ("Memory", "Memory reserved by this engine's replicas / the node's memory, MiB"),
    ("Replicas", "This engine's running replicas on the node, per specialist"),
]


def node_cells(node: Any) -> list[str]:
    """The row of one ``NodeView``-like object, as text."""
    role = node.role + (" (leader)" if node.leader else "")
    state = node.state if node.availability in ("active", "") else f"{node.state}, {node.availability}"
    replicas = ", ".join(f"{sid} {n}" for sid, n in sorted(node.replicas.items())) or "–"
    return [
        node.name,
        role,
        state,
        f"{node.reserved_cpus:g} / {node.cpus:g}",
        f"{node.reserved_memory_mb:,} / {node.memory_mb:,} MiB",
        replicas,
    ]


class NodeList(QTableWidget):
    """One row per node, rebuilt when the nodes or their numbers change (a few rows at most)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a read-out, nothing to select
        for col, width in ((0, 140), (1, 140), (2, 100), (3, 80), (4, 170)):
            self.setColumnWidth(col, width)
        self._shown: list[list[str]] = []

    def set_nodes(self, nodes: Sequence[Any]) -> None:
        """Show ``NodeView``-like objects (name, role, leader, state, availability, CPUs, memory, replicas)."""
        rows = [node_cells(n) for n in nodes]
        if rows == self._shown:
            return
        self._shown = rows
        self.setRowCount(len(rows))
        for row, (node, cells) in enumerate(zip(nodes, rows, strict=True)):
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setForeground(QColor(state_colour("running" if node.state == "ready" else node.state)))
                self.setItem(row, col, item)
        height = self.horizontalHeader().height() + 24 * len(rows) + 2 * self.frameWidth()
        self.setFixedHeight(min(height, 24 * 6 + self.horizontalHeader().height()))

    def rows(self) -> list[list[str]]:
        """The text shown, row by row (for tests and copy)."""
        return [list(r) for r in self._shown]
