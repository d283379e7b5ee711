"""The fast router's retrains: accuracy before and after each one, and a button to retrain now.

Plain data in (:meth:`RouterTrainingView.set_history` takes objects with the fields of
``RouterRetrainView``: ``ts``, ``held_before``, ``held_after`` (shares 0..1 or ``None``),
``held_back``, ``catalogue_after``, ``kept``, ``reason``; this module never imports the engine);
``sig_retrain_requested`` out. pyqtgraph is imported when the chart is first drawn, so the
window paints before it loads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["RouterTrainingView", "summary_text"]

BEFORE, AFTER, CATALOGUE, REJECTED = "#8b95a3", "#2f7de1", "#2fa35a", "#d0463c"
Y_RANGE = (-3.0, 106.0)  # 0 % and 100 % stay inside the frame, with their tick labels
EMPTY = (
    "No retrain yet: the fast router retrains by itself once enough new feedback arrived\n"
    "(corrections and answers marked correct), or press “Retrain router now”."
)


def _pct(x: Any) -> str:
    return "–" if x is None else f"{float(x) * 100:.0f}%"


def _ago(ts: float, now: float) -> str:
    seconds = max(0.0, now - ts)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


def summary_text(rows: Sequence[Any], now: float | None = None) -> str:
    """One line about the latest retrain (``rows`` oldest first); empty without any."""
    if not rows:
        return ""
    last = rows[-1]
    now = time.time() if now is None else now
    held = (
        f"held-back {_pct(last.held_before)} → {_pct(last.held_after)} ({last.held_back} tasks)"
        if last.held_after is not None
        else "no held-back tasks yet"
    )
    outcome = "kept" if last.kept else "refit rejected, previous model kept"
    return (
        f"Last retrain {_ago(float(last.ts), now)}: {held}, catalogue "
        f"{_pct(last.catalogue_after)} ({outcome}) · {len(rows)} retrain(s)"
    )


class RouterTrainingView(QWidget):
    """Held-back and catalogue accuracy of the fast router at each retrain, and Retrain now."""

    sig_retrain_requested = Signal()
    """The user asked to retrain the fast router from its stored feedback now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        head = QHBoxLayout()
        title = QLabel("Router retraining")
        title.setObjectName("sectionTitle")
        head.addWidget(title)
        head.addSpacing(12)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        self.summary.setToolTip(
            "Each retrain refits the fast router on the stored feedback except a held-back slice "
            "(about one text in five, never fitted), and keeps the new model only if it is not worse "
            "on that slice and on the catalogue's own examples"
        )
        head.addWidget(self.summary, 1)
        self.retrain_button = QPushButton("Retrain router now")
        self.retrain_button.setToolTip("Refit the fast router from all stored feedback and measure it (a few seconds)")
        self.retrain_button.clicked.connect(self.sig_retrain_requested)
        head.addWidget(self.retrain_button)
        layout.addLayout(head)
        self.chart_host = QVBoxLayout()
        self.chart_host.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel(EMPTY)
        self.empty.setObjectName("muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMinimumHeight(80)
        self.chart_host.addWidget(self.empty)
        layout.addLayout(self.chart_host, 1)
        self.rows: list[Any] = []
        self.plot: Any = None  # pg.PlotWidget, made on first draw
        self._curves: dict[str, Any] = {}
        self._dark = False

    # data in -------------------------------------------------------------------------------
    def set_history(self, rows: Sequence[Any]) -> None:
        """Show every retrain (any order); redraws the chart."""
        self.rows = sorted(rows, key=lambda r: float(r.ts))
        self.summary.setText(summary_text(self.rows))
        if self.rows:
            self.summary.setToolTip(str(self.rows[-1].reason))
        self.empty.setVisible(not self.rows)
        if self.rows:
            self._draw()
        elif self.plot is not None:
            self.plot.hide()

    def set_busy(self, busy: bool, message: str = "") -> None:
        """While a retrain runs the button is off and says so; ``message`` replaces the summary."""
        self.retrain_button.setEnabled(not busy)
        self.retrain_button.setText("Retraining…" if busy else "Retrain router now")
        if message:
            self.summary.setText(message)
            self.summary.setToolTip(message)

    def set_dark(self, dark: bool) -> None:
        """Match the chart to the window theme."""
        self._dark = dark
        if self.plot is not None:
            self._style()

    # drawing -------------------------------------------------------------------------------
    def _ensure_plot(self) -> Any:
        if self.plot is not None:
            return self.plot
        import pyqtgraph as pg

        plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        plot.setObjectName("routerAccuracyChart")
        plot.setTitle("Router accuracy at each retrain")
        plot.setLabel("left", "Accuracy (%)")
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMouseEnabled(x=True, y=False)
        plot.setYRange(*Y_RANGE, padding=0)
        plot.setMinimumHeight(190)
        plot.getPlotItem().setMenuEnabled(False)
        plot.setToolTip(
            "Held-back: feedback never fitted, measured before (grey) and after (blue) each refit. "
            "Catalogue: the manifests' own examples after the refit. A red × is a refit that was worse "
            "and thrown away."
        )
        plot.addLegend(offset=(10, -8), labelTextSize="8pt", colCount=4)  # bottom left: accuracies sit high
        self._curves = {
            "moves": pg.PlotDataItem(pen=pg.mkPen(BEFORE, width=1), connect="pairs"),
            "before": pg.PlotDataItem(
                pen=None,
                symbol="o",
                symbolSize=7,
                symbolPen=pg.mkPen(BEFORE, width=1.5),
                symbolBrush=None,
                name="held-back, before",
            ),
            "after": pg.PlotDataItem(
                pen=pg.mkPen(AFTER, width=2),
                symbol="o",
                symbolSize=7,
                symbolBrush=AFTER,
                symbolPen=None,
                name="held-back, after",
            ),
            "catalogue": pg.PlotDataItem(
                pen=pg.mkPen(CATALOGUE, width=1.5),
                symbol="t",
                symbolSize=6,
                symbolBrush=CATALOGUE,
                symbolPen=None,
                name="catalogue, after",
            ),
            "rejected": pg.PlotDataItem(
                pen=None,
                symbol="x",
                symbolSize=11,
                symbolBrush=REJECTED,
                symbolPen=pg.mkPen(REJECTED, width=1.5),
                name="rejected refit",
            ),
        }
        for curve in self._curves.values():
            plot.addItem(curve)
        self.chart_host.addWidget(plot)
        self.plot = plot
        self._style()
        return plot

    def _style(self) -> None:
        import pyqtgraph as pg

        bg, fg = ("#1e2228", "#c9d1d9") if self._dark else ("#ffffff", "#3b4450")
        self.plot.setBackground(bg)
        item = self.plot.getPlotItem()
        item.titleLabel.setText(item.titleLabel.text, color=fg, size="10pt", bold=True)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(fg, width=1))
            axis.setTextPen(pg.mkPen(fg))
        if item.legend is not None:
            item.legend.setLabelTextColor(fg)

    def _draw(self) -> None:
        """Draw :attr:`rows` (at least one)."""
        plot = self._ensure_plot()

        def series(key: str, rows: Sequence[Any]) -> tuple[list[float], list[float]]:
            picked = [(float(r.ts), float(getattr(r, key)) * 100) for r in rows if getattr(r, key) is not None]
            return [t for t, _ in picked], [v for _, v in picked]

        kept = [r for r in self.rows if r.kept]
        rejected = [r for r in self.rows if not r.kept]
        self._curves["before"].setData(*series("held_before", self.rows))
        self._curves["after"].setData(*series("held_after", kept))
        self._curves["catalogue"].setData(*series("catalogue_after", kept))
        self._curves["rejected"].setData(*series("held_after", rejected))
        xs: list[float] = []
        ys: list[float] = []
        for r in self.rows:  # a thin stroke from before to after: the move of each retrain
            if r.held_before is not None and r.held_after is not None:
                xs += [float(r.ts)] * 2
                ys += [float(r.held_before) * 100, float(r.held_after) * 100]
        self._curves["moves"].setData(xs, ys)
        first, last = float(self.rows[0].ts), float(self.rows[-1].ts)
        margin = max(60.0, (last - first) * 0.08)
        plot.setXRange(first - margin, last + margin, padding=0)
        plot.setYRange(*Y_RANGE, padding=0)
        plot.show()

    def has_chart(self) -> bool:
        """Whether the chart was drawn (tests)."""
        return self.plot is not None and self.plot.isVisibleTo(self)

    def point_count(self, curve: str) -> int:
        """Points drawn on one curve: ``before``, ``after``, ``catalogue`` or ``rejected`` (tests)."""
        if not self._curves:
            return 0
        xs = self._curves[curve].getData()[0]
        return 0 if xs is None else len(xs)
