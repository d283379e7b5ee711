"""Which variant of an already chosen specialist serves the next task.

The router picks the specialist; this module only picks among that specialist's incumbent and
its live candidates, and never returns a variant of another specialist. Two policies (setting
``variant_chooser``):

* ``thompson`` (default): draw a success rate from each variant's Beta posterior and take the
  highest draw. Traffic follows the evidence: a clearly worse candidate is soon starved, while
  an untested one is still tried in proportion to how plausibly it is the best.
* ``ab``: a fixed split; the candidates together get ``ab_share`` of the traffic (shared
  equally), the incumbent the rest. Slower to exploit, but its figures are easy to read.

Given a seeded :class:`random.Random` both are deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Literal

from app.engine.improve.stats import PRIOR, Tally
from app.engine.improve.variants import Variant, VariantState

__all__ = ["ChooserKind", "VariantChooser"]

ChooserKind = Literal["thompson", "ab"]


class VariantChooser:
    """Pick a variant among one specialist's incumbent and live candidates.

    Parameters
    ----------
    kind
        ``thompson`` or ``ab``.
    rng
        The randomness used (a seeded ``random.Random`` makes choices reproducible).
    ab_share
        Share of traffic the candidates get together under ``ab`` (0 < share < 1).
    """

    def __init__(
        self, kind: ChooserKind = "thompson", rng: random.Random | None = None, *, ab_share: float = 0.5
    ) -> None:
        if kind not in ("thompson", "ab"):
            raise ValueError(f"variant chooser must be thompson or ab, not {kind!r}")
        if not 0.0 < ab_share < 1.0:
            raise ValueError("ab_share must be strictly between 0 and 1")
        self.kind: ChooserKind = kind
        self.rng = rng or random.Random()
        self.ab_share = ab_share

    def choose(self, variants: Sequence[Variant], tallies: Mapping[str, Tally]) -> Variant | None:
        """The variant for the next task, or ``None`` when the specialist has no incumbent.

        ``variants`` are one specialist's variants (any states; only the incumbent and
        candidates are eligible); ``tallies`` maps variant id -> its live outcomes.
        """
        specialists = {v.specialist for v in variants}
        if len(specialists) > 1:
            raise ValueError(f"variants of several specialists given: {', '.join(sorted(specialists))}")
        incumbent = next((v for v in variants if v.state == VariantState.INCUMBENT), None)
        candidates = [v for v in variants if v.state == VariantState.CANDIDATE]
        if incumbent is None:
            return None
        if not candidates:
            return incumbent
        if self.kind == "ab":
            if self.rng.random() >= self.ab_share:
                return incumbent
            return candidates[self.rng.randrange(len(candidates))]
        best, best_draw = incumbent, -1.0
        for variant in (incumbent, *candidates):
            tally = tallies.get(variant.id) or Tally()
            draw = self.rng.betavariate(PRIOR[0] + tally.successes, PRIOR[1] + tally.failures)
            if draw > best_draw:
                best, best_draw = variant, draw
        return best
