"""The router the orchestrator uses: guard -> fast router -> (low confidence) LLM -> bandit.

Every decision names the router that made it and gives a one-sentence rationale. The output
is always a catalogue id, ``none`` or ``clarify``: the fast router only knows catalogue
labels, and the LLM's answer is schema-constrained and re-validated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.engine.core.errors import OllamaUnavailable
from app.engine.core.specs import Catalogue, SpecialistSpec
from app.engine.routing.bandit import ThompsonBandit
from app.engine.routing.decision import CLARIFY, NONE, RouteDecision
from app.engine.routing.fast import FastResult, FastRouter
from app.engine.routing.features import estimate_complexity, looks_like_injection
from app.engine.routing.llm import LLMRouter

__all__ = ["DEFAULT_THRESHOLD", "Router"]

# Tuned by 5-fold cross-validation on tests/data/routing.jsonl (see docs/routing.md).
DEFAULT_THRESHOLD = 0.10
# Specialists whose probability is at least this share of the best one compete in the bandit.
CANDIDATE_SHARE = 0.85
CLARIFY_QUESTION = "What should be done? Describe the task or attach the file it is about."


class Router:
    """Routes task text + file names to a specialist id, ``none`` or ``clarify``.

    Parameters
    ----------
    catalogue
        The loaded catalogue (or a list of specs).
    service
        Anything with ``chat(...)`` and ``is_up()`` (the :class:`OllamaService`); ``None``
        disables the LLM stage.
    threshold
        Fast-router confidence below which the LLM is asked; ``None`` or 0 = the tuned value.
    model
        Ollama model for routing (the configured base model).
    bandit
        Performance history; a fresh unseeded one by default.
    llm_timeout_s
        Per-call limit for the LLM router.
    cache_dir
        Where the fitted fast router is cached (``None`` = the user cache dir or
        ``$SWITCHBOARD_ROUTER_CACHE``; ``False`` = no cache).
    """

    def __init__(
        self,
        catalogue: Catalogue | Sequence[SpecialistSpec],
        service: Any | None = None,
        threshold: float | None = None,
        *,
        model: str = "smollm2-135m",
        bandit: ThompsonBandit | None = None,
        llm_timeout_s: float = 8.0,
        cache_dir: Path | str | None | bool = None,
    ) -> None:
        specs = list(catalogue.specs.values()) if isinstance(catalogue, Catalogue) else list(catalogue)
        self.specs = {s.id: s for s in specs}
        self.fast = FastRouter(specs, cache_dir=cache_dir)
        self.threshold = threshold or DEFAULT_THRESHOLD
        self.service = service
        self.llm = LLMRouter(service, specs, model, timeout_s=llm_timeout_s) if service is not None else None
        self.bandit = bandit or ThompsonBandit()
        self._lock = threading.Lock()
        self._llm_down_until = 0.0

    # -- feedback -------------------------------------------------------------------------
    def learn(self, text: str, label: str, files: Sequence[str] = ()) -> None:
        """Store an override or confirmed outcome and retrain the fast router (~0.2 s)."""
        if label not in self.specs and label != NONE:
            raise ValueError(f"unknown route {label!r}")
        with self._lock:
            self.fast.train([(text, list(files), label)])

    def learn_many(self, items: Sequence[tuple[str, str]]) -> None:
        """Bulk feedback (e.g. loaded from the store at start), one retrain."""
        with self._lock:
            self.fast.train([(t, [], label) for t, label in items if label in self.specs or label == NONE])

    def record_outcome(self, specialist: str, success: bool, latency_ms: float | None = None, cost: float | None = None) -> None:
        """Feed a finished task into the performance history."""
        self.bandit.update(specialist, success, latency_ms, cost)

    # -- decisions ------------------------------------------------------------------------
    def decide_fast(self, text: str, files: Sequence[str] = (), state: Mapping[str, Mapping[str, Any]] | None = None) -> RouteDecision:
        """Guard + fast router + bandit only (no network); what ``decide`` does when Ollama is away."""
        start = time.perf_counter()
        files = list(files)
        if FastRouter.too_short(text, files):
            return self._refusal(CLARIFY, start, "The request is empty or too short to route.", CLARIFY_QUESTION)
        if looks_like_injection(text):
            return self._refusal(NONE, start, "The text tries to steer the router instead of describing a task.")
        result = self.fast.predict(text, files)
        return self._from_fast(result, text, files, state, start, "fast")

    def decide(self, text: str, files: Sequence[str] = (), state: Mapping[str, Mapping[str, Any]] | None = None) -> RouteDecision:
        """Full decision: fast, then the LLM when the fast confidence is below the threshold."""
        start = time.perf_counter()
        fast = self.decide_fast(text, files, state)
        if fast.is_refusal and fast.confidence >= 1.0:  # guard or clarify: final
            return fast
        if fast.confidence >= self.threshold or not self._llm_available():
            return fast
        assert self.llm is not None
        try:
            answer = self.llm.ask(text, files, hints=fast.scores)
        except OllamaUnavailable as exc:
            self._llm_down_until = time.monotonic() + 30.0
            return self._replace(fast, start, router="fallback", data={"llm_attempted": True}, rationale=f"{fast.rationale} The LLM router did not answer ({exc.message}).")
        if answer.route is None:
            return self._replace(
                fast, start, router="fallback", schema_violation=True, llm_latency_ms=answer.latency_ms,
                rationale=f"{fast.rationale} The LLM's answer was rejected ({answer.violation[:120]}).",
            )
        route = answer.route
        if route in self.specs:
            why = f"The LLM router chose {route} (fast router was unsure: {fast.chosen} at {fast.confidence:.2f})."
        elif route == NONE:
            why = "The LLM router judged the request out of scope for every specialist."
        else:
            why = "The LLM router needs more detail before choosing."
        complexity = estimate_complexity(text)
        return RouteDecision(
            chosen=route, scores=fast.scores, router="llm", confidence=fast.scores.get(route, 0.0),
            latency_ms=(time.perf_counter() - start) * 1000, rationale=why, question=answer.question,
            fast_latency_ms=fast.fast_latency_ms, llm_latency_ms=answer.latency_ms,
            complexity=complexity.level, timeout_factor=complexity.timeout_factor,
            data={"fast_choice": fast.chosen},
        )

    def explicit(self, specialist: str, router: str = "explicit") -> RouteDecision:
        """The user named the specialist (``explicit``) or corrected a decision (``override``)."""
        if specialist not in self.specs:
            raise ValueError(f"unknown specialist {specialist!r}")
        scores = {sid: float(sid == specialist) for sid in sorted(self.specs)}
        return RouteDecision(specialist, scores, router, 1.0, 0.0, f"The user chose {specialist}.")

    # -- helpers --------------------------------------------------------------------------
    def _llm_available(self) -> bool:
        if self.llm is None or time.monotonic() < self._llm_down_until:
            return False
        is_up = getattr(self.service, "is_up", None)
        if is_up is not None and not is_up():
            self._llm_down_until = time.monotonic() + 30.0
            return False
        return True

    def _from_fast(
        self, result: FastResult, text: str, files: list[str], state: Mapping[str, Mapping[str, Any]] | None,
        start: float, router: str,
    ) -> RouteDecision:
        scores = {k: round(v, 4) for k, v in result.probs.items()}
        chosen, confidence = result.best, result.confidence
        ranked = sorted((p, s) for s, p in result.probs.items() if s != NONE)
        if chosen == NONE:
            if result.similarity < self.fast.sim_floor:
                why = "Nothing in the catalogue resembles this request."
            else:
                why = f"The request looks out of scope (none {confidence:.2f}; best specialist {ranked[-1][1]} {ranked[-1][0]:.2f})."
        else:
            candidates = {s: p for s, p in result.probs.items() if s != NONE and p >= CANDIDATE_SHARE * confidence}
            if len(candidates) > 1 or (state and not state.get(chosen, {}).get("healthy", True)):
                picked, _ = self.bandit.choose(candidates, state)
                if picked != chosen:
                    why = f"{picked} and {chosen} both fit; history and container state favour {picked}."
                    chosen, confidence = picked, result.probs[picked]
                else:
                    why = f"Closest match is {chosen} ({confidence:.2f}), ahead of {', '.join(c for c in candidates if c != chosen)}."
            else:
                files_note = " and the attached file types" if files else ""
                why = f"The wording{files_note} match {chosen} ({confidence:.2f})."
        sizes = []
        for f in files:
            try:
                sizes.append(Path(f).stat().st_size)
            except OSError:
                continue
        complexity = estimate_complexity(text, sizes)
        elapsed = (time.perf_counter() - start) * 1000
        return RouteDecision(
            chosen, scores, router, confidence, elapsed, why, fast_latency_ms=elapsed,
            complexity=complexity.level, timeout_factor=complexity.timeout_factor,
        )

    def _refusal(self, chosen: str, start: float, why: str, question: str = "") -> RouteDecision:
        scores = {sid: 0.0 for sid in sorted(self.specs)} | {NONE: 1.0 if chosen == NONE else 0.0}
        elapsed = (time.perf_counter() - start) * 1000
        return RouteDecision(chosen, scores, "fast", 1.0, elapsed, why, question=question, fast_latency_ms=elapsed)

    @staticmethod
    def _replace(fast: RouteDecision, start: float, **changes: Any) -> RouteDecision:
        return replace(fast, latency_ms=(time.perf_counter() - start) * 1000, **changes)
