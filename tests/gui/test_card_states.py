"""Which lifecycle buttons a specialist card offers in each state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.gui.fake_orchestrator import _spec
from widgets.specialist_card import SpecialistCard

pytestmark = pytest.mark.gui


@pytest.mark.parametrize(
    ("state", "replicas", "start", "stop"),
    [
        ("not_built", 0, True, False),
        ("stopped", 0, True, False),
        ("building", 0, False, False),
        ("running", 1, True, True),
    ],
)
def test_buttons_follow_state(qtbot, state: str, replicas: int, start: bool, stop: bool) -> None:
    card = SpecialistCard("numerical")
    qtbot.addWidget(card)
    view = replace(_spec("numerical", "Numerical", (".csv",), ("2+2",)), state=state, replicas=replicas)
    card.set_view(view)
    assert card._start_btn.isEnabled() is start
    assert card._stop_btn.isEnabled() is stop


def test_start_on_a_card_without_image_asks_to_start(qtbot) -> None:
    """Starting builds the image first, so a card that was never built can still start."""
    card = SpecialistCard("numerical")
    qtbot.addWidget(card)
    card.set_view(replace(_spec("numerical", "Numerical", (".csv",), ("2+2",)), state="not_built", replicas=0))
    with qtbot.waitSignal(card.sig_start_requested, timeout=2000) as blocker:
        card._start_btn.click()
    assert blocker.args == ["numerical"]
