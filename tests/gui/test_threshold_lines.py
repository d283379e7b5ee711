"""The controller's thresholds on the charts: p95 latency on the latency plot, cost per task on the cost plot."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt

from app.engine.core.views import SeriesPoint
from widgets.charts import ChartPanel


def test_the_metrics_tab_asks_for_the_cost_threshold_and_draws_it_against_a_per_task_axis(qtbot, fake_panel):
    window, _controller, orch = fake_panel
    window.tabs.setCurrentIndex(window.TAB_METRICS)
    window.charts.set_range(3600.0)
    qtbot.waitUntil(lambda: bool(window.charts.threshold_lines("cost_threshold")), timeout=3000)
    assert any(c[0] == "series" and c[1][0] == "cost_threshold" for c in orch.calls)
    line = window.charts.threshold_lines("cost_threshold")["sb-numerical-00000001"]
    assert line.getViewBox() is window.charts.per_task_view, "its own axis: the cost plot's curves are totals"
    assert line.opts["pen"].style() == Qt.PenStyle.DashLine
    assert list(line.yData) == [float(i) for i in range(0, 60, 5)]
    legend = window.charts.plots["cost"].widget.getPlotItem().legend
    assert "threshold sb-numerical-00000001" in [label.text for _, label in legend.items]
    shot = os.environ.get("SWITCHBOARD_SHOT")  # e.g. /tmp/thresholds.png, to look at the drawing
    if shot:
        window.resize(1400, 900)
        qtbot.wait(300)
        window.charts.redraw(force=True)
        window.grab().save(shot)


def test_cost_and_latency_threshold_lines_are_kept_apart_and_follow_the_specialists(qtbot):
    panel = ChartPanel()
    qtbot.addWidget(panel)
    now = time.time()
    cost = [
        SeriesPoint(now - 120, 0.000082, "numerical"),
        SeriesPoint(now - 60, 0.000110, "numerical"),
        SeriesPoint(now, 0.000110, "numerical"),
        SeriesPoint(now - 90, 0.000050, "data-analytics"),
    ]
    panel.load_history("cost_threshold", cost)
    panel.load_history("latency_threshold_ms", [SeriesPoint(now - 30, 1910.0, "numerical")])
    lines = panel.threshold_lines("cost_threshold")
    assert set(lines) == {"numerical", "data-analytics"}
    assert list(lines["numerical"].yData) == [0.000082, 0.000110, 0.000110], "each change, then now"
    assert lines["data-analytics"].xData[-1] >= now, "one value: a flat line to the present"
    latency = panel.threshold_lines("latency_threshold_ms")
    assert set(latency) == {"numerical"}
    assert latency["numerical"].getViewBox() is panel.plots["latency_ms"].widget.getPlotItem().vb
    right = panel.plots["cost"].widget.getPlotItem().getAxis("right")
    assert right.isVisible() and right.labelText == "Threshold per task"

    panel.load_history("cost_threshold", cost[:3])  # data-analytics' cost threshold went away (rates set to 0)
    assert set(panel.threshold_lines("cost_threshold")) == {"numerical"}
    assert lines["data-analytics"].getViewBox() is None, "its line is gone from the plot"
    assert set(panel.threshold_lines("latency_threshold_ms")) == {"numerical"}, "the latency lines are left alone"
    panel.stop()
