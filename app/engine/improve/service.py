"""``Improvement``: variants, curated datasets, the replay gate and the live trial, on the store.

The orchestrator holds one and delegates to it. It keeps each specialist's variants and live
tallies in memory (loaded from the store on first use) so :meth:`Improvement.choose` costs no
database round trip; every change is written through the store's single writer and every
decision is published on the bus as a :class:`~app.engine.core.events.Decision`:

``variant_created`` (retrain), ``variant_replayed`` / ``variant_rejected`` (the replay gate),
``variant_promoted`` / ``variant_rolled_back`` (the rule in :mod:`.promotion`) and
``example_removed``. Decisions fire on the thread that caused them: the caller's for retrain,
replay and removal, the thread calling :meth:`Improvement.record` for promotion and rollback.

One trial at a time per specialist: retrain refuses while a candidate is live, and retires a
pending variant (made but never replayed) in favour of the new one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, EngineError, NotFound
from app.engine.core.events import Decision, EventBus
from app.engine.core.specs import SpecialistSpec
from app.engine.core.views import ExampleView, VariantView
from app.engine.improve.chooser import ChooserKind, VariantChooser
from app.engine.improve.datasets import build_examples, load_cases, select_few_shot, to_jsonl
from app.engine.improve.ollama_variants import PlanReplay, VariantModelService
from app.engine.improve.promotion import PromotionRule, Verdict, judge
from app.engine.improve.replay import ReplayReport, Runner, replay, replay_cases
from app.engine.improve.stats import Tally, prob_better
from app.engine.improve.variants import Variant, VariantState, manifest_variant
from app.engine.store import ExampleRecord, Store

__all__ = ["Improvement", "ImprovementConfig"]

log = logging.getLogger(__name__)
WAIT_S = 30.0


@dataclass(frozen=True)
class ImprovementConfig:
    """Knobs of self-improvement (the chooser and N come from settings)."""

    chooser: ChooserKind = "thompson"
    ab_share: float = 0.5
    rule: PromotionRule = field(default_factory=PromotionRule)
    replay_limit: int = 20  # recorded tasks per replay
    replay_margin: float = 0.0  # share of replay cases the candidate may lose by
    few_shot: int = 4  # examples a retrained variant shows its model

    @classmethod
    def from_settings(cls, settings: Settings) -> ImprovementConfig:
        """The configuration the settings ask for."""
        return cls(
            chooser=settings.variant_chooser,
            ab_share=settings.variant_ab_share,
            rule=PromotionRule(min_tasks=settings.variant_min_tasks),
        )


@dataclass
class _Trial:
    """One specialist's variants and live outcomes, as loaded (then kept up to date)."""

    variants: list[Variant]
    outcomes: list[tuple[str, float, bool, float | None]]  # (variant id, ts, success, latency)

    def tallies(self) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        for vid, _ts, success, latency in self.outcomes:
            out.setdefault(vid, Tally()).add(success, latency)
        return out

    def since(self, ts: float) -> int:
        return sum(1 for _vid, t, _s, _l in self.outcomes if t >= ts)

    def incumbent(self) -> Variant | None:
        return next((v for v in self.variants if v.state == VariantState.INCUMBENT), None)


class Improvement:
    """Variants, datasets, replay and the live trial of every specialist.

    Parameters
    ----------
    store
        Returns the open store (the orchestrator passes its ``wait_started``).
    bus
        Where decisions are published.
    specs
        The catalogue's specialists by id.
    base_model
        The model server's base model (version 1 of every specialist is built on it).
    rng
        Randomness of the chooser; seed it for reproducible choices.
    """

    def __init__(
        self,
        store: Callable[[], Store],
        bus: EventBus,
        specs: Mapping[str, SpecialistSpec],
        *,
        base_model: str,
        config: ImprovementConfig | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.bus = bus
        self.specs = specs
        self.base_model = base_model
        self.config = config or ImprovementConfig()
        self.chooser = VariantChooser(self.config.chooser, rng, ab_share=self.config.ab_share)
        self._clock = clock
        self._lock = threading.RLock()
        self._trials: dict[str, _Trial] = {}

    # ------------------------------------------------------------------ helpers
    def _spec(self, specialist: str) -> SpecialistSpec:
        spec = self.specs.get(specialist)
        if spec is None:
            raise NotFound(f"no specialist {specialist!r}; known: {', '.join(sorted(self.specs))}")
        return spec

    def _decide(self, kind: str, subject: str, reason: str, data: Mapping[str, Any] | None = None) -> None:
        self.bus.publish(Decision(kind=kind, subject=subject, reason=reason, data=dict(data or {}), ts=self._clock()))

    def _trial(self, specialist: str) -> _Trial:
        """The cached trial of ``specialist``, loading it (and creating v1) on first use."""
        with self._lock:
            trial = self._trials.get(specialist)
            if trial is not None:
                return trial
            spec = self._spec(specialist)
            store = self._store()
            variants = [Variant.from_record(r) for r in store.list_variants(specialist).result(timeout=WAIT_S)]
            if not variants:
                first = manifest_variant(spec, self.base_model, now=self._clock())
                store.add_variant(first.fields()).result(timeout=WAIT_S)
                self._decide(
                    "variant_created",
                    specialist,
                    f"created {specialist} v1 (incumbent) from its manifest",
                    {"variant": first.id, "base_model": first.base_model},
                )
                variants = [first]
            live = store.variant_outcomes(specialist, source="live").result(timeout=WAIT_S)
            trial = _Trial(variants=variants, outcomes=[(o.variant_id, o.ts, o.success, o.latency_ms) for o in live])
            self._trials[specialist] = trial
            return trial

    def _forget(self, specialist: str) -> None:
        with self._lock:
            self._trials.pop(specialist, None)

    def _set_states(self, specialist: str, changes: list[tuple[str, dict[str, Any]]]) -> None:
        self._store().update_variants(changes).result(timeout=WAIT_S)
        self._forget(specialist)

    # ------------------------------------------------------------------ variants
    def variants(self, specialist: str) -> list[Variant]:
        """A specialist's variants by version (version 1 is made from the manifest if missing)."""
        return list(self._trial(specialist).variants)

    def views(self, specialist: str) -> list[VariantView]:
        """Variants with their live figures and P(better than the incumbent)."""
        self._forget(specialist)  # a listing shows what is stored, whoever wrote it
        trial = self._trial(specialist)
        tallies = trial.tallies()
        incumbent = trial.incumbent()
        inc_tally = tallies.get(incumbent.id, Tally()) if incumbent else Tally()
        views = []
        for v in trial.variants:
            t = tallies.get(v.id, Tally())
            p = (
                None
                if incumbent is None or v.id == incumbent.id or v.state == VariantState.PENDING
                else prob_better(t, inc_tally)
            )
            views.append(
                VariantView(
                    id=v.id,
                    specialist=v.specialist,
                    version=v.version,
                    state=str(v.state),
                    base_model=v.base_model,
                    model_name=v.model_name,
                    image=v.image,
                    system_prompt=v.system_prompt,
                    parameters=dict(v.parameters),
                    example_ids=v.example_ids,
                    tasks=t.tasks,
                    successes=t.successes,
                    success_rate=t.success_rate,
                    p95_ms=t.p95_ms,
                    p_better=None if p is None else round(p, 4),
                    created_at=v.created_at,
                    live_since=v.live_since,
                    reason=v.reason,
                    replay=None if v.replay is None else dict(v.replay),
                )
            )
        return views

    def retrain(self, specialist: str) -> Variant:
        """A new pending variant: the incumbent's configuration with few-shot examples from the dataset.

        Raises
        ------
        BadInput
            A candidate is on trial, or the dataset has no good example with a plan yet. A
            pending variant (made, never replayed) is retired in favour of the new one.
        """
        trial = self._trial(specialist)
        live = [v for v in trial.variants if v.state == VariantState.CANDIDATE]
        if live:
            raise BadInput(
                f"{specialist} {live[0].label} is still on trial (candidate, {live[0].reason[:80]}); "
                "wait for its promotion or rollback before retraining"
            )
        stale = [v for v in trial.variants if v.state == VariantState.PENDING]
        incumbent = trial.incumbent()
        if incumbent is None:  # pragma: no cover - v1 is created as the incumbent
            raise BadInput(f"{specialist} has no incumbent variant")
        examples = self.dataset_rows(specialist)
        chosen = select_few_shot(examples, self.config.few_shot)
        if not chosen:
            raise BadInput(
                f"the dataset of {specialist} has no good example with a plan yet ({len(examples)} examples); "
                "mark planned tasks correct or run `switchboard eval golden` first"
            )
        store = self._store()
        version = store.next_variant_version(specialist).result(timeout=WAIT_S)
        ids = tuple(e.example_id for e in chosen)
        reason = (
            f"created {specialist} v{version} from {incumbent.label}: {len(ids)} few-shot examples chosen "
            f"from {len(examples)} curated ({', '.join(ids)}); pending its replay"
        )
        variant = Variant(
            specialist=specialist,
            version=version,
            state=VariantState.PENDING,
            base_model=incumbent.base_model,
            system_prompt=incumbent.system_prompt,
            parameters=dict(incumbent.parameters),
            example_ids=ids,
            image=incumbent.image,
            parent=incumbent.id,
            created_at=self._clock(),
            reason=reason,
        )
        store.add_variant(variant.fields()).result(timeout=WAIT_S)
        if stale:  # never replayed, so never served anyone: the new one takes its place
            why = f"superseded by v{version} before its replay"
            self._set_states(specialist, [(v.id, {"state": str(VariantState.RETIRED), "reason": why}) for v in stale])
            for v in stale:
                self._decide(
                    "variant_rolled_back", specialist, f"retired {specialist} {v.label}: {why}", {"variant": v.id}
                )
        self._forget(specialist)
        self._decide(
            "variant_created",
            specialist,
            reason,
            {"variant": variant.id, "parent": incumbent.id, "examples": list(ids)},
        )
        return variant

    def replay(
        self, specialist: str, run: Runner, *, variant: str | None = None, stop: threading.Event | None = None
    ) -> ReplayReport:
        """Run the replay gate for the pending variant (or ``variant``): candidate or retired after it."""
        trial = self._trial(specialist)
        pending = [
            v for v in trial.variants if v.state == VariantState.PENDING and (variant is None or v.id == variant)
        ]
        if not pending:
            raise BadInput(f"{specialist} has no pending variant {variant or ''} to replay".replace("  ", " "))
        candidate, incumbent = pending[-1], trial.incumbent()
        assert incumbent is not None
        cases = replay_cases(self.dataset_rows(specialist), self.config.replay_limit)
        report = replay(
            candidate,
            incumbent,
            cases,
            run,
            margin=self.config.replay_margin,
            latency_ratio=self.config.rule.latency_ratio,
            stop=stop,
        )
        now = self._clock()
        outcomes = []
        for row in report.rows:
            for side, vid in (("incumbent", incumbent.id), ("candidate", candidate.id)):
                outcomes.append(
                    {
                        "variant_id": vid,
                        "specialist": specialist,
                        "source": "replay",
                        "ts": now,
                        "task_id": row["example_id"],
                        "success": row[side]["success"],
                        "latency_ms": row[side]["latency_ms"],
                    }
                )
        store = self._store()
        if outcomes:
            store.add_variant_outcomes(outcomes).result(timeout=WAIT_S)
        fields: dict[str, Any] = {"replay": report.summary(), "reason": report.reason}
        if report.passed:
            fields.update(state=str(VariantState.CANDIDATE), live_since=now)
        else:
            fields.update(state=str(VariantState.RETIRED))
        self._set_states(specialist, [(candidate.id, fields)])
        self._decide(
            "variant_replayed" if report.passed else "variant_rejected", specialist, report.reason, report.summary()
        )
        return report

    def retrain_view(self, specialist: str, models: VariantModelService | None = None) -> VariantView:
        """Retrain; with ``models`` (the model server) also run the replay gate on real models.

        The replay uses :class:`~app.engine.improve.ollama_variants.PlanReplay`; a rejected
        candidate's derived model is deleted again, a passed one keeps it for live traffic.
        """
        variant = self.retrain(specialist)
        if models is not None:
            examples = {e.example_id: e for e in self.dataset_rows(specialist)}
            runner = PlanReplay(models, self._spec(specialist), examples)
            report = self.replay(specialist, runner, variant=variant.id)
            if not report.passed:
                try:
                    models.delete(variant.model_name)
                except EngineError as exc:
                    log.warning("could not delete %s: %s", variant.model_name, exc)
        return next(v for v in self.views(specialist) if v.id == variant.id)

    # ------------------------------------------------------------------ live traffic
    def choose(self, specialist: str) -> Variant | None:
        """The variant that serves the next task of ``specialist`` (the router chose the specialist)."""
        with self._lock:
            trial = self._trial(specialist)
            return self.chooser.choose(trial.variants, trial.tallies())

    def record(
        self, variant: str, success: bool, latency_ms: float | None = None, task_id: str | None = None
    ) -> list[Verdict]:
        """Count a live outcome of ``variant`` and apply the promotion rule; returns verdicts acted on."""
        specialist = variant.rsplit("-v", 1)[0]
        with self._lock:
            trial = self._trial(specialist)
            if not any(v.id == variant for v in trial.variants):
                raise NotFound(f"no variant {variant!r}")
            now = self._clock()
            trial.outcomes.append((variant, now, bool(success), latency_ms))
            store = self._store()
            store.forget(
                f"storing an outcome of {variant}",
                store.add_variant_outcomes(
                    [
                        {
                            "variant_id": variant,
                            "specialist": specialist,
                            "source": "live",
                            "ts": now,
                            "task_id": task_id,
                            "success": success,
                            "latency_ms": latency_ms,
                        }
                    ]
                ),
            )
            return self.review(specialist)

    def review(self, specialist: str) -> list[Verdict]:
        """Apply the promotion rule to every live candidate of ``specialist`` now."""
        acted = []
        with self._lock:
            trial = self._trial(specialist)
            incumbent = trial.incumbent()
            if incumbent is None:
                return []
            tallies = trial.tallies()
            for cand in [v for v in trial.variants if v.state == VariantState.CANDIDATE]:
                verdict = judge(
                    self.config.rule,
                    cand,
                    incumbent,
                    tallies.get(cand.id, Tally()),
                    tallies.get(incumbent.id, Tally()),
                    trial.since(cand.live_since or 0.0),
                )
                if verdict.action == "promote":
                    self._set_states(
                        specialist,
                        [
                            (cand.id, {"state": str(VariantState.INCUMBENT), "reason": verdict.reason}),
                            (
                                incumbent.id,
                                {
                                    "state": str(VariantState.RETIRED),
                                    "reason": f"replaced by {cand.label}: {verdict.reason}",
                                },
                            ),
                        ],
                    )
                    self._decide("variant_promoted", specialist, verdict.reason, verdict.data)
                    acted.append(verdict)
                    break  # the incumbent changed: other candidates are judged against the new one next time
                if verdict.action == "rollback":
                    self._set_states(
                        specialist, [(cand.id, {"state": str(VariantState.RETIRED), "reason": verdict.reason})]
                    )
                    self._decide("variant_rolled_back", specialist, verdict.reason, verdict.data)
                    acted.append(verdict)
        return acted

    # ------------------------------------------------------------------ datasets
    def curate(self, specialist: str) -> dict[str, int]:
        """Bring the stored dataset up to date with the evidence; resolves to counts."""
        spec = self._spec(specialist)
        store = self._store()
        sources = store.dataset_sources(specialist).result(timeout=WAIT_S)
        examples = build_examples(specialist, sources, load_cases(spec.folder))
        return store.upsert_examples(specialist, examples).result(timeout=WAIT_S)

    def dataset_rows(self, specialist: str, include_removed: bool = False) -> list[ExampleRecord]:
        """The curated examples (curated first), newest first, as stored."""
        self.curate(specialist)
        return self._store().list_examples(specialist, include_removed=include_removed).result(timeout=WAIT_S)

    def dataset(self, specialist: str, include_removed: bool = False) -> list[ExampleView]:
        """The curated examples as views."""
        return [
            ExampleView(
                example_id=e.example_id,
                specialist=e.specialist,
                source=e.source,
                label=e.label,
                text=e.text,
                answer=e.answer,
                plan=e.plan,
                expected=e.expected,
                task_id=e.task_id,
                case_id=e.case_id,
                latency_ms=e.latency_ms,
                ts=e.ts,
                removed=e.removed,
            )
            for e in self.dataset_rows(specialist, include_removed)
        ]

    def remove_example(self, specialist: str, example_id: str) -> bool:
        """Take an example out for good; False when it was already removed."""
        self.curate(specialist)  # every id a listing showed exists, even in a fresh process
        removed = self._store().remove_example(specialist, example_id).result(timeout=WAIT_S)
        if removed:
            self._decide(
                "example_removed",
                specialist,
                f"removed example {example_id} from the dataset of {specialist}",
                {"example": example_id},
            )
        return removed

    def export(self, specialist: str) -> str:
        """The dataset as JSONL text (removed examples left out)."""
        return to_jsonl(self.dataset_rows(specialist))
