"""Plain, frozen snapshots the facade hands to the CLI and the GUI (no SDK or ORM objects)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ArtifactView",
    "ContainerView",
    "DoctorCheck",
    "ExampleView",
    "FeedbackKind",
    "HealthView",
    "ProposalView",
    "RouteView",
    "RouterRetrainView",
    "ScalingView",
    "SeriesPoint",
    "SpecialistView",
    "TaskView",
    "VariantView",
]

FeedbackKind = str  # "correct" | "wrong_specialist" | "bad_answer"


@dataclass(frozen=True)
class ContainerView:
    """One running (or stopped) container of ours."""

    name: str
    specialist: str
    status: str
    image: str
    started_at: str = ""
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    pids: int | None = None
    inflight: int = 0
    healthy: bool = True


@dataclass(frozen=True)
class SpecialistView:
    """A catalogue entry with its live state and today's figures."""

    id: str
    title: str
    description: str
    icon: str
    accepted_inputs: tuple[str, ...]
    example_tasks: tuple[str, ...]
    state: str  # not_built | building | stopped | starting | running | paused | quarantined | unhealthy
    image: str | None
    replicas: int
    max_replicas: int
    cpu_percent: float = 0.0
    memory_bytes: int = 0
    last_latency_ms: float | None = None
    tasks_today: int = 0
    success_rate: float | None = None
    cost_today: float = 0.0
    hardening_score: str = ""  # e.g. "9/9"
    needs_network: bool = False
    quarantine: str = ""  # why it is quarantined (crash loop), empty when it is not
    paused: int = 0  # replicas kept warm, paused


@dataclass(frozen=True)
class ScalingView:
    """The lifecycle controller's latest plan for one specialist and its current thresholds."""

    specialist: str
    running: int
    paused: int
    want_running: int
    want_warm: int
    reason: str
    latency_threshold_s: float
    error_threshold: float
    policy: str = "adaptive"
    pinned: int | None = None  # a count the user set, held for a while
    quarantine: str = ""
    cost_threshold: float | None = None  # notional cost per task above which no replica is added for latency


@dataclass(frozen=True)
class ArtifactView:
    """A file a task produced, stored content-addressed."""

    name: str
    path: str
    bytes: int
    mime: str


@dataclass(frozen=True)
class TaskView:
    """A task and, when finished, its result."""

    id: str
    state: str  # queued | routed | running | succeeded | failed | cancelled
    text: str
    specialist: str | None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    duration_ms: float | None = None
    attempt: int = 0
    container: str | None = None
    router: str | None = None
    route_confidence: float | None = None
    path: str | None = None
    answer: str = ""
    data: dict[str, Any] | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)
    operation: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    program: str = ""  # the model-written program that produced the answer, if any
    error_kind: str | None = None
    error: str | None = None
    cost: float = 0.0
    inputs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[ArtifactView] = field(default_factory=list)


@dataclass(frozen=True)
class RouteView:
    """A routing decision, explained."""

    chosen: str  # a specialist id, "none" or "clarify"
    scores: dict[str, float]
    router: str  # fast | llm | fallback | override | explicit
    confidence: float
    latency_ms: float
    rationale: str
    question: str = ""
    schema_violation: bool = False


@dataclass(frozen=True)
class RouterRetrainView:
    """One retrain of the fast router from stored feedback, measured on a held-back slice.

    Accuracies are shares (0..1) of the fast router's top choice; ``held_*`` are ``None`` when
    no feedback was held back yet. ``kept`` is false when the refit was worse and the previous
    model stayed (``reason`` says why). ``trigger``: ``demand`` or ``schedule``.
    """

    kept: bool
    examples: int  # feedback examples fitted
    held_back: int  # held-back feedback examples it was measured on
    held_before: float | None
    held_after: float | None
    catalogue: int  # the catalogue's own examples it was also measured on
    catalogue_before: float
    catalogue_after: float
    reason: str
    trigger: str = "demand"
    new_feedback: int = 0  # feedback events since the previous retrain
    dropped: int = 0  # feedback examples the safety rules left out (docs/routing.md)
    seconds: float = 0.0
    ts: float = 0.0


@dataclass(frozen=True)
class DoctorCheck:
    """One line of ``switchboard doctor``."""

    component: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class HealthView:
    """Status of one dependency for the status bar."""

    component: str  # docker | ollama | database
    status: str  # ok | degraded | down | unknown
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class SeriesPoint:
    """A stored figure for charts."""

    ts: float
    value: float
    subject: str = ""


@dataclass(frozen=True)
class TaskHandle:
    """A submitted task: its id now, its finished view later."""

    id: str
    future: Future[TaskView]
    specialist: str
    route: RouteView | None = None


@dataclass(frozen=True)
class VariantView:
    """A specialist variant with its live figures (``switchboard variants ID``)."""

    id: str  # "<specialist>-v<version>"
    specialist: str
    version: int
    state: str  # pending | candidate | incumbent | retired
    base_model: str
    model_name: str  # the derived model carrying its configuration
    image: str = ""
    system_prompt: str = ""
    parameters: dict[str, float] = field(default_factory=dict)
    example_ids: tuple[str, ...] = ()
    tasks: int = 0  # live tasks served
    successes: int = 0
    success_rate: float | None = None
    p95_ms: float | None = None
    p_better: float | None = None  # P(better than the incumbent); None for the incumbent itself
    created_at: float = 0.0
    live_since: float | None = None
    reason: str = ""  # the last decision about it
    replay: dict[str, Any] | None = None  # the replay gate's figures


@dataclass(frozen=True)
class ExampleView:
    """One curated example of a specialist's dataset (``switchboard dataset list ID``)."""

    example_id: str
    specialist: str
    source: str  # feedback | override | golden | outcome | schema_violation
    label: str  # good | bad | routing
    text: str
    answer: str = ""
    plan: Any = None
    expected: Any = None
    task_id: str | None = None
    case_id: str | None = None
    latency_ms: float | None = None
    ts: float = 0.0
    removed: bool = False


@dataclass(frozen=True)
class ProposalView:
    """A proposed new specialist: a growing cluster of tasks no specialist served well.

    See docs/self-improvement.md, "Proposals". ``scaffold_dir`` holds the generated
    ``specialist.toml``, ``Dockerfile`` and ``handler.py`` (the user may edit them before accepting).
    """

    id: str  # "p-<10 hex>"
    name: str  # the suggested specialist id (a slug of its most characteristic terms)
    title: str
    description: str
    state: str  # open | accepted | dismissed
    size: int  # tasks in the cluster
    growth: int  # tasks in the latest window
    windows: int  # separate windows its tasks came from
    examples: tuple[str, ...] = ()  # up to 10 task texts, newest first
    terms: tuple[str, ...] = ()  # most characteristic terms, strongest first
    origins: dict[str, int] = field(default_factory=dict)  # refused | low_confidence | failed -> tasks
    scaffold_dir: str = ""
    specialist: str | None = None  # the specialist it became once accepted
    created_at: float = 0.0
    updated_at: float = 0.0
    reason: str = ""  # the last decision about it


@dataclass(frozen=True)
class ExampleGrowthView:
    """How a specialist's programs did while its example bank had ``examples`` entries.

    ``tasks``/``success_rate``: live natural-language tasks answered by a model-written program;
    ``eval_runs``/``eval_accuracy``: ``switchboard eval natural`` runs at that bank size (latest).
    """

    specialist: str
    examples: int
    tasks: int = 0
    success_rate: float | None = None
    eval_runs: int = 0
    eval_accuracy: float | None = None


@dataclass(frozen=True)
class NodeView:
    """One node of the swarm (``switchboard nodes``, the Containers tab) with our replicas on it."""

    id: str
    name: str
    role: str  # manager | worker
    state: str  # ready | down | disconnected | unknown
    availability: str  # active | pause | drain
    address: str
    leader: bool
    cpus: float
    memory_mb: int
    reserved_cpus: float = 0.0  # by running Switchboard replicas (their reservations)
    reserved_memory_mb: int = 0
    replicas: dict[str, int] = field(default_factory=dict)  # specialist -> running replicas
