"""GUI benchmarks; prints one JSON object.

- ``launch_to_first_paint_ms``: from before the GUI modules are imported to the main window's
  first paint event, with a real Orchestrator whose start runs in the background.
- ``stall_p99_ms`` / ``stall_max_ms``: event-loop lag probe (a 10 ms timer; lag = how late it
  fires) while 100 tasks run on real containers through the GUI's submit path.
- ``idle_cpu_percent``: CPU of the whole process (GUI + engine threads) over 20 s with N
  containers running and monitored, Tasks tab shown; ``idle_cpu_metrics_tab_percent`` the same
  with the charts visible.
- ``redraw_ms``: one chart redraw with 12 containers x 1 h of samples (CPU and memory), mean
  and p95 over 50 redraws including the paint.

Needs Docker and the specialist images (it starts them in namespace ``bench`` and removes them).
Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui.py`` (``--launch-only``: first paint only)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine.core.config import load_settings  # noqa: E402
from app.ui import launch  # noqa: E402


class FirstPaint(QObject):
    """Records the time of the first paint event of the watched widget."""

    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint and self.at is None:
            self.at = time.perf_counter()
        return False


class LagProbe(QObject):
    """A 10 ms timer; each firing records how late it came (event-loop stall)."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval = interval_ms
        self.lags: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.lags = []
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        elapsed = self.clock.nsecsElapsed() / 1e6
        self.clock.restart()
        self.lags.append(max(0.0, elapsed - self.interval))

    def stop(self) -> None:
        self.timer.stop()


def wait(app: QApplication, seconds: float, until: object = None) -> bool:
    """Run the real event loop (as ``app.exec`` would) for ``seconds`` or until ``until()``.

    A processEvents/sleep polling loop would add its own wake-ups to the idle CPU figure
    and its sleeps to the measured stalls, so the loop is a QEventLoop; ``until`` is
    checked every 50 ms.
    """
    del app
    loop = QEventLoop()
    done = {"ok": False}

    def check() -> None:
        if until is not None and until():  # type: ignore[operator]
            done["ok"] = True
            loop.quit()

    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(check)
    if until is not None:
        poll.start()
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(seconds * 1000))
    check()
    if not done["ok"]:
        loop.exec()
    poll.stop()
    deadline.stop()
    return done["ok"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def redraw_cost(app: QApplication) -> dict[str, float]:
    from widgets.charts import ChartPanel

    panel = ChartPanel()
    panel.resize(1100, 800)
    panel.show()
    now = time.time()
    ts = [now - 3600 + 2 * i for i in range(1800)]
    for c in range(12):
        for metric in ("cpu_percent", "memory_bytes"):
            buf = panel.plots[metric].buffer(f"sb-x-{c:08x}")
            buf.extend(ts, [(i * 7 + c * 13) % 100 * (1e6 if metric == "memory_bytes" else 1) for i in range(1800)])
    panel.set_range(3600.0)
    app.processEvents()
    times = []
    for _ in range(50):
        for plot in panel.plots.values():
            plot.dirty.update(plot.buffers)
        start = time.perf_counter()
        panel.redraw(force=True)
        panel.repaint()
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    panel.stop()
    panel.close()
    return {
        "redraw_ms_mean": round(statistics.mean(times), 2),
        "redraw_ms_p95": round(pct(times, 0.95), 2),
        "redraw_points": 12 * 2 * 1800,
    }


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-gui-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    settings = load_settings(data_dir=tmp / "data", namespace="bench", ollama_autostart=False)
    # the same path as ``switchboard gui``: window first, engine after the first paint
    app, window = launch.build_window(settings)
    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    engine: dict[str, object] = {}

    def attach() -> None:
        engine["orch"], engine["ctl"] = launch.attach_engine(settings, window)
        engine["ctl"].start()  # type: ignore[attr-defined]

    launch.after_first_paint(window, attach)
    wait(app, 10, lambda: watcher.at is not None)
    result: dict[str, object] = {
        "launch_to_first_paint_ms": round(((watcher.at or time.perf_counter()) - T0) * 1000, 1),
        "process_start_to_first_paint_ms": round(
            launch.process_age_ms() - (time.perf_counter() - (watcher.at or 0)) * 1000, 1
        ),
    }
    wait(app, 30, lambda: "ctl" in engine)
    orch, ctl = engine["orch"], engine["ctl"]  # type: ignore[assignment]
    if "--launch-only" in sys.argv:
        window.close()
        ctl.close()
        orch.close()
        print(json.dumps(result, indent=2))
        return
    started = wait(app, 120, lambda: ctl.started)
    result["engine_started"] = started
    try:
        # containers to monitor
        plan = [
            ("numerical", 3),
            ("data-analytics", 3),
            ("database", 1),
            ("code-execution", 3),
            ("machine-learning", 2),
        ]
        for sid, n in plan:
            try:
                orch.scale(sid, n).result(timeout=300)
            except Exception as exc:  # report what could run, keep going
                result.setdefault("scale_errors", []).append(f"{sid}: {exc}")  # type: ignore[union-attr]
        result["containers_monitored"] = len(orch.containers())
        wait(app, 5)
        # idle CPU
        for label, tab in (("idle_cpu_percent", 0), ("idle_cpu_metrics_tab_percent", 1)):
            window.tabs.setCurrentIndex(tab)
            wait(app, 2)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            wait(app, 20)
            result[label] = round(100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0), 2)
        # stall while 100 tasks run
        window.tabs.setCurrentIndex(0)
        probe = LagProbe()
        probe.start()
        texts = ["integrate x^2 from 0 to 3", "solve x^2 - 5x + 6 = 0", "det [[1,2],[3,4]]", "factorial(30)"]
        t_start = time.perf_counter()
        for i in range(100):
            ctl.tasks.submit(texts[i % 4], "numerical" if i % 2 else None, [])
        done = wait(
            app,
            300,
            lambda: (
                len(ctl.tasks.handles) == 0
                and sum(1 for r in window.task_list.model._rows if r["state"] in ("succeeded", "failed")) >= 100
            ),
        )
        probe.stop()
        result["tasks_done"] = done
        result["tasks_wall_s"] = round(time.perf_counter() - t_start, 2)
        result["stall_p99_ms"] = round(pct(probe.lags, 0.99), 2)
        result["stall_max_ms"] = round(max(probe.lags or [0.0]), 2)
        result["stall_samples"] = len(probe.lags)
        result.update(redraw_cost(app))
    finally:
        window.close()
        ctl.close()
        orch.close(remove_containers=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
