"""The answer of a task: selectable text that wraps anywhere and grows with its content.

A ``QLabel`` only wraps at spaces, so one long token (a path, a long number, a base64 blob)
widened the whole result pane; this read-only text view wraps at word boundaries or, failing
that, anywhere, and sizes itself to its text up to ``max_lines`` before it scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontDatabase, QResizeEvent, QTextOption
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextEdit, QWidget

__all__ = ["AnswerView"]


class AnswerView(QTextEdit):
    """Short answers in large type; multi-line answers in a monospace box."""

    def __init__(self, parent: QWidget | None = None, *, max_lines: int = 14) -> None:
        super().__init__(parent)
        self.max_lines = max_lines
        self.setReadOnly(True)
        self.setObjectName("answer")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._mono = False
        self._fit()

    def text(self) -> str:
        """The answer as shown (QLabel-compatible accessor)."""
        return self.toPlainText()

    def set_answer(self, text: str, *, mono: bool = False) -> None:
        """Show ``text``; ``mono`` for multi-line output such as tables printed as text."""
        if mono != self._mono:
            self._mono = mono
            self.setObjectName("answerMono" if mono else "answer")
            self.setFont(
                QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
                if mono
                else QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
            )
            self.style().unpolish(self)
            self.style().polish(self)
        self.setPlainText(text)
        self.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        doc = self.document()
        doc.setTextWidth(max(50, self.viewport().width()))
        line = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins()
        chrome = margins.top() + margins.bottom() + 2 * int(doc.documentMargin())
        content = int(doc.size().height()) + margins.top() + margins.bottom()
        cap = self.max_lines * line + chrome
        self.setFixedHeight(max(line + chrome, min(content, cap)))
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded if content > cap else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, self.height())
