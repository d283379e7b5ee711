"""Task history as a table (state, task, specialist, duration, cost) with filters and search."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from widgets.format import fmt_cost, fmt_ms, state_colour

__all__ = ["TaskFilterProxy", "TaskList", "TaskTableModel"]

COLUMNS = ["State", "Task", "Specialist", "Duration", "Cost", "Started"]
TIPS = [
    "queued → routed → running → succeeded / failed / cancelled",
    "The task text as typed (hover a row for all of it)",
    "The specialist that ran (or will run) the task",
    "Wall time from dispatch to result",
    "Notional CPU + memory cost of the task",
    "When the task was submitted",
]
Index = QModelIndex | QPersistentModelIndex


class TaskTableModel(QAbstractTableModel):
    """Rows of plain dicts keyed by task id, in arrival order (the proxy sorts them)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return [
                f"● {row['state']}",
                row["text"].splitlines()[0] if row["text"] else "",
                row.get("specialist") or "–",
                fmt_ms(row.get("duration_ms")),
                fmt_cost(row.get("cost")),
                time.strftime("%H:%M:%S", time.localtime(row.get("created_at") or 0)),
            ][col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 0:
            return QColor(state_colour(row["state"]))
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = row["text"] or "(no text)"
            if row.get("error"):
                tip += f"\n\nError: {row['error']}"
            return tip
        if role == Qt.ItemDataRole.UserRole:  # sort key and filter value
            return [
                row["state"],
                row["text"],
                row.get("specialist") or "",
                row.get("duration_ms") or 0.0,
                row.get("cost") or 0.0,
                row.get("created_at") or 0.0,
            ][col]
        return None

    def upsert(self, **fields: Any) -> None:
        """Insert a task or update some of its fields (``id`` is required)."""
        self.upsert_many([fields])

    def upsert_many(self, items: Iterable[dict[str, Any]]) -> None:
        """Insert or update many tasks with one insert and one change notification.

        A burst of task events then re-sorts and repaints the view once, not once per event.
        ``None`` values leave a field as it was.
        """
        changed: list[int] = []
        new: list[dict[str, Any]] = []
        pending: dict[str, dict[str, Any]] = {}
        for fields in items:
            task_id = fields["id"]
            values = {k: v for k, v in fields.items() if v is not None}
            r = self._index.get(task_id)
            if r is not None:
                self._rows[r].update(values)
                changed.append(r)
            elif task_id in pending:
                pending[task_id].update(values)
            else:
                row = {
                    "state": "queued",
                    "text": "",
                    "specialist": None,
                    "duration_ms": None,
                    "cost": 0.0,
                    "created_at": time.time(),
                    "error": None,
                    **values,
                }
                pending[task_id] = row
                new.append(row)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1))
        if new:  # appended: the view sorts (newest first by default), so row order is free
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, row in enumerate(new):
                self._index[row["id"]] = first + offset
            self._rows.extend(new)
            self.endInsertRows()

    def task_id(self, row: int) -> str:
        """Task id of a source row."""
        return str(self._rows[row]["id"])

    def row_of(self, task_id: str) -> int | None:
        """Source row of a task id."""
        return self._index.get(task_id)

    def get(self, task_id: str) -> dict[str, Any] | None:
        """The row dict of a task."""
        r = self._index.get(task_id)
        return None if r is None else self._rows[r]


class TaskFilterProxy(QSortFilterProxyModel):
    """Filters by state, specialist and a case-insensitive text search; sorts by raw values."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.state = ""
        self.specialist = ""
        self.search = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, *, state: str | None = None, specialist: str | None = None, search: str | None = None) -> None:
        """Change any of the three filters."""
        self.beginFilterChange()
        if state is not None:
            self.state = state
        if specialist is not None:
            self.specialist = specialist
        if search is not None:
            self.search = search.lower()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        model = self.sourceModel()
        assert isinstance(model, TaskTableModel)
        row = model._rows[source_row]
        if self.state and row["state"] != self.state:
            return False
        if self.specialist and (row.get("specialist") or "") != self.specialist:
            return False
        if self.search:
            hay = f"{row['text']} {row.get('specialist') or ''} {row['id']} {row.get('error') or ''}"
            return self.search in hay.lower()
        return True


class TaskList(QWidget):
    """Filter bar + table of tasks."""

    sig_task_selected = Signal(str)
    """The user selected a task (its id)."""

    sig_filters_changed = Signal(dict)
    """Filters changed: {"state", "specialist", "search"} (for persistence)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TaskTableModel(self)
        self.proxy = TaskFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search tasks…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.state_box = QComboBox()
        self.state_box.addItem("All states", "")
        for state in ("queued", "running", "succeeded", "failed", "cancelled"):
            self.state_box.addItem(state, state)
        self.state_box.setToolTip("Show only tasks in this state")
        self.specialist_box = QComboBox()
        self.specialist_box.addItem("All specialists", "")
        self.specialist_box.setToolTip("Show only tasks of this specialist")
        bar.addWidget(self.search, 1)
        bar.addWidget(self.state_box)
        bar.addWidget(self.specialist_box)
        layout.addLayout(bar)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(48)
        header.setStretchLastSection(False)
        for col, width in ((0, 100), (2, 112), (3, 76), (4, 70), (5, 78)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the task text takes the rest
        layout.addWidget(self.table)
        self.search.textChanged.connect(lambda t: self._changed(search=t))
        self.state_box.currentIndexChanged.connect(lambda _: self._changed(state=self.state_box.currentData()))
        self.specialist_box.currentIndexChanged.connect(
            lambda _: self._changed(specialist=self.specialist_box.currentData())
        )
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

    def set_specialists(self, ids: list[str]) -> None:
        """Offer these specialists in the filter (keeps the current choice)."""
        current = self.specialist_box.currentData()
        self.specialist_box.blockSignals(True)
        self.specialist_box.clear()
        self.specialist_box.addItem("All specialists", "")
        for sid in ids:
            self.specialist_box.addItem(sid, sid)
        index = self.specialist_box.findData(current)
        self.specialist_box.setCurrentIndex(max(0, index))
        self.specialist_box.blockSignals(False)

    def filters(self) -> dict[str, str]:
        """Current filters as plain strings."""
        return {"state": self.proxy.state, "specialist": self.proxy.specialist, "search": self.search.text()}

    def set_filters(self, filters: dict[str, str]) -> None:
        """Restore filters saved by :meth:`filters`."""
        self.search.setText(filters.get("search", ""))
        for box, key in ((self.state_box, "state"), (self.specialist_box, "specialist")):
            index = box.findData(filters.get(key, ""))
            if index < 0 and filters.get(key):
                box.addItem(filters[key], filters[key])
                index = box.count() - 1
            box.setCurrentIndex(max(0, index))

    def select_task(self, task_id: str) -> None:
        """Select a task's row if it is visible."""
        row = self.model.row_of(task_id)
        if row is None:
            return
        proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
        if proxy_index.isValid():
            self.table.selectRow(proxy_index.row())

    def _changed(self, **kw: str) -> None:
        self.proxy.set_filter(**kw)
        self.sig_filters_changed.emit(self.filters())

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            source = self.proxy.mapToSource(current)
            self.sig_task_selected.emit(self.model.task_id(source.row()))
