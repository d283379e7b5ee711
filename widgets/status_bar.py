"""Docker, Ollama and database health lights for the status bar, with the engine's fix."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from widgets.format import state_colour

__all__ = ["HealthLights"]

COMPONENTS = {"docker": "Docker", "ollama": "Ollama", "database": "Database", "llama.cpp": "Coder model"}
# shown only once the engine reports them (the coder model exists only with that backend)
OPTIONAL = {"llama.cpp"}


class HealthLights(QWidget):
    """Three coloured lights; a Fix button appears when a component reports a fix."""

    sig_fix_requested = Signal(str)
    """The user asked the engine to apply the fix for a component."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(14)
        self.status: dict[str, str] = {}
        self.fixes: dict[str, str] = {}
        self.labels: dict[str, QLabel] = {}
        for key in COMPONENTS:
            label = QLabel()
            label.setObjectName("healthLight")
            self.labels[key] = label
            layout.addWidget(label)
        self.fix_button = QPushButton("Fix…")
        self.fix_button.setObjectName("fixButton")
        self.fix_button.hide()
        self.fix_button.clicked.connect(self._on_fix_clicked)
        layout.addWidget(self.fix_button)
        for key in COMPONENTS:
            if key in OPTIONAL:
                self.labels[key].hide()
            else:
                self.set_health(key, "unknown", "checking…")

    def set_health(self, component: str, status: str, detail: str = "", fix: str = "") -> None:
        """Show one component's status (ok | degraded | down | unknown) and what to do."""
        if component not in self.labels:
            return
        self.status[component] = status
        self.labels[component].show()
        colour = {"ok": "ok", "degraded": "degraded", "down": "down"}.get(status, "unknown")
        name = COMPONENTS[component]
        self.labels[component].setText(f"<span style='color:{state_colour(colour)}; font-size:14px'>●</span> {name}")
        tip = f"{name}: {status}" + (f"\n{detail}" if detail else "") + (f"\nFix: {fix}" if fix else "")
        self.labels[component].setToolTip(tip)
        if fix and status != "ok":
            self.fixes[component] = fix
        else:
            self.fixes.pop(component, None)
        self.fix_button.setVisible(bool(self.fixes))
        if self.fixes:
            first = next(iter(self.fixes))
            self.fix_button.setText(f"Fix {COMPONENTS[first]}…")
            self.fix_button.setToolTip(self.fixes[first])

    def _on_fix_clicked(self) -> None:
        if self.fixes:
            self.sig_fix_requested.emit(next(iter(self.fixes)))
