"""A streamed image build: progress bar plus the log lines as they arrive."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout, QWidget

__all__ = ["BuildLog"]


class BuildLog(QWidget):
    """Shows the builds in progress; keeps the last 5,000 lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel("No build running")
        self.title.setObjectName("sectionTitle")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setToolTip("Rough share of build steps done")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(5000)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.title)
        layout.addWidget(self.progress)
        layout.addWidget(self.text, 1)

    def append(
        self, specialist: str, line: str, fraction: float | None = None, done: bool = False, error: str | None = None
    ) -> None:
        """Add one build line; ``done``/``error`` end the build."""
        if line:
            self.text.appendPlainText(f"[{specialist}] {line.rstrip()}")
        if fraction is not None:
            self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if error:
            self.title.setText(f"Build of {specialist} failed")
            self.text.appendPlainText(f"[{specialist}] ERROR: {error}")
        elif done:
            self.title.setText(f"Build of {specialist} finished")
            self.progress.setValue(1000)
        else:
            self.title.setText(f"Building {specialist}…")
