"""Retraining the fast router from feedback, bounded and checked.

Feedback is ``(task text, files, right label)`` from the user's corrections (and any other
confirmed outcome the caller passes). Three safety rules keep a bad batch of labels from
breaking routing:

1. **Bounded**: the same text keeps only its latest label, and only the newest
   :data:`MAX_FEEDBACK` events are used; the fast router additionally caps each class's
   feedback weight at its manifest weight (``fast.FEEDBACK_SHARE``), and the manifest
   examples are always part of the fit.
2. **Checked**: after the fit, the catalogue's own example tasks and routing examples are
   routed; if the share refused (``none``) rose by more than :data:`MAX_REFUSAL_RISE` over
   the catalogue-only baseline, the ``none``-labelled feedback is dropped and the fit
   repeated, and if that still fails, all feedback is dropped.
3. **Reported**: the caller gets what was kept and why, to log or show.

A retrain from stored feedback (:func:`checked_retrain`) is also **measured**: a deterministic
slice of the feedback (:func:`held_back`: about :data:`HOLDOUT_SHARE` of the texts, chosen by a
stable hash of the normalised text, so the same text is always on the same side, in every
process) is never fitted; the fast router's top-1 accuracy on it, and on the catalogue's own
examples, is taken before and after the refit. A refit that is worse on the held-back slice, or
that loses more than :data:`MAX_CATALOGUE_DROP` on the catalogue, is thrown away and the
previous model stays.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.engine.routing.fast import NONE, FastRouter
from app.engine.routing.features import normalise

__all__ = [
    "HOLDOUT_SHARE",
    "MAX_CATALOGUE_DROP",
    "MAX_FEEDBACK",
    "MAX_REFUSAL_RISE",
    "RetrainResult",
    "accuracy",
    "bounded_feedback",
    "catalogue_probe",
    "checked_retrain",
    "held_back",
    "refusal_rate",
    "safe_retrain",
    "split_held_back",
]

MAX_FEEDBACK = 2000
MAX_REFUSAL_RISE = 0.02
HOLDOUT_SHARE = 0.2
# The catalogue's examples are fitted (in-sample accuracy ~0.99); feedback may move a borderline
# one or two of the ~330 but a refit that loses more than this share of them is refused.
MAX_CATALOGUE_DROP = 0.01

Feedback = tuple[str, list[str], str]


def bounded_feedback(
    items: Sequence[tuple[str, list[str], str]], limit: int = MAX_FEEDBACK
) -> list[tuple[str, list[str], str]]:
    """Latest label per (normalised text, files), oldest first, at most ``limit`` newest."""
    latest: dict[tuple[str, tuple[str, ...]], tuple[str, list[str], str]] = {}
    for text, files, label in items:
        key = (normalise(text), tuple(sorted(files)))
        latest.pop(key, None)  # re-insert: dict order = order of the latest event
        latest[key] = (text, list(files), label)
    return list(latest.values())[-limit:]


def catalogue_probe(router: FastRouter) -> list[tuple[str, str]]:
    """(text, id) for every example task and routing example of the catalogue."""
    return [(t, s.id) for s in router.specs for t in (*s.example_tasks, *s.routing_examples)]


def refusal_rate(router: FastRouter, probe: Sequence[tuple[str, str]]) -> float:
    """Share of ``probe`` texts (all in scope) that ``router`` sends to ``none``."""
    if not probe:
        return 0.0
    return sum(router.predict(text).best == NONE for text, _ in probe) / len(probe)


def safe_retrain(router: FastRouter, feedback: Sequence[tuple[str, list[str], str]]) -> dict[str, Any]:
    """Refit ``router`` on the catalogue + ``feedback``, falling back as the module explains.

    Costs one to three fits (0.2-2 s each, more with thousands of events) plus routing the
    ~330 catalogue examples per fit (~0.1 s).
    """
    probe = catalogue_probe(router)
    if not feedback:
        router.refit([])
        return {"kept": 0, "dropped": 0, "fallback": ""}
    baseline = router.baseline_refusal
    if baseline is None:
        if router.extra:
            router.refit([])
        baseline = router.baseline_refusal = refusal_rate(router, probe)
    attempts: tuple[tuple[str, list[tuple[str, list[str], str]]], ...] = (
        ("", list(feedback)),
        ("dropped none labels", [f for f in feedback if f[2] != NONE]),
        ("dropped all feedback", []),
    )
    for reason, kept in attempts:
        router.refit(kept)
        rate = refusal_rate(router, probe)
        if rate <= baseline + MAX_REFUSAL_RISE or not kept:
            return {
                "kept": len(kept),
                "dropped": len(feedback) - len(kept),
                "fallback": reason,
                "catalogue_refusal_rate": round(rate, 4),
                "baseline_refusal_rate": round(baseline, 4),
            }
    raise AssertionError("unreachable: the last attempt keeps nothing")


def held_back(text: str, share: float = HOLDOUT_SHARE) -> bool:
    """Whether ``text`` is in the held-back slice (never fitted, only measured).

    sha256 of the normalised text, not Python's per-process salted ``hash``: the slice is the
    same in every process and after every restart, and a text that differs only in case,
    accents or spacing stays on the same side.
    """
    digest = hashlib.sha256(normalise(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < share * 2**64


def split_held_back(items: Sequence[Feedback], share: float = HOLDOUT_SHARE) -> tuple[list[Feedback], list[Feedback]]:
    """``(fit, held)``: the feedback to fit and the held-back slice, each in the given order."""
    fit: list[Feedback] = []
    held: list[Feedback] = []
    for item in items:
        (held if held_back(item[0], share) else fit).append(item)
    return fit, held


def accuracy(
    router: FastRouter, cases: Sequence[tuple[str, list[str], str]] | Sequence[tuple[str, str]]
) -> float | None:
    """Share of ``cases`` whose label is the fast router's top choice (``None`` for no cases)."""
    if not cases:
        return None
    hits = 0
    for case in cases:
        text, files, label = (case[0], [], case[1]) if len(case) == 2 else case  # type: ignore[misc]
        hits += router.predict(str(text), list(files)).best == label
    return hits / len(cases)


@dataclass(frozen=True)
class RetrainResult:
    """What a checked retrain measured and whether its model was kept.

    ``held_*`` are ``None`` when the held-back slice is empty (nothing to judge the refit by
    but the catalogue).
    """

    kept: bool
    fitted: int  # feedback examples in the fit (after dedup and the safety rules)
    dropped: int  # feedback examples the safety rules left out
    fallback: str  # which safety rule dropped them ("" when none)
    held_back: int
    held_before: float | None
    held_after: float | None
    catalogue: int
    catalogue_before: float
    catalogue_after: float
    rejected_because: str  # "" when kept
    seconds: float

    def as_data(self) -> dict[str, Any]:
        """The figures as a JSON-safe dict (rounded), for a decision's ``data``."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "kept": self.kept,
            "examples": self.fitted,
            "dropped": self.dropped,
            "fallback": self.fallback,
            "held_back": self.held_back,
            "held_before": r(self.held_before),
            "held_after": r(self.held_after),
            "catalogue": self.catalogue,
            "catalogue_before": r(self.catalogue_before),
            "catalogue_after": r(self.catalogue_after),
            "rejected_because": self.rejected_because,
            "seconds": round(self.seconds, 2),
        }


def checked_retrain(
    current: FastRouter,
    fit: Sequence[Feedback],
    held: Sequence[Feedback],
    *,
    max_catalogue_drop: float = MAX_CATALOGUE_DROP,
) -> tuple[FastRouter, RetrainResult]:
    """Refit a copy of ``current`` on ``fit``, measure both on ``held`` and the catalogue, pick one.

    ``current`` is never modified (the copy is refitted), so a caller can keep routing with it
    while this runs and swap in the returned router afterwards. Returns the router to use
    (the refit one when kept, else ``current``) and the figures. Costs the refit
    (:func:`safe_retrain`) plus routing the held-back slice and the catalogue twice.
    """
    start = time.perf_counter()
    held = bounded_feedback(held)
    probe = catalogue_probe(current)
    held_before, cat_before = accuracy(current, held), accuracy(current, probe) or 0.0
    candidate = copy.copy(current)  # refit rebinds every fitted attribute: current stays intact
    report = safe_retrain(candidate, bounded_feedback(fit))
    held_after, cat_after = accuracy(candidate, held), accuracy(candidate, probe) or 0.0
    why = ""
    if held_before is not None and held_after is not None and held_after < held_before:
        why = f"held-back accuracy would fall {held_before:.0%} -> {held_after:.0%} ({len(held)} tasks)"
    elif cat_after < cat_before - max_catalogue_drop:
        why = f"catalogue accuracy would fall {cat_before:.1%} -> {cat_after:.1%} ({len(probe)} examples)"
    result = RetrainResult(
        kept=not why,
        fitted=int(report["kept"]),
        dropped=int(report["dropped"]),
        fallback=str(report["fallback"]),
        held_back=len(held),
        held_before=held_before,
        held_after=held_after,
        catalogue=len(probe),
        catalogue_before=cat_before,
        catalogue_after=cat_after,
        rejected_because=why,
        seconds=time.perf_counter() - start,
    )
    return (current if why else candidate), result
