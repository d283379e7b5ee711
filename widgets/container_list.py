"""Our containers as a table (name, specialist, status, CPU, memory, pids, in flight)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from widgets.format import fmt_bytes, state_colour

__all__ = ["ContainerList"]

COLUMNS = [
    ("Container", "Docker name: sb-<specialist>-<8 hex>"),
    ("Specialist", "Which specialist this container serves"),
    ("Status", "Docker state of the container"),
    ("CPU", "CPU use, 100 % = one core (last sample)"),
    ("Memory", "Resident memory / limit (last sample)"),
    ("PIDs", "Processes and threads in the container"),
    ("In flight", "Tasks running in this container now"),
]


class ContainerList(QTableWidget):
    """Rows keyed by container name; stats update cells in place."""

    sig_container_selected = Signal(str)
    """The user selected a container (its name)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            self.horizontalHeaderItem(i).setToolTip(tip)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 120), (2, 80), (3, 70), (4, 150), (5, 50), (6, 70)):
            self.setColumnWidth(col, width)
        self._rows: dict[str, int] = {}
        self.itemSelectionChanged.connect(self._on_selection_changed)

    def set_containers(self, views: list[Any]) -> None:
        """Show ContainerView-like objects; the same containers are updated in place."""
        ordered = sorted(views, key=lambda v: (v.specialist, v.name))
        if [v.name for v in ordered] == list(self._rows):
            for view in ordered:  # periodic refresh: no rows rebuilt, selection untouched
                self.update_status(view.name, view.status)
                row = self._rows[view.name]
                if self.item(row, 6).text() != str(view.inflight):
                    self.item(row, 6).setText(str(view.inflight))
            return
        selected = self.selected()
        self.blockSignals(True)
        self.setRowCount(0)
        self._rows = {}
        for view in ordered:
            row = self.rowCount()
            self.insertRow(row)
            self._rows[view.name] = row
            for col, text in enumerate([view.name, view.specialist, view.status, "–", "–", "–", str(view.inflight)]):
                self.setItem(row, col, QTableWidgetItem(text))
            self._colour_status(row, view.status)
            if view.cpu_percent is not None:
                self.update_stats(
                    view.name, view.cpu_percent, view.memory_bytes or 0, view.memory_limit_bytes or 0, view.pids or 0
                )
        if selected in self._rows:
            self.selectRow(self._rows[selected])
        self.blockSignals(False)

    def _colour_status(self, row: int, status: str) -> None:
        item = self.item(row, 2)
        item.setForeground(QColor(state_colour(status)))

    def update_stats(self, name: str, cpu: float, mem: int, limit: int, pids: int) -> None:
        """Show one stats sample for a container (ignored if the row is unknown)."""
        row = self._rows.get(name)
        if row is None:
            return
        self.item(row, 3).setText(f"{cpu:.1f} %")
        self.item(row, 4).setText(f"{fmt_bytes(mem)} / {fmt_bytes(limit)}" if limit else fmt_bytes(mem))
        self.item(row, 5).setText(str(pids))

    def update_status(self, name: str, status: str) -> None:
        """Show a container state change."""
        row = self._rows.get(name)
        if row is not None and self.item(row, 2).text() != status:
            self.item(row, 2).setText(status)
            self._colour_status(row, status)

    def names(self) -> list[str]:
        """Container names shown."""
        return list(self._rows)

    def selected(self) -> str:
        """Name of the selected container, or ""."""
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        if not rows:
            return ""
        item = self.item(rows[0].row(), 0)
        return item.text() if item else ""

    def _on_selection_changed(self) -> None:
        name = self.selected()
        if name:
            self.sig_container_selected.emit(name)
