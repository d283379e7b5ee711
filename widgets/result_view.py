"""What a task returned: answer, sortable tables, images, the code/SQL that ran, logs, errors.

Feedback buttons emit :attr:`ResultView.sig_feedback_given`; "wrong specialist" asks which
specialist should have answered and emits :attr:`ResultView.sig_rerun_requested`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.answer_view import AnswerView
from widgets.format import fmt_cost, fmt_ms, state_colour

__all__ = ["ROUTER_TIPS", "ResultView", "route_text"]

MAX_TABLE_ROWS = 5000

# How each router value reads in the result header, and what it means.
ROUTER_TIPS = {
    "explicit": "You picked this specialist (card drop or “change”), so no router ran.",
    "override": "Re-run on the specialist you named after “wrong specialist”.",
    "fast": "The fast embedded router chose it.",
    "guard": "The fast router chose it; a safety guard checked the text first.",
    "llm": "The local Ollama model chose it (the fast router was unsure).",
    "fallback": "The fast router's choice, used because the Ollama router did not answer.",
}


def route_text(router: str | None, confidence: float | None) -> str:
    """``chosen by you`` for explicit picks, else ``fast router 0.93``; "" when unknown."""
    if not router:
        return ""
    if router == "explicit":
        return "chosen by you"
    if router == "override":
        return "re-run where you said"
    name = "fast" if router == "guard" else router
    conf = f" {confidence:.2f}" if confidence is not None else ""
    return f"{name} router{conf}"


class _SortItem(QTableWidgetItem):
    """Numbers sort as numbers, everything else as text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a < b
        return str(a) < str(b)


def _mono() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class ResultView(QFrame):
    """Render one TaskView-like object; emit feedback and re-run requests."""

    sig_feedback_given = Signal(str, str)
    """Feedback on a task: (task id, "correct" | "bad_answer")."""

    sig_rerun_requested = Signal(str, str)
    """The answer came from the wrong specialist: (task id, specialist to re-run on)."""

    sig_cancel_requested = Signal(str)
    """The user wants a queued or running task stopped: (task id)."""

    sig_program_run_requested = Signal(str, str)
    """Run the task again with its program as edited in the Operation tab: (task id, program)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultView")
        self.task_id = ""
        self._specialists: list[tuple[str, str]] = []
        self._current_specialist = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)

        head = QHBoxLayout()
        self.state_label = QLabel("")
        self.state_label.setObjectName("pill")
        self.meta_label = QLabel("Select a task to see its result.")
        self.meta_label.setObjectName("muted")
        self.meta_label.setToolTip("Specialist · router and confidence · duration · cost")
        self.meta_label.setWordWrap(True)  # wraps instead of forcing the pane wider
        self.meta_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head.addWidget(self.state_label, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.meta_label, 1)
        layout.addLayout(head)

        self.task_label = QLabel("")
        self.task_label.setObjectName("taskText")
        self.task_label.setWordWrap(True)
        self.task_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.task_label)
        self.answer_label = AnswerView()
        self.answer_label.setToolTip("What the specialist answered (select to copy)")
        layout.addWidget(self.answer_label)
        self.error_label = QLabel("")
        self.error_label.setObjectName("errorBox")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tables_host = QWidget()
        self.tables_layout = QVBoxLayout(self.tables_host)
        self.tables_layout.setContentsMargins(0, 4, 0, 0)
        self.images_scroll = QScrollArea()
        self.images_scroll.setWidgetResizable(True)
        self.images_host = QWidget()
        self.images_layout = QVBoxLayout(self.images_host)
        self.images_scroll.setWidget(self.images_host)
        self.operation_edit = QPlainTextEdit()
        self.operation_edit.setReadOnly(True)
        self.operation_edit.setFont(_mono())
        self.operation_host = QWidget()
        op_layout = QVBoxLayout(self.operation_host)
        op_layout.setContentsMargins(0, 4, 0, 0)
        op_layout.addWidget(self.operation_edit, 1)
        op_row = QHBoxLayout()
        self.program_hint = QLabel("The model wrote this program; edit it and run it again in a fresh sandbox.")
        self.program_hint.setObjectName("muted")
        self.program_hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.run_program_button = QPushButton("▶ Run edited program")
        self.run_program_button.setToolTip(
            "A new task with the same text and files runs this program as written (no model)"
        )
        self.run_program_button.clicked.connect(self._on_run_program)
        op_row.addWidget(self.program_hint, 1)
        op_row.addWidget(self.run_program_button)
        op_layout.addLayout(op_row)
        self.program_hint.hide()
        self.run_program_button.hide()
        self.logs_edit = QPlainTextEdit()
        self.logs_edit.setReadOnly(True)
        self.logs_edit.setFont(_mono())
        self.tabs.addTab(self.tables_host, "Tables")
        self.tabs.addTab(self.images_scroll, "Images")
        self.tabs.addTab(self.operation_host, "Operation")
        self.tabs.addTab(self.logs_edit, "Logs")
        layout.addWidget(self.tabs, 1)

        feedback = QHBoxLayout()
        label = QLabel("Was this right?")
        label.setObjectName("muted")
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # first to go
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        feedback.addWidget(label, 1)
        self.correct_button = QPushButton("✓ Correct")
        self.correct_button.setToolTip("Store positive feedback: it teaches the router (Ctrl+1)")
        self.wrong_button = QPushButton("Wrong specialist…")
        self.wrong_button.setToolTip("Pick the specialist that should have answered; it re-runs there")
        self.bad_button = QPushButton("✗ Bad answer")
        self.bad_button.setToolTip("Right specialist, wrong answer: counts against accuracy")
        self.cancel_button = QPushButton("■ Cancel task")
        self.cancel_button.setToolTip("Stop this task: queued tasks never run; a sandboxed run is stopped at once")
        self.cancel_button.clicked.connect(lambda: self.task_id and self.sig_cancel_requested.emit(self.task_id))
        self.cancel_button.hide()
        feedback.addWidget(self.cancel_button)
        for button in (self.correct_button, self.wrong_button, self.bad_button):
            feedback.addWidget(button)
        layout.addLayout(feedback)
        self.correct_button.clicked.connect(lambda: self._give("correct"))
        self.bad_button.clicked.connect(lambda: self._give("bad_answer"))
        self.wrong_button.clicked.connect(self._on_wrong_clicked)
        self._set_feedback_enabled(False)

    def _on_run_program(self) -> None:
        code = self.operation_edit.toPlainText()
        if self.task_id and code.strip():
            self.sig_program_run_requested.emit(self.task_id, code)

    def set_specialists(self, items: list[tuple[str, str]]) -> None:
        """(id, title) pairs offered by "wrong specialist"."""
        self._specialists = list(items)

    def clear(self) -> None:
        """Show the empty state."""
        self.task_id = ""
        self.cancel_button.hide()
        self.state_label.setText("")
        self.state_label.setStyleSheet("")
        self.meta_label.setText("Select a task to see its result.")
        self.task_label.setText("")
        self.answer_label.set_answer("")
        self.error_label.hide()
        self._set_tables([])
        self._set_images({})
        self.operation_edit.setPlainText("")
        self.operation_edit.setReadOnly(True)
        self.program_hint.hide()
        self.run_program_button.hide()
        self.logs_edit.setPlainText("")
        self._set_feedback_enabled(False)

    def set_task(self, view: Any, images: dict[str, Path] | None = None) -> None:
        """Render a TaskView-like object; ``images`` maps artifact names to local PNG paths."""
        self.task_id = view.id
        self._current_specialist = view.specialist or ""
        self.state_label.setText(view.state)
        self.state_label.setStyleSheet(
            f"background: {state_colour(view.state)}; color: white; border-radius: 9px;"
            " padding: 2px 10px; font-weight: 600;"
        )
        parts = [view.specialist or "unrouted"]
        tips = [f"Specialist: {view.specialist or 'not routed yet'}"]
        how = route_text(view.router, view.route_confidence)
        if how:
            parts.append(how)
            tips.append(
                ROUTER_TIPS.get(view.router or "", "How the specialist was chosen.")
                + (
                    ""
                    if view.route_confidence is None or view.router in ("explicit", "override")
                    else f" Confidence {view.route_confidence:.2f} (0–1)."
                )
            )
        parts.append(fmt_ms(view.duration_ms))
        tips.append(f"Duration {fmt_ms(view.duration_ms)}: wall time from dispatch to result.")
        parts.append(fmt_cost(view.cost))
        tips.append(f"Cost {fmt_cost(view.cost)}: notional CPU + memory cost of this task (rates in Settings).")
        if view.attempt and view.attempt > 1:
            parts.append(f"attempt {view.attempt}")
            tips.append(f"Attempt {view.attempt}: earlier attempts failed and were retried.")
        self.meta_label.setText("  ·  ".join(p.replace(" ", "\u00a0") for p in parts))  # wrap between parts
        self.meta_label.setToolTip("\n".join(tips))
        self.task_label.setText(view.text)
        answer = view.answer or ("…" if view.state in ("queued", "routed", "running") else "")
        self.answer_label.set_answer(answer, mono=len(answer.splitlines()) > 1)
        if view.error:
            kind = f"{view.error_kind}: " if view.error_kind else ""
            self.error_label.setText(f"{kind}{view.error}")
            self.error_label.show()
        else:
            self.error_label.hide()
        self._set_tables(view.tables or [])
        self._set_images(images or {})
        op = view.operation or {}
        program = getattr(view, "program", "") or ""
        editable = bool(program) and view.state not in ("queued", "routed", "running")
        if program:
            self.operation_edit.setPlainText(program)
        else:
            self.operation_edit.setPlainText(
                f"-- {op.get('kind', '')}\n{op.get('text', '')}" if op.get("text") else "(no operation recorded)"
            )
        self.operation_edit.setReadOnly(not editable)
        self.program_hint.setVisible(editable)
        self.run_program_button.setVisible(editable)
        logs = []
        if view.stdout:
            logs.append("── stdout ──\n" + view.stdout)
        if view.stderr:
            logs.append("── stderr ──\n" + view.stderr)
        self.logs_edit.setPlainText("\n".join(logs) or "(no output)")
        self.tabs.setTabText(0, f"Tables ({len(view.tables or [])})")
        self.tabs.setTabText(1, f"Images ({len(images or {})})")
        if images and not view.tables:
            self.tabs.setCurrentIndex(1)
        elif not view.tables and op.get("text"):
            self.tabs.setCurrentIndex(2)
        else:
            self.tabs.setCurrentIndex(0)
        self._set_feedback_enabled(view.state in ("succeeded", "failed"))
        self.cancel_button.setVisible(view.state in ("queued", "routed", "running"))

    def _set_tables(self, tables: list[dict[str, Any]]) -> None:
        while self.tables_layout.count():
            item = self.tables_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for table in tables[:4]:
            columns = [str(c) for c in table.get("columns", [])]
            rows = table.get("rows", [])[:MAX_TABLE_ROWS]
            title = QLabel(f"{table.get('name', 'table')} · {len(table.get('rows', []))} rows")
            title.setObjectName("muted")
            widget = QTableWidget(len(rows), len(columns))
            widget.setHorizontalHeaderLabels(columns)
            widget.verticalHeader().hide()
            widget.verticalHeader().setDefaultSectionSize(24)
            widget.setAlternatingRowColors(True)
            widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            for r, row in enumerate(rows):
                for c, value in enumerate(row[: len(columns)]):
                    text = "" if value is None else (f"{value:,.4g}" if isinstance(value, float) else str(value))
                    item = _SortItem(text)
                    item.setData(Qt.ItemDataRole.UserRole, value if value is not None else "")
                    if isinstance(value, int | float):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    widget.setItem(r, c, item)
            widget.setSortingEnabled(True)
            widget.horizontalHeader().setStretchLastSection(True)
            self.tables_layout.addWidget(title)
            self.tables_layout.addWidget(widget, 1)
        if not tables:
            empty = QLabel("No tables in this result.")
            empty.setObjectName("muted")
            self.tables_layout.addWidget(empty)
            self.tables_layout.addStretch(1)

    def _set_images(self, images: dict[str, Path]) -> None:
        while self.images_layout.count():
            item = self.images_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for name, path in images.items():
            pixmap = QPixmap(str(path))
            label = QLabel()
            if pixmap.isNull():
                label.setText(f"{name}: could not be displayed (not a readable image).")
            else:
                label.setPixmap(
                    pixmap.scaledToWidth(min(pixmap.width(), 720), Qt.TransformationMode.SmoothTransformation)
                )
            label.setToolTip(f"{name} — {path}")
            self.images_layout.addWidget(label)
        self.images_layout.addStretch(1)

    def _set_feedback_enabled(self, enabled: bool) -> None:
        for button in (self.correct_button, self.wrong_button, self.bad_button):
            button.setEnabled(enabled)

    def _give(self, kind: str) -> None:
        if self.task_id:
            self.sig_feedback_given.emit(self.task_id, kind)

    def _on_wrong_clicked(self) -> None:
        menu = QMenu(self)
        for sid, title in self._specialists:
            if sid == self._current_specialist:
                continue
            action = menu.addAction(f"Re-run on {title} ({sid})")
            action.triggered.connect(lambda _=False, s=sid: self.rerun_on(s))
        menu.popup(self.wrong_button.mapToGlobal(self.wrong_button.rect().bottomLeft()))

    def rerun_on(self, specialist: str) -> None:
        """Ask for the current task to run again on ``specialist`` (wrong-specialist feedback)."""
        if self.task_id and specialist:
            self.sig_rerun_requested.emit(self.task_id, specialist)
