"""Settings editor; validation is delegated to a callable so the engine's rules apply exactly.

The dialog takes plain field descriptions and a ``validate(values) -> error or ""`` callable
(``app.ui`` passes one built on the engine's pydantic ``Settings``). A bad value keeps the
dialog open with the field's error shown and the field highlighted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SettingsDialog"]

Validator = Callable[[dict[str, Any]], str]


class SettingsDialog(QDialog):
    """Edit settings; ``fields`` are dicts with name, value, description and optional choices."""

    sig_settings_saved = Signal(dict)
    """Valid values the user confirmed: {field name: value} of the fields that changed."""

    def __init__(self, fields: list[dict[str, Any]], validate: Validator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumSize(560, 520)
        self._validate = validate
        self._initial = {f["name"]: f["value"] for f in fields}
        self.editors: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        host = QWidget()
        form = QFormLayout(host)
        for spec in fields:
            editor = self._editor(spec)
            editor.setToolTip(spec.get("description", ""))
            label = QLabel(spec["name"].replace("_", " "))
            label.setToolTip(spec.get("description", ""))
            form.addRow(label, editor)
            self.editors[spec["name"]] = editor
        scroll.setWidget(host)
        layout.addWidget(scroll, 1)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        note = QLabel("Saved to the config file; engine changes apply after a restart.")
        note.setObjectName("muted")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @staticmethod
    def _editor(spec: dict[str, Any]) -> QWidget:
        value = spec["value"]
        if spec.get("choices"):
            box = QComboBox()
            box.addItems(spec["choices"])
            box.setCurrentText(str(value))
            return box
        if isinstance(value, bool):
            check = QCheckBox()
            check.setChecked(value)
            return check
        edit = QLineEdit("" if value is None else str(value))
        return edit

    def values(self) -> dict[str, Any]:
        """Current editor values (text for text fields; the validator coerces types)."""
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                out[name] = editor.isChecked()
            elif isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, QLineEdit):
                out[name] = editor.text()
        return out

    def changed(self) -> dict[str, Any]:
        """Only the fields whose value differs from what the dialog opened with."""
        return {k: v for k, v in self.values().items() if str(v) != str(self._initial[k])}

    def accept(self) -> None:
        """Validate; on error show it and mark the field, otherwise emit and close."""
        for editor in self.editors.values():
            editor.setProperty("invalid", False)
            editor.setStyleSheet("")
        problem = self._validate(self.values())
        if problem:
            self.error.setText(problem)
            self.error.show()
            for name, editor in self.editors.items():
                if problem.startswith(name + ":") or f" {name}:" in problem or f"({name}:" in problem:
                    editor.setStyleSheet("border: 1px solid #d0463c;")
                    editor.setFocus()
            return
        self.error.hide()
        self.sig_settings_saved.emit(self.changed())
        super().accept()
