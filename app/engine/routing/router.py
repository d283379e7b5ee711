"""The router the orchestrator uses: guard -> fast router + file evidence -> (unsure) model -> bandit.

Every decision names the router that made it and gives a one-sentence rationale. The output
is always a catalogue id, ``none`` or ``clarify``: the fast router only knows catalogue
labels, and the model's answer is schema-constrained and re-validated. How the three
opinions are combined is :mod:`app.engine.routing.combine`.
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
from app.engine.routing.combine import (
    DEFAULT_PARAMS,
    CombineParams,
    apply_evidence,
    file_evidence,
    with_model,
)
from app.engine.routing.decision import CLARIFY, NONE, RouteDecision
from app.engine.routing.fast import FastResult, FastRouter
from app.engine.routing.features import estimate_complexity, looks_like_injection
from app.engine.routing.llm import LLMRouter
from app.engine.routing.retrain import (
    RetrainResult,
    bounded_feedback,
    checked_retrain,
    safe_retrain,
)

__all__ = ["DEFAULT_THRESHOLD", "Router"]

# Tuned on tests/data/routing.jsonl with the model's answers (bench/routing.py --tune; docs/routing.md).
DEFAULT_THRESHOLD = DEFAULT_PARAMS.threshold
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
        Combined confidence below which the model is asked; ``None`` or 0 = the tuned value.
    model
        Ollama model for routing (the configured base model).
    bandit
        Performance history; a fresh unseeded one by default.
    llm_timeout_s
        Per-call limit for the LLM router.
    cache_dir
        Where the fitted fast router is cached (``None`` = the user cache dir or
        ``$SWITCHBOARD_ROUTER_CACHE``; ``False`` = no cache).
    combine
        Weights of the combination rule (file evidence, model weight); the tuned ones by default.
    llm_backoff_s
        After a failed model call the model is not asked for this long (benches use 0).
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
        combine: CombineParams | None = None,
        llm_backoff_s: float = 30.0,
    ) -> None:
        specs = list(catalogue.specs.values()) if isinstance(catalogue, Catalogue) else list(catalogue)
        self.specs = {s.id: s for s in specs}
        self.fast = FastRouter(specs, cache_dir=cache_dir)
        self.params = combine or DEFAULT_PARAMS
        self.threshold = threshold or self.params.threshold
        self.service = service
        self.llm = LLMRouter(service, specs, model, timeout_s=llm_timeout_s) if service is not None else None
        self.bandit = bandit or ThompsonBandit()
        self._lock = threading.Lock()
        self._llm_down_until = 0.0
        self.llm_backoff_s = llm_backoff_s

    # -- feedback -------------------------------------------------------------------------
    def learn(self, text: str, label: str, files: Sequence[str] = ()) -> None:
        """Store an override or confirmed outcome and retrain the fast router (~0.2-1 s)."""
        if label not in self.specs and label != NONE:
            raise ValueError(f"unknown route {label!r}")
        self.learn_many([(text, list(files), label)])

    def learn_many(self, items: Sequence[tuple[str, str]] | Sequence[tuple[str, list[str], str]]) -> dict[str, object]:
        """Bulk feedback (e.g. loaded from the store at start), one bounded, checked retrain.

        Feedback is added to what was learned before, deduplicated and capped
        (:func:`~app.engine.routing.retrain.bounded_feedback`); the manifest examples always
        stay. If the result refuses the catalogue's own examples more than the untrained
        router did, the ``none`` labels are dropped, then all feedback
        (:func:`~app.engine.routing.retrain.safe_retrain`). Returns what was kept.
        """
        with self._lock:
            return safe_retrain(self.fast, bounded_feedback([*self.fast.extra, *self._valid(items)]))

    def retrain(
        self,
        fit: Sequence[tuple[str, str]] | Sequence[tuple[str, list[str], str]],
        held: Sequence[tuple[str, str]] | Sequence[tuple[str, list[str], str]] = (),
    ) -> RetrainResult:
        """Refit from exactly ``fit`` (forgetting earlier feedback), judged on ``held``.

        The same bounds and checks as :meth:`learn_many`; the manifests always stay. The refit
        runs on a copy while this router keeps routing with the current model; the copy
        replaces it only when it is not worse on ``held`` and the catalogue
        (:func:`~app.engine.routing.retrain.checked_retrain`).
        """
        with self._lock:
            self.fast, result = checked_retrain(self.fast, self._valid(fit), self._valid(held))
            return result

    def _valid(
        self, items: Sequence[tuple[str, str]] | Sequence[tuple[str, list[str], str]]
    ) -> list[tuple[str, list[str], str]]:
        out: list[tuple[str, list[str], str]] = []
        for item in items:
            text, files, label = (item[0], [], item[1]) if len(item) == 2 else item  # type: ignore[misc]
            if label in self.specs or label == NONE:
                out.append((str(text), list(files), str(label)))
        return out

    def record_outcome(
        self, specialist: str, success: bool, latency_ms: float | None = None, cost: float | None = None
    ) -> None:
        """Feed a finished task into the performance history."""
        self.bandit.update(specialist, success, latency_ms, cost)

    # -- decisions ------------------------------------------------------------------------
    def decide_fast(
        self, text: str, files: Sequence[str] = (), state: Mapping[str, Mapping[str, Any]] | None = None
    ) -> RouteDecision:
        """Guard + fast router + bandit only (no network); what ``decide`` does when Ollama is away."""
        start = time.perf_counter()
        files = list(files)
        if FastRouter.too_short(text, files):
            return self._refusal(CLARIFY, start, "The request is empty or too short to route.", CLARIFY_QUESTION)
        if looks_like_injection(text):
            return self._refusal(NONE, start, "The text tries to steer the router instead of describing a task.")
        result = self.fast.predict(text, files)
        evidence = file_evidence(files, text, result.probs.keys(), self.params)
        if evidence:
            base = result.probs
            if result.similarity == 0.0 and files:  # no known word or file token: the text says nothing
                base = {label: 1.0 / len(base) for label in base}
            probs = apply_evidence(base, evidence)
            best = max(probs, key=lambda k: probs[k])
            result = FastResult(probs, best, probs[best], result.similarity, result.latency_ms)
        return self._from_fast(result, text, files, state, start, "fast", evidence)

    def decide(
        self, text: str, files: Sequence[str] = (), state: Mapping[str, Mapping[str, Any]] | None = None
    ) -> RouteDecision:
        """Full decision: fast + file evidence, then the model when the confidence is below the threshold."""
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
            self._llm_down_until = time.monotonic() + self.llm_backoff_s
            return self._replace(
                fast,
                start,
                router="fallback",
                data={"llm_attempted": True},
                rationale=f"{fast.rationale} The LLM router did not answer ({exc.message}).",
            )
        if answer.route is None:
            return self._replace(
                fast,
                start,
                router="fallback",
                schema_violation=True,
                llm_latency_ms=answer.latency_ms,
                rationale=f"{fast.rationale} The LLM's answer was rejected ({answer.violation[:120]}).",
            )
        model_route = answer.route if answer.route in fast.scores else None
        route = with_model(fast.scores, model_route, self.params.llm_weight)
        if route == model_route == fast.chosen:
            why = f"The model agrees with the fast router on {route} (fast confidence was {fast.confidence:.2f})."
        elif route == model_route:
            if route == NONE:
                why = (
                    "The model judged the request out of scope "
                    f"(fast router was unsure: {fast.chosen} at {fast.confidence:.2f})."
                )
            else:
                why = f"The model chose {route} (fast router was unsure: {fast.chosen} at {fast.confidence:.2f})."
        else:
            why = f"The model said {answer.route}, but the wording and files favour {route} much more."
        return RouteDecision(
            chosen=route,
            scores=fast.scores,
            router="llm",
            confidence=fast.scores.get(route, 0.0),
            latency_ms=(time.perf_counter() - start) * 1000,
            rationale=why,
            fast_latency_ms=fast.fast_latency_ms,
            llm_latency_ms=answer.latency_ms,
            complexity=fast.complexity,
            timeout_factor=fast.timeout_factor,
            data={"fast_choice": fast.chosen, "model_choice": answer.route, "agreed": answer.route == fast.chosen},
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
        self,
        result: FastResult,
        text: str,
        files: list[str],
        state: Mapping[str, Mapping[str, Any]] | None,
        start: float,
        router: str,
        evidence: Mapping[str, float] | None = None,
    ) -> RouteDecision:
        scores = {k: round(v, 4) for k, v in result.probs.items()}
        chosen, confidence = result.best, result.confidence
        ranked = sorted((p, s) for s, p in result.probs.items() if s != NONE)
        if chosen == NONE:
            if result.similarity < self.fast.sim_floor:
                why = "Nothing in the catalogue resembles this request."
            else:
                why = (
                    f"The request looks out of scope (none {confidence:.2f}; "
                    f"best specialist {ranked[-1][1]} {ranked[-1][0]:.2f})."
                )
        else:
            candidates = {s: p for s, p in result.probs.items() if s != NONE and p >= CANDIDATE_SHARE * confidence}
            if len(candidates) > 1 or (state and not state.get(chosen, {}).get("healthy", True)):
                picked, _ = self.bandit.choose(candidates, state)
                if picked != chosen:
                    why = f"{picked} and {chosen} both fit; history and container state favour {picked}."
                    chosen, confidence = picked, result.probs[picked]
                else:
                    why = (
                        f"Closest match is {chosen} ({confidence:.2f}), "
                        f"ahead of {', '.join(c for c in candidates if c != chosen)}."
                    )
            else:
                files_note = " and the file types" if evidence and evidence.get(chosen, 0.0) > 0 else ""
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
            chosen,
            scores,
            router,
            confidence,
            elapsed,
            why,
            fast_latency_ms=elapsed,
            complexity=complexity.level,
            timeout_factor=complexity.timeout_factor,
        )

    def _refusal(self, chosen: str, start: float, why: str, question: str = "") -> RouteDecision:
        scores = {sid: 0.0 for sid in sorted(self.specs)} | {NONE: 1.0 if chosen == NONE else 0.0}
        elapsed = (time.perf_counter() - start) * 1000
        return RouteDecision(chosen, scores, "fast", 1.0, elapsed, why, question=question, fast_latency_ms=elapsed)

    @staticmethod
    def _replace(fast: RouteDecision, start: float, **changes: Any) -> RouteDecision:
        return replace(fast, latency_ms=(time.perf_counter() - start) * 1000, **changes)
