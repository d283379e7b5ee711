"""``run_gui``: the entry point ``switchboard gui`` calls.

The window is built and painted first; the engine (``app.engine.orchestrator`` and everything
it imports, about a second of imports on a small machine) is created only after the first
paint, and ``orch.start()`` then connects in the background. So first paint never waits for
the engine's imports, Docker, Ollama or the database.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.engine.core.config import Settings
from app.engine.core.facade import Facade
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme

__all__ = ["after_first_paint", "attach_engine", "build_app", "build_window", "run_gui"]

log = logging.getLogger(__name__)
TABS = {"tasks": 0, "metrics": 1, "containers": 2, "activity": 3, "improvements": 4}


def process_age_ms() -> float:
    """Milliseconds since this process started (Linux ``/proc``; 0 elsewhere)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return (uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000


class _FirstPaint(QObject):
    """Calls ``then`` once, from the event loop, right after the watched widget first paints."""

    def __init__(self, widget: QWidget, then: Callable[[], None], fallback_ms: int) -> None:
        super().__init__(widget)
        self._widget = widget
        self._then: Callable[[], None] | None = then
        widget.installEventFilter(self)
        # An unmapped window (minimised, some offscreen setups) may never paint: go anyway.
        QTimer.singleShot(fallback_ms, self, self._fire)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self._widget and event.type() == QEvent.Type.Paint and self._then is not None:
            QTimer.singleShot(0, self, self._fire)  # after this paint has reached the screen
        return False

    def _fire(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            self._widget.removeEventFilter(self)
            then()


def after_first_paint(widget: QWidget, then: Callable[[], None], fallback_ms: int = 1000) -> None:
    """Run ``then`` once, after ``widget``'s first paint (or after ``fallback_ms``)."""
    _FirstPaint(widget, then, fallback_ms)


def build_window(settings: Settings, *, restore: bool = True) -> tuple[QApplication, MainWindow]:
    """Create (or reuse) the QApplication and the themed main window; no engine yet.

    ``restore=False`` ignores saved geometry, splitters and filters (reproducible screenshots).
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Switchboard")
    app.setOrganizationName("Switchboard")
    theme = apply_theme(app, settings.theme)
    window = MainWindow()
    window.setProperty("theme", theme)
    window.set_dark(theme == "dark")
    if restore:
        window.restore_state()
    tab = os.environ.get("SWITCHBOARD_GUI_TAB", "").lower()
    if tab in TABS:
        window.tabs.setCurrentIndex(TABS[tab])
    return app, window


def attach_engine(settings: Settings, window: MainWindow, orch: Facade = None) -> tuple[Any, Any]:
    """Create the orchestrator (imported here, not at module load) and the controller."""
    from app.ui.controller import Controller

    if orch is None:
        from app.engine.orchestrator import Orchestrator

        orch = Orchestrator(settings)
    controller = Controller(orch, window)
    controller.settings.theme = str(window.property("theme") or "light")
    return orch, controller


def build_app(settings: Settings, orch: Facade = None) -> tuple[QApplication, Any, MainWindow, Any]:
    """Window and engine at once (tests and benchmarks that do not measure first paint)."""
    app, window = build_window(settings)
    orch, controller = attach_engine(settings, window, orch)
    return app, orch, window, controller


def run_gui(settings: Settings, screenshot: Path | None = None, after_s: float = 8.0) -> int:
    """Open the control panel; with ``screenshot``, save one after ``after_s`` s of data and exit."""
    t0 = time.perf_counter()
    app, window = build_window(settings, restore=screenshot is None)
    if screenshot is not None:
        window.resize(1440, 900)  # the same frame for every screenshot, whatever was saved
        window.persist_state = False
    window.show()
    engine: dict[str, Any] = {}

    def connect() -> None:
        log.info(
            "first paint %.0f ms after process start (%.0f ms in run_gui)",
            process_age_ms(),
            (time.perf_counter() - t0) * 1000,
        )
        if window.isHidden():  # closed before the first paint
            return
        orch, controller = attach_engine(settings, window)
        engine.update(orch=orch, controller=controller)
        app.aboutToQuit.connect(controller.close)
        controller.start()
        if screenshot is not None:
            schedule = lambda: QTimer.singleShot(int(after_s * 1000), window, shoot)  # noqa: E731
            controller.sig_engine_started.connect(schedule)
            controller.sig_engine_failed.connect(lambda _m: schedule())

    def shoot() -> None:
        assert screenshot is not None
        window.charts.redraw(force=True)
        app.processEvents()
        target = Path(screenshot)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(target)):
            log.error("could not save the screenshot to %s", target)
        window.close()

    after_first_paint(window, connect)
    try:
        code = app.exec()
    finally:
        if "controller" in engine:
            engine["controller"].close()
            engine["orch"].close()
    if screenshot is not None and not Path(screenshot).exists():
        return 1
    return int(code)
