"""Live charts (pyqtgraph): container CPU and memory, latency p50/p95, throughput, cost, accuracy.

Samples land in numpy ring buffers (cheap, any time); a ~100 ms :class:`QTimer` redraws only
the curves that changed with ``setData`` (peak downsampling, clip to view), so a burst of
samples never costs more than one redraw. The time-range selector emits
:attr:`ChartPanel.sig_range_changed`; the caller loads the stored history for that range and
hands it back with :meth:`ChartPanel.load_history`.

The controller's self-adjusting thresholds are dashed step lines: the p95 latency threshold
(``latency_threshold_ms``) on the latency plot, the cost-per-task threshold (``cost_threshold``)
on the cost plot against a right-hand "per task" axis of its own (the plot's curves are
running totals, a threshold is per task).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from widgets.ring_buffer import RingBuffer

__all__ = ["PLOTS", "RANGES", "ChartPanel"]

# key -> (title, y label, units, tooltip)
PLOTS: dict[str, tuple[str, str, str, str]] = {
    "cpu_percent": ("CPU per container", "CPU", "%", "CPU use of each container; 100 % = one core."),
    "memory_bytes": ("Memory per container", "Memory", "MB", "Resident memory of each container."),
    "latency_ms": (
        "Task latency p50 / p95",
        "Latency",
        "ms",
        "Median (p50) and 95th percentile of task wall time per time bucket (stored history holds per-bucket medians).",
    ),
    "throughput": ("Throughput", "Tasks", "/min", "Finished tasks per minute."),
    "cost": (
        "Cost (running total)",
        "Cost",
        "$",
        "Running total of the notional task cost in the selected range (rates in Settings).",
    ),
    "accuracy": ("Accuracy", "Accuracy", "%", "Share judged correct per time bucket: golden runs and user feedback."),
}
# What an empty plot says: how to get data into it.
EMPTY_TEXT = {
    "cpu_percent": "No container ran in this range.\nStart one with ▶ on a specialist card.",
    "memory_bytes": "No container ran in this range.\nStart one with ▶ on a specialist card.",
    "latency_ms": "No finished tasks in this range.\nRun one from the task console.",
    "throughput": "No finished tasks in this range.\nRun one from the task console.",
    "cost": "No task cost in this range.\nRun one from the task console.",
    "accuracy": "No accuracy data yet. Run golden suites:\n“switchboard eval golden”, or give feedback on results.",
}
# stored units -> shown units: bytes -> MB, tasks/s -> tasks/min, share -> %
SCALE = {"memory_bytes": 1e-6, "throughput": 60.0, "accuracy": 100.0}
RANGES: list[tuple[str, float | None]] = [("5 min", 300.0), ("1 h", 3600.0), ("24 h", 86400.0), ("All", None)]
PALETTE = [
    "#2f7de1",
    "#e0803a",
    "#2fa35a",
    "#c2455b",
    "#8a55d8",
    "#14a38b",
    "#d69a1d",
    "#607080",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#8c564b",
]


class _Plot:
    """One pyqtgraph plot with a curve per subject."""

    def __init__(self, key: str, widget: pg.PlotWidget) -> None:
        self.key = key
        self.widget = widget
        self.buffers: dict[str, RingBuffer] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.dirty: set[str] = set()

    def buffer(self, subject: str) -> RingBuffer:
        if subject not in self.buffers:
            self.buffers[subject] = RingBuffer()
            colour = PALETTE[len(self.curves) % len(PALETTE)]
            # one-pixel pens for the many-curve plots: wide lines cost several times more to paint
            width = 1 if self.key in ("cpu_percent", "memory_bytes") else 2
            options: dict[str, Any] = {
                "pen": pg.mkPen(colour, width=width),
                "name": subject,
                "connect": "finite",
            }  # NaN marks a gap
            if self.key in ("throughput", "cost"):
                options.update(fillLevel=0, brush=pg.mkBrush(colour + "40"))
            if self.key == "accuracy":  # sparse (one point per golden run): dots stay visible
                options.update(symbol="o", symbolSize=6, symbolBrush=colour, symbolPen=None)
            curve = pg.PlotDataItem(**options)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.widget.addItem(curve)
            self.curves[subject] = curve
        return self.buffers[subject]


class ChartPanel(QWidget):
    """Six plots in a grid sharing one time axis range."""

    sig_range_changed = Signal(object)
    """The user picked a time range: seconds (float) or None for all history."""

    def __init__(self, parent: QWidget | None = None, *, redraw_ms: int = 200) -> None:
        super().__init__(parent)
        self.range_s: float | None = 300.0
        self.redraws = 0
        self._stopped = False
        self._last_scroll = 0.0
        self._latency = RingBuffer()
        self._latency_dirty = False
        self._thresholds: dict[tuple[str, str], pg.PlotDataItem] = {}  # (metric, specialist) -> dashed line
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        bar = QHBoxLayout()
        title = QLabel("Metrics")
        title.setObjectName("sectionTitle")
        bar.addWidget(title)
        bar.addStretch(1)
        self.range_buttons = QButtonGroup(self)
        for i, (label, seconds) in enumerate(RANGES):
            button = QPushButton(label)
            button.setCheckable(True)
            button.setObjectName("segment")
            button.setToolTip("Show the last " + label if seconds else "Show all stored history")
            button.setChecked(seconds == self.range_s)
            self.range_buttons.addButton(button, i)
            bar.addWidget(button)
        self.range_buttons.idClicked.connect(self._on_range_clicked)
        layout.addLayout(bar)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.plots: dict[str, _Plot] = {}
        self.empty_labels: dict[str, pg.TextItem] = {}
        for i, (key, (name, ylabel, units, tip)) in enumerate(PLOTS.items()):
            widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
            widget.setTitle(name)
            widget.setLabel("left", f"{ylabel} ({units})")
            widget.showGrid(x=True, y=True, alpha=0.15)
            widget.setMouseEnabled(x=True, y=False)
            widget.addLegend(
                offset=(8, 4), labelTextSize="8pt", colCount=2 if key in ("cpu_percent", "memory_bytes") else 1
            )
            widget.setToolTip(tip)
            widget.setMinimumHeight(170)
            widget.getPlotItem().setMenuEnabled(False)
            widget.getAxis("left").enableAutoSIPrefix(False)
            for side in ("left", "bottom"):
                # Axes (with their grid lines) are the costliest thing to paint; cached as a
                # pixmap they are replayed only when their range moves, not on every new sample.
                widget.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            empty = pg.TextItem(EMPTY_TEXT[key], color="#8b95a3", anchor=(0.5, 0.5))
            empty.setParentItem(widget.getPlotItem().getViewBox())
            self.empty_labels[key] = empty
            self.plots[key] = _Plot(key, widget)
            grid.addWidget(widget, i // 2, i % 2)
        layout.addLayout(grid, 1)
        self.per_task_view = self._per_task_axis(self.plots["cost"].widget)
        self.timer = QTimer(self)
        self.timer.setInterval(redraw_ms)
        self.timer.timeout.connect(self.redraw)  # runs only while the panel is shown
        self.set_dark(False)

    # data in -------------------------------------------------------------------------------
    def add_sample(self, metric: str, subject: str, ts: float, value: float) -> None:
        """Append one point (memory in bytes is shown in MB); redrawn on the next tick."""
        if metric == "latency_ms":
            self.add_latency(ts, value)
            return
        plot = self.plots[metric]
        plot.buffer(subject).append(ts, value / 1e6 if metric == "memory_bytes" else value)
        plot.dirty.add(subject)

    def add_latency(self, ts: float, ms: float) -> None:
        """Record one finished task's latency; p50/p95 are recomputed per bucket at redraw."""
        self._latency.append(ts, ms)
        self._latency_dirty = True

    def load_history(self, metric: str, points: Iterable[Any]) -> None:
        """Replace a plot's data with stored SeriesPoint-like objects (ts, value, subject)."""
        by_subject: dict[str, tuple[list[float], list[float]]] = {}
        if metric in ("latency_threshold_ms", "cost_threshold"):
            self.set_thresholds(points, metric)
            return
        if metric == "latency_ms":
            ts = [p.ts for p in points]
            vs = [p.value for p in points]
            self._latency.extend(ts, vs)
            self._latency_dirty = True
            return
        plot = self.plots[metric]
        scale = SCALE.get(metric, 1.0)
        for p in points:
            t, v = by_subject.setdefault(p.subject or PLOTS[metric][1].lower(), ([], []))
            t.append(p.ts)
            v.append(p.value * scale)
        for buf in plot.buffers.values():
            buf.clear()
        for subject, (t, v) in by_subject.items():
            values = np.cumsum(v) if metric == "cost" else v  # cost is drawn as a running total
            plot.buffer(subject).extend(t, values)
        plot.dirty.update(plot.buffers)

    @staticmethod
    def _per_task_axis(widget: pg.PlotWidget) -> pg.ViewBox:
        """A second view box on ``widget`` with its own right axis ("Per task", $), sharing the time axis."""
        item = widget.getPlotItem()
        view = pg.ViewBox(enableMouse=False)
        item.showAxis("right")
        item.scene().addItem(view)
        axis = item.getAxis("right")
        axis.linkToView(view)
        axis.setLabel("Threshold per task", units="$")  # SI prefix on: $0.000082 reads 82 µ$
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        view.setXLink(item)

        def follow() -> None:
            view.setGeometry(item.vb.sceneBoundingRect())
            view.linkedViewChanged(item.vb, view.XAxis)

        item.vb.sigResized.connect(follow)
        follow()
        return view

    def set_thresholds(self, points: Iterable[Any], metric: str = "latency_threshold_ms") -> None:
        """Draw each specialist's self-adjusting threshold as a dashed step line.

        ``latency_threshold_ms`` on the latency plot; ``cost_threshold`` ($ per task) on the
        cost plot's right-hand axis.
        """
        by_subject: dict[str, list[tuple[float, float]]] = {}
        for p in points:
            by_subject.setdefault(p.subject, []).append((p.ts, p.value))
        plot = self.plots["cost" if metric == "cost_threshold" else "latency_ms"].widget.getPlotItem()
        view = self.per_task_view if metric == "cost_threshold" else plot.vb
        for key in [k for k in self._thresholds if k[0] == metric and k[1] not in by_subject]:
            curve = self._thresholds.pop(key)
            view.removeItem(curve)
            plot.legend.removeItem(curve)
        for i, (subject, series) in enumerate(sorted(by_subject.items())):
            series.sort()
            xs = np.array([t for t, _ in series])
            ys = np.array([v for _, v in series])
            key = (metric, subject)
            if key not in self._thresholds:
                colour = PALETTE[(i + 4) % len(PALETTE)]
                pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)
                curve = pg.PlotDataItem(pen=pen, name=f"threshold {subject}", stepMode="left")
                view.addItem(curve)
                plot.legend.addItem(curve, f"threshold {subject}")
                self._thresholds[key] = curve
            if len(xs) == 1:  # one value: a flat line from then to now
                xs, ys = np.array([xs[0], time.time()]), np.array([ys[0], ys[0]])
            self._thresholds[key].setData(xs, ys)

    def threshold_lines(self, metric: str) -> dict[str, pg.PlotDataItem]:
        """The dashed threshold lines drawn for ``metric``, by specialist."""
        return {subject: curve for (m, subject), curve in self._thresholds.items() if m == metric}

    def clear_subject(self, metric: str, subject: str) -> None:
        """Remove one subject's curve (a container that was removed)."""
        plot = self.plots[metric]
        if subject in plot.curves:
            plot.widget.removeItem(plot.curves.pop(subject))
            plot.buffers.pop(subject, None)
            plot.dirty.discard(subject)

    def point_count(self, metric: str) -> int:
        """Points held for a metric (all subjects)."""
        if metric == "latency_ms":
            return len(self._latency)
        return sum(len(b) for b in self.plots[metric].buffers.values())

    # drawing -------------------------------------------------------------------------------
    def redraw(self, force: bool = False) -> None:
        """Push changed buffers to their curves and scroll the time window.

        Hidden panels skip the work (the buffers keep filling), and the window scrolls at
        most once a second: both keep the idle app near zero CPU.
        """
        if not force and not self.isVisible():
            return
        now = time.time()
        for plot in self.plots.values():
            for subject in plot.dirty:
                t, v = plot.buffers[subject].arrays()
                plot.curves[subject].setData(t, v)
            if plot.dirty:
                self.redraws += 1
            plot.dirty.clear()
        if self._latency_dirty:
            self._draw_latency()
            self._latency_dirty = False
        if not force and now - self._last_scroll < self.scroll_period_s():
            return
        self._last_scroll = now
        for key, label in self.empty_labels.items():
            has_data = self.point_count(key) > 0
            label.setVisible(not has_data)
            if not has_data:
                box = self.plots[key].widget.getPlotItem().getViewBox().boundingRect()
                label.setPos(box.center())
        lo = now - self.range_s if self.range_s else self._earliest(now)
        for plot in self.plots.values():
            plot.widget.setXRange(lo, now, padding=0.01)

    def scroll_period_s(self) -> float:
        """How often the time window moves: about a pixel's worth of time, 2–60 s.

        Moving the window repaints every axis (the costliest part of a redraw), and a
        5-minute window only moves ~1 px/s, so scrolling more often shows nothing new.
        """
        span = self.range_s if self.range_s is not None else 86400.0
        return min(60.0, max(2.0, span / 300.0))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._stopped:
            self._last_scroll = 0.0  # catch up at once with what arrived while hidden
            self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        self.timer.stop()  # hidden charts cost nothing; buffers keep filling
        super().hideEvent(event)

    def _earliest(self, now: float) -> float:
        starts = [b.arrays()[0][0] for p in self.plots.values() for b in p.buffers.values() if len(b)]
        if len(self._latency):
            starts.append(self._latency.arrays()[0][0])
        return min(starts) if starts else now - 300

    def _draw_latency(self) -> None:
        t, v = self._latency.arrays()
        plot = self.plots["latency_ms"]
        if not len(t):
            return
        span = (self.range_s or max(60.0, t[-1] - t[0])) / 60
        width = max(span, 2.0)
        bins = np.floor(t / width).astype(np.int64)
        edges = np.flatnonzero(np.diff(bins)) + 1
        groups_t = np.split(t, edges)
        groups_v = np.split(v, edges)
        centres = np.array([g[-1] for g in groups_t])
        p50 = np.array([np.percentile(g, 50) for g in groups_v])
        p95 = np.array([np.percentile(g, 95) for g in groups_v])
        gaps = np.flatnonzero(np.diff(centres) > 3 * width) + 1  # idle stretches: break the line
        if len(gaps):
            centres = np.insert(centres, gaps, centres[gaps - 1] + width)
            p50 = np.insert(p50, gaps, np.nan)
            p95 = np.insert(p95, gaps, np.nan)
        plot.buffer("p50").extend(centres, p50)
        plot.buffer("p95").extend(centres, p95)
        for name in ("p50", "p95"):
            ct, cv = plot.buffers[name].arrays()
            plot.curves[name].setData(ct, cv)
        self.redraws += 1

    # controls ------------------------------------------------------------------------------
    def _on_range_clicked(self, index: int) -> None:
        self.set_range(RANGES[index][1])

    def set_range(self, seconds: float | None) -> None:
        """Show the last ``seconds`` (None = everything) and ask for stored history."""
        self.range_s = seconds
        for i, (_, s) in enumerate(RANGES):
            self.range_buttons.button(i).setChecked(s == seconds)
        self._latency_dirty = True
        self._last_scroll = 0.0
        self.sig_range_changed.emit(seconds)

    def set_dark(self, dark: bool) -> None:
        """Match the plot colours to the window theme."""
        bg, fg = ("#1e2228", "#c9d1d9") if dark else ("#ffffff", "#3b4450")
        for plot in self.plots.values():
            plot.widget.setBackground(bg)
            item = plot.widget.getPlotItem()
            item.titleLabel.setText(item.titleLabel.text, color=fg, size="10pt", bold=True)
            for axis in ("left", "bottom", "right"):
                ax = item.getAxis(axis)
                ax.setPen(pg.mkPen(fg, width=1))
                ax.setTextPen(pg.mkPen(fg))

    def stop(self) -> None:
        """Stop the redraw timer for good (the window is closing)."""
        self._stopped = True
        self.timer.stop()
