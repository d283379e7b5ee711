"""The task console: a multi-line box with history, attachments and a live route preview.

Typing schedules (debounced) :attr:`TaskConsole.sig_route_requested`; the caller answers with
:meth:`TaskConsole.set_route`. Ctrl+Enter or Run emits :attr:`TaskConsole.sig_task_submitted`.
Files dropped here or attached are checked with :func:`widgets.file_checks.check_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.file_checks import check_files
from widgets.icons import icon
from widgets.specialist_card import local_paths

__all__ = ["HistoryEdit", "TaskConsole"]


class HistoryEdit(QPlainTextEdit):
    """Plain text box where ↑ on the first line / ↓ on the last line walk the history."""

    sig_submit_requested = Signal()
    """Ctrl+Enter was pressed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[str] = []
        self._index = 0
        self._draft = ""
        self.setAcceptDrops(False)  # the console takes drops for the whole area

    def remember(self, text: str) -> None:
        """Append ``text`` to the history (no consecutive duplicates) and reset the cursor."""
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._index = len(self.history)
        self._draft = ""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if ctrl and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.sig_submit_requested.emit()
            return
        cursor = self.textCursor()
        if key == Qt.Key.Key_Up and cursor.blockNumber() == 0 and self.history:
            if self._index == len(self.history):
                self._draft = self.toPlainText()
            self._index = max(0, self._index - 1)
            self.setPlainText(self.history[self._index])
            return
        if key == Qt.Key.Key_Down and cursor.blockNumber() == self.blockCount() - 1 and self.history:
            if self._index < len(self.history):
                self._index += 1
                text = self._draft if self._index == len(self.history) else self.history[self._index]
                self.setPlainText(text)
                self.moveCursor(self.textCursor().MoveOperation.End)
                return
        super().keyPressEvent(event)


class TaskConsole(QFrame):
    """Task input with Run, attachments, and the router's live guess underneath."""

    sig_task_submitted = Signal(str, str, list)
    """Run a task: (text, specialist id or "" to let the router decide, list of Path)."""

    sig_route_requested = Signal(str, list)
    """Explain where this text (and files) would go: (text, list of Path). Debounced."""

    def __init__(self, parent: QWidget | None = None, *, debounce_ms: int = 250) -> None:
        super().__init__(parent)
        self.setObjectName("console")
        self.setAcceptDrops(True)
        self.files: list[Path] = []
        self.override = ""
        self.max_files = 16
        self.max_bytes: int | None = None
        self._specialists: list[tuple[str, str]] = []
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._emit_route_request)
        self._build_ui()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 8)
        outer.setSpacing(6)
        self.edit = HistoryEdit()
        self.edit.setObjectName("taskInput")
        self.edit.setPlaceholderText(
            "Describe a task… e.g. “average revenue by region in sales.csv” or "
            "“integrate x^2 from 0 to 3”   (Ctrl+Enter runs · ↑/↓ history · drop files here)"
        )
        self.edit.setFixedHeight(74)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.sig_submit_requested.connect(self.submit)
        outer.addWidget(self.edit)

        row = QHBoxLayout()
        row.setSpacing(8)
        self.attach_button = QToolButton()
        self.attach_button.setIcon(icon("attach"))
        self.attach_button.setIconSize(QSize(18, 18))
        self.attach_button.setToolTip("Attach files to this task (Ctrl+O)")
        self.attach_button.setAutoRaise(True)
        self.attach_button.clicked.connect(self._on_attach_clicked)
        row.addWidget(self.attach_button)
        self.files_label = QLabel("")
        self.files_label.setObjectName("muted")
        row.addWidget(self.files_label)
        self.route_label = QLabel("")
        self.route_label.setObjectName("routePreview")
        self.route_label.setTextFormat(Qt.TextFormat.RichText)
        self.route_label.setToolTip(
            "Where the router would send this task, its confidence (0–1) and which router "
            "decided. Click “change” to pick the specialist yourself."
        )
        self.route_label.linkActivated.connect(self._on_change_clicked)
        row.addWidget(self.route_label, 1)
        self.message_label = QLabel("")
        self.message_label.setObjectName("errorText")
        self.message_label.setWordWrap(True)
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primary")
        self.run_button.setIcon(icon("run"))
        self.run_button.setToolTip("Run the task (Ctrl+Enter)")
        self.run_button.clicked.connect(self.submit)
        row.addWidget(self.run_button)
        outer.addLayout(row)
        outer.addWidget(self.message_label)
        self.message_label.hide()
        QShortcut(QKeySequence("Ctrl+O"), self, activated=self._on_attach_clicked)

    # public --------------------------------------------------------------------------------
    def set_specialists(self, items: list[tuple[str, str]]) -> None:
        """(id, title) pairs offered by “change”."""
        self._specialists = list(items)

    def set_limits(self, max_files: int, max_bytes: int | None) -> None:
        """Per-task file limits from the engine settings."""
        self.max_files = max_files
        self.max_bytes = max_bytes

    def set_route(self, route: Any | None, error: str = "") -> None:
        """Show a RouteView-like guess (chosen, confidence, router) or why there is none."""
        if self.override:
            self.route_label.setText(f"→ <b>{self.override}</b> · chosen by you · <a href='change'>change</a>")
            return
        if error:
            self.route_label.setText(f"<span style='color:#d0463c'>router: {error}</span>")
            return
        if route is None or not self.edit.toPlainText().strip():
            self.route_label.setText("")
            return
        if route.chosen in ("none", "clarify"):
            detail = route.question or route.rationale or "no specialist fits"
            self.route_label.setText(f"→ <i>{detail}</i> · <a href='change'>choose</a>")
            return
        self.route_label.setText(
            f"→ <b>{route.chosen}</b> · {route.confidence:.2f} · {route.router} router · <a href='change'>change</a>"
        )

    def show_message(self, text: str) -> None:
        """An inline, non-modal problem message under the box (empty hides it)."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def add_files(self, paths: list[Path]) -> bool:
        """Attach files after checking them; problems are shown inline. True if all passed."""
        combined = self.files + [p for p in paths if p not in self.files]
        result = check_files(combined, max_files=self.max_files, max_bytes=self.max_bytes, target="the router")
        self.files = result.accepted if len(combined) <= self.max_files else self.files
        self._refresh_files()
        self.show_message("\n".join(result.problems))
        self._debounce.start()
        return not result.problems

    def clear_files(self) -> None:
        """Drop every attachment."""
        self.files = []
        self._refresh_files()

    def submit(self) -> None:
        """Emit the task if the text is non-empty and the files still pass their checks."""
        text = self.edit.toPlainText().strip()
        if not text:
            self.show_message("Type a task first.")
            return
        if self.files:
            result = check_files(self.files, max_files=self.max_files, max_bytes=self.max_bytes, target="the router")
            if result.problems:
                self.files = result.accepted
                self._refresh_files()
                self.show_message("\n".join(result.problems) + "\nNothing was run.")
                return
        self.show_message("")
        self.edit.remember(text)
        files = list(self.files)
        self.sig_task_submitted.emit(text, self.override, files)
        self.edit.clear()
        self.clear_files()
        self.override = ""
        self.set_route(None)

    def stop(self) -> None:
        """Cancel a pending route preview (the window is closing)."""
        self._debounce.stop()

    # internals -----------------------------------------------------------------------------
    def _refresh_files(self) -> None:
        names = ", ".join(p.name for p in self.files)
        self.files_label.setText(f"📎 {names}" if names else "")
        self.files_label.setToolTip("\n".join(str(p) for p in self.files))

    def _on_text_changed(self) -> None:
        self._debounce.start()

    def _emit_route_request(self) -> None:
        text = self.edit.toPlainText().strip()
        if text and not self.override:
            self.sig_route_requested.emit(text, list(self.files))
        elif not text:
            self.set_route(None)

    def _on_attach_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Attach files to the task")
        if names:
            self.add_files([Path(n) for n in names])

    def _on_change_clicked(self, _link: str = "") -> None:
        menu = QMenu(self)
        auto = menu.addAction("Let the router decide")
        auto.triggered.connect(lambda: self.choose_specialist(""))
        menu.addSeparator()
        for sid, title in self._specialists:
            action = menu.addAction(f"{title}  ({sid})")
            action.triggered.connect(lambda _=False, s=sid: self.choose_specialist(s))
        menu.popup(self.route_label.mapToGlobal(self.route_label.rect().bottomLeft()))

    def choose_specialist(self, specialist: str) -> None:
        """Override the router ("" gives the choice back to the router)."""
        self.override = specialist
        self.set_route(None)
        if not specialist:
            self._debounce.start()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_files(paths)
