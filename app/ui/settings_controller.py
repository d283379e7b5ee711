"""Opens the settings dialog, validates with the engine's pydantic Settings, saves the TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from app.engine.core.config import Settings, config_file_path
from app.engine.core.facade import Facade
from app.ui.main_window import MainWindow
from app.ui.notify import show_problem
from app.ui.theme import apply_theme
from widgets.settings_dialog import SettingsDialog

__all__ = ["SettingsController", "settings_fields", "validate_settings"]

# What the dialog offers, in this order (the rest stays editable in the TOML file).
EDITABLE = [
    "docker_url",
    "docker_timeout_s",
    "ollama_host",
    "ollama_model",
    "ollama_timeout_s",
    "ollama_autostart",
    "database_url",
    "data_dir",
    "queue_size",
    "workers",
    "task_timeout_s",
    "max_inputs_per_task",
    "max_input_bytes",
    "budget_max_containers",
    "budget_max_memory_mb",
    "cost_per_cpu_hour",
    "cost_per_gb_hour",
    "stats_interval_s",
    "route_confidence_threshold",
    "theme",
]


def settings_fields(settings: Settings) -> list[dict[str, Any]]:
    """Plain field descriptions for :class:`SettingsDialog`."""
    fields = []
    for name in EDITABLE:
        info = Settings.model_fields[name]
        value = getattr(settings, name)
        field: dict[str, Any] = {
            "name": name,
            "value": str(value) if isinstance(value, Path) else value,
            "description": info.description or "",
        }
        if name == "theme":
            field["choices"] = ["system", "dark", "light"]
        fields.append(field)
    return fields


def validate_settings(base: Settings, values: dict[str, Any]) -> str:
    """``""`` when ``values`` make valid Settings, else ``"field: problem; ..."`` from pydantic."""
    merged = base.model_dump()
    merged.update(values)
    try:
        Settings(**merged)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return ""


def save_settings(changed: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``changed`` into the user's TOML config file; returns its path."""
    path = path or config_file_path()
    current: dict[str, Any] = {}
    if path.exists():
        current = tomllib.loads(path.read_text(encoding="utf-8"))
    base = Settings.model_validate({**Settings().model_dump(), **current, **changed})
    for name in changed:
        value = getattr(base, name)
        current[name] = str(value) if isinstance(value, Path) else value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(current), encoding="utf-8")
    return path


class SettingsController(QObject):
    """Settings action → dialog → validated save; the theme applies at once."""

    def __init__(self, orch: Facade, window: MainWindow) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.dialog: SettingsDialog | None = None
        self.theme = "light"
        window.act_settings.triggered.connect(self.open_dialog)
        window.act_theme.triggered.connect(self.toggle_theme)

    def apply_theme(self, choice: str) -> None:
        """Apply a theme choice to the app and the charts."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.theme = apply_theme(app, choice)
            self.window.set_dark(self.theme == "dark")

    def toggle_theme(self) -> None:
        """Switch dark ↔ light for this session."""
        self.apply_theme("light" if self.theme == "dark" else "dark")

    def open_dialog(self) -> SettingsDialog:
        """Show the dialog (non-blocking)."""
        base = self.orch.settings
        dialog = SettingsDialog(settings_fields(base), lambda v: validate_settings(base, v), self.window)
        dialog.sig_settings_saved.connect(self._on_saved)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_saved(self, changed: dict[str, Any]) -> None:
        if not changed:
            return
        try:
            path = save_settings(changed)
        except (OSError, ValidationError, tomllib.TOMLDecodeError) as exc:
            show_problem(self.window, "Settings not saved", str(exc))
            return
        if "theme" in changed:
            self.apply_theme(str(changed["theme"]))
        self.window.show_message(f"Settings saved to {path}; engine changes apply after a restart")
