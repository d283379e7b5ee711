"""“What should the data-analytics specialist do with sales.csv?” — asked after a card drop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["DropPrompt"]


def _names(files: Sequence[Path]) -> str:
    names = [f.name for f in files]
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} more"


class DropPrompt(QDialog):
    """Ask for the task text, offering the specialist's example tasks as one-click suggestions."""

    sig_task_confirmed = Signal(str, str, list)
    """The user confirmed: (specialist id, task text, list of Path)."""

    def __init__(
        self,
        specialist_id: str,
        title: str,
        files: Sequence[Path],
        examples: Sequence[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.specialist_id = specialist_id
        self.files = list(files)
        self.setWindowTitle(f"New task for {title}")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        question = QLabel(f"What should the <b>{title}</b> specialist do with <b>{_names(self.files)}</b>?")
        question.setWordWrap(True)
        question.setObjectName("promptQuestion")
        layout.addWidget(question)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Describe the task…")
        layout.addWidget(self.text)
        if examples:
            hint = QLabel("Suggestions")
            hint.setObjectName("muted")
            layout.addWidget(hint)
            row = QHBoxLayout()
            row.setSpacing(6)
            for example in list(examples)[:4]:
                chip = QPushButton(example)
                chip.setObjectName("chip")
                chip.setToolTip("Use this task text")
                chip.clicked.connect(lambda _=False, e=example: self._use(e))
                row.addWidget(chip)
            row.addStretch(1)
            layout.addLayout(row)
        files_label = QLabel("\n".join(f"📄 {f.name}  ({f.stat().st_size:,} bytes)" for f in self.files if f.is_file()))
        files_label.setObjectName("muted")
        layout.addWidget(files_label)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.run_button = buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.run_button.setObjectName("primary")
        self.run_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.text.setFocus(Qt.FocusReason.OtherFocusReason)

    def _use(self, example: str) -> None:
        self.text.setText(example)
        self.text.setFocus()

    def accept(self) -> None:
        """Emit the task when the text is non-empty; otherwise say so and stay open."""
        text = self.text.text().strip()
        if not text:
            self.error.setText("Type what the specialist should do, or pick a suggestion.")
            self.error.show()
            return
        self.sig_task_confirmed.emit(self.specialist_id, text, self.files)
        super().accept()
