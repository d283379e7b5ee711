"""Dark and light themes (``resources/*.qss``); "system" follows the desktop's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from widgets.icons import RESOURCES

__all__ = ["apply_theme", "resolve_theme"]


def resolve_theme(choice: str) -> str:
    """``dark`` or ``light``: ``system`` asks Qt for the desktop's scheme (light if unknown)."""
    if choice in ("dark", "light"):
        return choice
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app: QApplication, choice: str) -> str:
    """Apply the Fusion style, a matching palette and the theme's stylesheet; returns the name."""
    name = resolve_theme(choice)
    app.setStyle("Fusion")
    dark = name == "dark"
    palette = QPalette()
    base, window, text = ("#181b20", "#16191d", "#d8dee6") if dark else ("#ffffff", "#eef1f5", "#1f2733")
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#1c2026" if dark else "#f6f8fa"))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(text))
    palette.setColor(QPalette.ColorRole.Button, QColor("#262b32" if dark else "#f7f9fb"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#2f7de1"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(base))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor(text))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8b95a3" if dark else "#8a93a0"))
    palette.setColor(QPalette.ColorRole.Link, QColor("#5b9cf0" if dark else "#2f7de1"))
    app.setPalette(palette)
    app.setStyleSheet((RESOURCES / f"{name}.qss").read_text(encoding="utf-8"))
    return name
