"""Self-improvement: specialist variants, curated datasets, the replay gate and the live trial.

A variant is an image version plus a model configuration; the chooser splits one specialist's
traffic between its incumbent and a candidate (Thompson sampling or a fixed A/B split), and a
stated rule promotes or rolls back the candidate (docs/self-improvement.md). The router's choice
of specialist is never overridden here. :class:`Improvement` wires it all to the store and bus.
:class:`Proposals` clusters the tasks no specialist served and proposes new specialists.
"""

from __future__ import annotations

from app.engine.improve.chooser import ChooserKind, VariantChooser
from app.engine.improve.datasets import build_examples, select_few_shot, to_jsonl
from app.engine.improve.promotion import PromotionRule, Verdict, judge
from app.engine.improve.proposals import (
    Cluster,
    Clusterer,
    ProposalConfig,
    Proposals,
    classify,
    ready,
)
from app.engine.improve.replay import ReplayOutcome, ReplayReport, Runner, replay
from app.engine.improve.scaffold import ScaffoldRequest, install, write_scaffold
from app.engine.improve.service import Improvement, ImprovementConfig
from app.engine.improve.stats import Tally, p95, prob_better
from app.engine.improve.variants import Variant, VariantState, manifest_variant

__all__ = [
    "ChooserKind",
    "Cluster",
    "Clusterer",
    "Improvement",
    "ImprovementConfig",
    "PromotionRule",
    "ProposalConfig",
    "Proposals",
    "ReplayOutcome",
    "ReplayReport",
    "Runner",
    "ScaffoldRequest",
    "Tally",
    "Variant",
    "VariantChooser",
    "VariantState",
    "Verdict",
    "build_examples",
    "classify",
    "install",
    "judge",
    "manifest_variant",
    "p95",
    "prob_better",
    "ready",
    "replay",
    "select_few_shot",
    "to_jsonl",
    "write_scaffold",
]
