"""The router's retrains in the Improvements tab: the before/after chart and "Retrain router now"."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.engine.core.views import RouterRetrainView
from widgets.router_training import summary_text

pytestmark = pytest.mark.gui


def _retrain(hours_ago: float, before: float, after: float, kept: bool = True) -> RouterRetrainView:
    reason = (
        f"router retrained on 60 examples: held-back accuracy {before:.0%} -> {after:.0%} (14 tasks)"
        if kept
        else (
            "router refit rejected, previous model kept: "
            f"held-back accuracy would fall {before:.0%} -> {after:.0%} (14 tasks)"
        )
    )
    return RouterRetrainView(
        kept=kept,
        examples=60,
        held_back=14,
        held_before=before,
        held_after=after,
        catalogue=371,
        catalogue_before=1.0,
        catalogue_after=1.0,
        reason=reason,
        ts=time.time() - hours_ago * 3600,
    )


def _open_tab(qtbot, window, controller) -> None:
    loads = controller.improvements.loads
    window.tabs.setCurrentIndex(window.TAB_IMPROVEMENTS)
    qtbot.waitUntil(lambda: controller.improvements.loads > loads, timeout=5000)


def test_the_chart_shows_before_after_and_refused_refits_and_retrain_now_adds_one(qtbot, fake_panel):
    window, controller, orch = fake_panel
    orch.router_retrains.extend([_retrain(9, 0.61, 0.71), _retrain(6, 0.71, 0.64, kept=False), _retrain(3, 0.71, 0.86)])
    _open_tab(qtbot, window, controller)
    view = window.improvements.router
    qtbot.waitUntil(lambda: len(view.rows) == 3, timeout=5000)
    assert view.has_chart() and not view.empty.isVisible()
    counts = {c: view.point_count(c) for c in ("before", "after", "catalogue", "rejected")}
    assert counts == {"before": 3, "after": 2, "catalogue": 2, "rejected": 1}
    assert view.summary.text().startswith("Last retrain 3 h ago: held-back 71% → 86% (14 tasks), catalogue 100% (kept)")
    assert view.summary.toolTip() == orch.router_retrains[-1].reason

    qtbot.mouseClick(view.retrain_button, Qt.MouseButton.LeftButton)
    assert not view.retrain_button.isEnabled() and view.retrain_button.text() == "Retraining…"
    qtbot.waitUntil(lambda: len(view.rows) == 4 and view.retrain_button.isEnabled(), timeout=5000)
    assert ("retrain_router", (), {}) in orch.calls
    assert window.status_message.text() == orch.router_retrains[-1].reason
    assert view.point_count("after") == 3 and view.summary.text().startswith(
        "Last retrain just now: held-back 86% → 94%"
    )


def test_without_any_retrain_the_section_says_how_one_happens_and_loads_no_chart(qtbot, fake_panel):
    window, controller, _orch = fake_panel
    _open_tab(qtbot, window, controller)
    view = window.improvements.router
    assert view.empty.isVisible() and view.plot is None and view.summary.text() == ""
    assert "retrains by itself" in view.empty.text()


def test_the_summary_says_when_the_latest_refit_was_refused():
    rows = [_retrain(1, 0.9, 0.8, kept=False)]
    text = summary_text(rows, now=rows[0].ts + 120)
    assert text == (
        "Last retrain 2 min ago: held-back 90% → 80% (14 tasks), "
        "catalogue 100% (refit rejected, previous model kept) · 1 retrain(s)"
    )
    assert summary_text([]) == ""
