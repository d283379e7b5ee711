"""One container in depth: live logs (follow, search), inspect summary, hardening, limits."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ContainerDetail"]


class ContainerDetail(QWidget):
    """Detail pane; the caller streams log lines in with :meth:`append_logs`."""

    sig_follow_toggled = Signal(str, bool)
    """Follow the container's logs on/off: (container name, follow)."""

    sig_restart_requested = Signal(str)
    """Restart this container."""

    sig_remove_requested = Signal(str)
    """Remove this container (the caller confirms)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.container = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        head = QHBoxLayout()
        self.title = QLabel("Select a container")
        self.title.setObjectName("sectionTitle")
        head.addWidget(self.title, 1)
        self.restart_button = QPushButton("Restart")
        self.restart_button.setToolTip("Restart this container (tasks in flight are retried)")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("danger")
        self.remove_button.setToolTip("Stop and remove this container")
        head.addWidget(self.restart_button)
        head.addWidget(self.remove_button)
        layout.addLayout(head)
        self.restart_button.clicked.connect(lambda: self.container and self.sig_restart_requested.emit(self.container))
        self.remove_button.clicked.connect(lambda: self.container and self.sig_remove_requested.emit(self.container))

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        logs_host = QWidget()
        logs_layout = QVBoxLayout(logs_host)
        logs_layout.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.follow = QCheckBox("Follow")
        self.follow.setToolTip("Stream new log lines as the container writes them")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find in logs…")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        bar.addWidget(self.follow)
        bar.addWidget(self.search, 1)
        logs_layout.addLayout(bar)
        self.logs = QPlainTextEdit()
        self.logs.setReadOnly(True)
        self.logs.setMaximumBlockCount(10_000)
        self.logs.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        logs_layout.addWidget(self.logs, 1)
        self.follow.toggled.connect(lambda on: self.container and self.sig_follow_toggled.emit(self.container, on))

        self.summary_host = QWidget()
        self.summary = QFormLayout(self.summary_host)
        self.hardening = QListWidget()
        self.hardening.setToolTip("Each hardening rule the container was checked against")
        self.limits_host = QWidget()
        self.limits = QFormLayout(self.limits_host)
        self.tabs.addTab(logs_host, "Logs")
        self.tabs.addTab(self.summary_host, "Inspect")
        self.tabs.addTab(self.hardening, "Hardening")
        self.tabs.addTab(self.limits_host, "Limits")
        layout.addWidget(self.tabs, 1)
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        for w in (self.restart_button, self.remove_button, self.follow):
            w.setEnabled(enabled)

    def set_container(self, name: str, status: str = "") -> None:
        """Switch to a container (clears the panes; logs stop following)."""
        self.follow.blockSignals(True)
        self.follow.setChecked(False)
        self.follow.blockSignals(False)
        self.container = name
        self.title.setText(f"{name}  ·  {status}" if status else name or "Select a container")
        self.logs.clear()
        self.hardening.clear()
        for form in (self.summary, self.limits):
            while form.rowCount():
                form.removeRow(0)
        self._set_enabled(bool(name))

    def set_logs(self, text: str) -> None:
        """Replace the log pane."""
        self.logs.setPlainText(text)
        self.logs.moveCursor(self.logs.textCursor().MoveOperation.End)

    def append_logs(self, text: str) -> None:
        """Append streamed lines."""
        self.logs.appendPlainText(text.rstrip("\n"))

    def set_inspect(self, data: dict[str, Any]) -> None:
        """Show the facade's inspect dict: container summary, limits, hardening checklist."""
        summary = {k: v for k, v in data.items() if k not in ("limits", "hardening")}
        if isinstance(summary.get("container"), dict):
            summary.update(summary.pop("container"))
        for key, value in summary.items():
            label = QLabel(str(value))
            label.setWordWrap(True)
            self.summary.addRow(str(key), label)
        for key, value in (data.get("limits") or {}).items():
            self.limits.addRow(str(key), QLabel(str(value)))
        checks = data.get("hardening") or []
        passed = 0
        for check in checks:
            ok = bool(check.get("passed"))
            passed += ok
            item = QListWidgetItem(f"{'✓' if ok else '✗'}  {check.get('item', '')}")
            item.setToolTip(str(check.get("detail", "")))
            item.setForeground(QColor("#2fa35a" if ok else "#d0463c"))
            self.hardening.addItem(item)
        self.tabs.setTabText(2, f"Hardening {passed}/{len(checks)}" if checks else "Hardening")

    def find_next(self) -> bool:
        """Select the next match of the search text, wrapping around. True if found."""
        needle = self.search.text()
        if not needle:
            return False
        if self.logs.find(needle):
            return True
        self.logs.moveCursor(self.logs.textCursor().MoveOperation.Start)
        return bool(self.logs.find(needle, QTextDocument.FindFlag(0)))
