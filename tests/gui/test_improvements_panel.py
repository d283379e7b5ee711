"""The Improvements tab against the fake orchestrator: variants side by side, proposals accepted and dismissed."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.engine.core.events import Decision
from app.engine.core.views import ProposalView, VariantView
from widgets.variants_view import state_label, wilson

pytestmark = pytest.mark.gui


def _proposal(pid: str, name: str, size: int = 6) -> ProposalView:
    return ProposalView(
        id=pid,
        name=name,
        title=name.replace("-", " ").title(),
        state="open",
        size=size,
        growth=2,
        windows=2,
        description=f"Tasks about {name.replace('-', ', ')} that no specialist served well.",
        examples=tuple(f"translate example {i} into french" for i in range(size)),
        origins={"refused": size - 1, "low_confidence": 1},
        scaffold_dir=f"/tmp/sb/proposals/{pid}/{name}",
        created_at=time.time(),
    )


def _variants(orch, specialist: str = "numerical") -> None:
    common = {"specialist": specialist, "base_model": "smollm2-135m"}
    orch._variants[specialist] = [
        VariantView(
            id=f"{specialist}-v1",
            version=1,
            state="retired",
            model_name=f"switchboard-{specialist}-v1",
            tasks=200,
            successes=150,
            success_rate=0.75,
            p95_ms=2300.0,
            reason="replaced by v2: P(better)=0.97 after 41 tasks",
            **common,
        ),
        VariantView(
            id=f"{specialist}-v2",
            version=2,
            state="incumbent",
            model_name=f"switchboard-{specialist}-v2",
            tasks=41,
            successes=35,
            success_rate=35 / 41,
            p95_ms=2100.0,
            example_ids=("a", "b"),
            **common,
        ),
        VariantView(
            id=f"{specialist}-v3",
            version=3,
            state="candidate",
            model_name=f"switchboard-{specialist}-v3",
            tasks=9,
            successes=7,
            success_rate=7 / 9,
            p95_ms=1900.0,
            p_better=0.41,
            **common,
        ),
        VariantView(
            id=f"{specialist}-v4",
            version=4,
            state="retired",
            model_name=f"switchboard-{specialist}-v4",
            tasks=12,
            successes=4,
            success_rate=4 / 12,
            p95_ms=2600.0,
            reason="rolled back: P(better)=0.02 after 30 trial tasks",
            **common,
        ),
    ]
    orch.decision_log.extend(
        [
            Decision(
                kind="variant_created", subject=specialist, reason="created numerical v3 from v2: 4 few-shot examples"
            ),
            Decision(kind="variant_replayed", subject=specialist, reason="v3 passed the replay gate: 18/20 vs 17/20"),
            Decision(kind="scale", subject=specialist, reason="not about variants"),
        ]
    )


def _open_tab(qtbot, window, controller) -> None:
    loads = controller.improvements.loads
    window.tabs.setCurrentIndex(window.TAB_IMPROVEMENTS)
    qtbot.waitUntil(lambda: controller.improvements.loads > loads, timeout=5000)


def test_variants_show_side_by_side_with_intervals_and_history(qtbot, fake_panel):
    window, controller, orch = fake_panel
    _variants(orch)
    _open_tab(qtbot, window, controller)
    view = window.improvements.variants
    view.picker.setCurrentText("numerical")
    qtbot.waitUntil(lambda: len(view.cards) == 4, timeout=5000)
    assert [c.state for c in view.cards] == ["replaced", "promoted", "candidate", "rolled back"]
    assert view.cards[1].figures["success"].text() == "85%"
    assert view.cards[1].figures["p95 latency"].text() == "2.10 s"
    assert view.cards[2].figures["P(better)"].text() == "0.41"
    assert "live v2" in view.summary.text() and "1 on trial" in view.summary.text()
    history = [view.history.item(i).text() for i in range(view.history.count())]
    assert len(history) == 2 and all("variant" in h for h in history)  # only this specialist's variant decisions
    ys = [c.geometry().y() for c in view.cards]
    xs = [c.geometry().x() for c in view.cards]
    assert len(set(ys)) == 1 and xs == sorted(xs)  # side by side, by version
    qtbot.waitUntil(lambda: view.examples_label.text().startswith("Examples: 10 (8 seed, 2 from"), timeout=5000)
    text = view.examples_label.text()
    assert "8 examples → 60% of 20 tasks, hold-out 55%" in text and "10 examples → 75% of 12 tasks" in text


def test_a_proposal_is_accepted_with_build_progress_and_becomes_a_specialist(qtbot, fake_panel):
    window, controller, orch = fake_panel
    _open_tab(qtbot, window, controller)
    proposals = window.improvements.proposals
    assert proposals.empty.isVisible() and proposals.cards == {}
    orch.add_proposal(_proposal("p-0000000001", "translate-french"))  # its decision reloads the tab
    qtbot.waitUntil(lambda: "p-0000000001" in proposals.cards, timeout=5000)
    card = proposals.cards["p-0000000001"]
    assert not proposals.empty.isVisible() and "1 open" in proposals.summary.text()
    texts = " ".join(label.text() for label in card.findChildren(type(card.status)))
    assert "Translate French" in texts and "translate example 0 into french" in texts and "and 2 more" in texts
    progress: list[float | None] = []
    controller.bridge.sig_build_progressed.connect(lambda e: progress.append(e.fraction))
    qtbot.mouseClick(card.accept_button, Qt.MouseButton.LeftButton)
    assert not card.accept_button.isEnabled() and not card.progress.isHidden()  # "building" at once
    qtbot.waitUntil(lambda: ("accept_proposal", ("p-0000000001",), {}) in orch.calls, timeout=5000)
    qtbot.waitUntil(
        lambda: (
            "p-0000000001" in proposals.cards
            and "Accepted" in proposals.cards["p-0000000001"].status.text()
            and not proposals.cards["p-0000000001"].accept_button.isVisible()
        ),
        timeout=5000,
    )
    assert progress and progress[-1] == 1.0
    qtbot.waitUntil(lambda: "translate-french" in window.cards.cards, timeout=5000)  # a specialist card now
    assert "0 open · 1 accepted" in proposals.summary.text()


def test_a_dismissed_proposal_disappears(qtbot, fake_panel):
    window, controller, orch = fake_panel
    _open_tab(qtbot, window, controller)
    proposals = window.improvements.proposals
    orch.add_proposal(_proposal("p-0000000002", "recipe-cook", size=5))
    qtbot.waitUntil(lambda: "p-0000000002" in proposals.cards, timeout=5000)
    qtbot.mouseClick(proposals.cards["p-0000000002"].dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: proposals.cards == {}, timeout=5000)
    assert ("dismiss_proposal", ("p-0000000002",), {}) in orch.calls
    assert "Dismissed recipe-cook" in window.status_message.text()


def test_wilson_interval_and_state_labels():
    assert wilson(0, 0) is None
    low, high = wilson(35, 41)
    assert 0.70 < low < 0.75 and 0.92 < high < 0.95
    assert wilson(10, 10)[1] == 1.0
    v = VariantView(id="x-v1", specialist="x", version=1, state="incumbent", base_model="m", model_name="m1")
    assert state_label(v) == "live"
    assert (
        state_label(
            VariantView(
                id="x-v2",
                specialist="x",
                version=2,
                state="retired",
                base_model="m",
                model_name="m2",
                reason="retired x v2: superseded by v3 before its replay",
            )
        )
        == "retired"
    )
