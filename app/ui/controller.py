"""Connects the main window to one orchestrator; owns the bridge and every GUI-side timer."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.engine.core.facade import Facade
from app.ui.bridge import EngineBridge
from app.ui.fleet_controller import FleetController
from app.ui.improvements_controller import ImprovementsController
from app.ui.main_window import MainWindow
from app.ui.metrics_controller import MetricsController
from app.ui.ops import run_op, shutdown_ops
from app.ui.settings_controller import SettingsController
from app.ui.task_controller import TaskController

__all__ = ["Controller"]


class Controller(QObject):
    """Start the engine in the background, wire the views, and tear everything down on close."""

    sig_engine_started = Signal()
    """The orchestrator finished starting (store open, Docker pinged, monitors running)."""

    sig_engine_failed = Signal(str)
    """The orchestrator could not start; carries the message shown to the user."""

    def __init__(self, orch: Facade, window: MainWindow, *, refresh_ms: int = 3000) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.started = False
        self.closed = False
        self.bridge = EngineBridge(orch.bus, self)
        self.tasks = TaskController(orch, window, self.bridge)
        self.fleet = FleetController(orch, window, self.bridge, refresh_ms=refresh_ms)
        self.metrics = MetricsController(orch, window)
        self.settings = SettingsController(orch, window)
        self.improvements = ImprovementsController(orch, window, self.bridge)
        window.sig_closing.connect(self.close)

    def start(self) -> None:
        """Kick off ``orch.start()``; the window is already usable while it runs."""
        self.window.show_message("Connecting to Docker, Ollama and the database…", 0)
        run_op(self.orch.start, self._on_started, self._on_start_failed, self)

    def _on_started(self, _result: Any) -> None:
        if self.closed:
            return
        self.started = True
        self.window.show_message("Engine ready")
        self.fleet.refresh()
        self.fleet.load_health()
        self.fleet.load_decisions()
        self.fleet.timer.start()
        self.metrics.timer.start()
        self.metrics.load(self.metrics_names())
        self.tasks.load_recent()
        self.improvements.start()
        self.sig_engine_started.emit()

    @staticmethod
    def metrics_names() -> list[str]:
        """Every chart metric."""
        from widgets.charts import PLOTS

        return list(PLOTS)

    def _on_start_failed(self, message: str) -> None:
        self.window.show_message(f"Engine did not start: {message}", 0)
        self.tasks.problem("Engine did not start", message)
        self.sig_engine_failed.emit(message)

    def close(self) -> None:
        """Stop timers, the log follower and the bridge, then wait for op threads (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.window.charts_created:
            self.window.charts.stop()
        self.window.console.stop()
        self.fleet.close()
        self.tasks.close()
        self.metrics.close()
        self.improvements.close()
        self.bridge.close()
        shutdown_ops(10_000)
