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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.engine.routing.fast import NONE, FastRouter
from app.engine.routing.features import normalise

__all__ = ["MAX_FEEDBACK", "MAX_REFUSAL_RISE", "bounded_feedback", "catalogue_probe", "refusal_rate", "safe_retrain"]

MAX_FEEDBACK = 2000
MAX_REFUSAL_RISE = 0.02


def bounded_feedback(items: Sequence[tuple[str, list[str], str]], limit: int = MAX_FEEDBACK) -> list[tuple[str, list[str], str]]:
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
    attempts: tuple[tuple[str, list[tuple[str, list[str], str]]], ...] = (("", list(feedback)), ("dropped none labels", [f for f in feedback if f[2] != NONE]), ("dropped all feedback", []))
    for reason, kept in attempts:
        router.refit(kept)
        rate = refusal_rate(router, probe)
        if rate <= baseline + MAX_REFUSAL_RISE or not kept:
            return {"kept": len(kept), "dropped": len(feedback) - len(kept), "fallback": reason,
                    "catalogue_refusal_rate": round(rate, 4), "baseline_refusal_rate": round(baseline, 4)}
    raise AssertionError("unreachable: the last attempt keeps nothing")
