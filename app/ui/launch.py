"""``run_gui``: the entry point ``switchboard gui`` calls.

The window is shown before the engine connects (``orch.start()`` runs in the background), so
first paint never waits for Docker, Ollama or the database.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.engine.config import Settings
from app.ui.controller import Controller
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme

__all__ = ["build_app", "run_gui"]

log = logging.getLogger(__name__)
TABS = {"tasks": 0, "metrics": 1, "containers": 2, "activity": 3}


def build_app(settings: Settings, orch: Any = None) -> tuple[QApplication, Any, MainWindow, Controller]:
    """Create (or reuse) the QApplication, the orchestrator, the window and the controller."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Switchboard")
    app.setOrganizationName("Switchboard")
    theme = apply_theme(app, settings.theme)
    if orch is None:
        from app.engine.orchestrator import Orchestrator

        orch = Orchestrator(settings)
    window = MainWindow()
    controller = Controller(orch, window)
    controller.settings.theme = theme
    window.charts.set_dark(theme == "dark")
    window.restore_state()
    tab = os.environ.get("SWITCHBOARD_GUI_TAB", "").lower()
    if tab in TABS:
        window.tabs.setCurrentIndex(TABS[tab])
    return app, orch, window, controller


def run_gui(settings: Settings, screenshot: Path | None = None, after_s: float = 8.0) -> int:
    """Open the control panel; with ``screenshot``, save one after ``after_s`` s of data and exit."""
    t0 = time.perf_counter()
    app, orch, window, controller = build_app(settings)
    window.show()
    log.info("window shown after %.0f ms", (time.perf_counter() - t0) * 1000)
    controller.start()
    if screenshot is not None:
        target = Path(screenshot)

        def shoot() -> None:
            window.charts.redraw(force=True)
            app.processEvents()
            target.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(target)):
                log.error("could not save the screenshot to %s", target)
            window.close()

        def schedule() -> None:
            QTimer.singleShot(int(after_s * 1000), shoot)

        controller.sig_engine_started.connect(schedule)
        controller.sig_engine_failed.connect(lambda _m: schedule())
    app.aboutToQuit.connect(controller.close)
    try:
        code = app.exec()
    finally:
        controller.close()
        orch.close()
    if screenshot is not None and not Path(screenshot).exists():
        return 1
    return int(code)
