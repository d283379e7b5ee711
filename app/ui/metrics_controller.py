"""Loads stored history into the charts for the chosen range and keeps task figures fresh."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.engine.core.facade import Facade
from app.ui.main_window import MainWindow
from app.ui.ops import run_op
from widgets.charts import PLOTS

__all__ = ["MetricsController"]

THRESHOLDS = ("latency_threshold_ms", "cost_threshold")
TASK_METRICS = ("latency_ms", *THRESHOLDS, "throughput", "cost", "accuracy")


class MetricsController(QObject):
    """History on range change; the task-based series are re-read every ``poll_ms``."""

    def __init__(self, orch: Facade, window: MainWindow, *, poll_ms: int = 10_000) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.loads = 0
        self._loading = False
        window.charts.sig_range_changed.connect(lambda _s: self.load([*PLOTS, *THRESHOLDS]))
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(lambda: self.load(TASK_METRICS, only_visible=True))

    def since(self) -> float:
        """Start of the selected range (0 = everything)."""
        seconds = self.window.charts.range_s
        return 0.0 if seconds is None else time.time() - seconds

    def load(self, metrics: Any, *, only_visible: bool = False) -> None:
        """Read ``metrics`` from the store off the GUI thread and hand them to the charts."""
        if self._loading or (only_visible and not self.window.charts.isVisible()):
            return
        self._loading = True
        since = self.since()
        names = list(metrics)

        def body() -> dict[str, list[Any]]:
            return {m: self.orch.series(m, since) for m in names}

        def done(result: dict[str, list[Any]]) -> None:
            self._loading = False
            self.loads += 1
            for metric, points in result.items():
                self.window.charts.load_history(metric, points)

        def failed(message: str) -> None:
            self._loading = False
            self.window.show_message(f"Chart history unavailable: {message}")

        run_op(body, done, failed, self)

    def close(self) -> None:
        """Stop polling."""
        self.timer.stop()
