"""New specialisations: cluster the tasks no specialist served well; propose the growing clusters.

A finished task is **unserved** when it was refused as out of scope (``not_routed``, but not the
router's guard refusals of empty or steering texts), routed with a confidence below
``proposal_low_confidence``, or failed for a reason that is the specialist's (the failure kinds
:data:`~app.engine.improve.datasets.IGNORED_FAILURES` say nothing about a capability).

Unserved tasks are clustered incrementally (one pass, leader-follower): a task's text becomes a
TF-IDF vector of stemmed words and 6-letter prefixes (document frequencies counted over the
catalogue's own texts and the unserved tasks as they arrive, so words the existing specialists
already use weigh little) and joins the
cluster whose centroid is nearest by cosine if that is at least ``proposal_similarity``, or
starts a new one. Memory is bounded: at most :data:`MAX_CLUSTERS` clusters (the stalest forming
one is dropped), :data:`CENTROID_TERMS` terms per centroid, :data:`VOCABULARY` document
frequencies, 10 examples and 200 member ids per cluster.

**The rule.** A forming cluster becomes a proposal when it holds at least ``proposal_min_tasks``
tasks (N, default 5) that arrived in at least ``proposal_min_windows`` separate windows of
``proposal_window_s`` seconds (default 2 windows of an hour): a need that comes back, not one
burst of retries. A proposal keeps growing with its cluster (``size``; ``growth`` = its tasks in
the latest window). Dismissed proposals keep absorbing their kind of task, so that cluster is
never proposed again; accepted ones too (tasks the new specialist still does not serve).

Every proposal, acceptance and dismissal is a :class:`~app.engine.core.events.Decision`
(``proposal_made``, ``proposal_accepted``, ``proposal_dismissed``) with its reason in figures.
Proposals are stored (table ``proposals``, with the centroid); forming clusters live in memory and
are rebuilt at start by replaying the newest :data:`REPLAY_LIMIT` unserved tasks from the store.

Threads: :meth:`Proposals.on_task_state` (a bus subscriber) only queues the task id; one worker
thread (``sb-proposals``) reads the task and clusters it, so the dispatcher never waits.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, EngineError, NotFound
from app.engine.core.events import Decision, EventBus, TaskStateChanged
from app.engine.core.specs import ID_PATTERN, SpecialistSpec
from app.engine.core.views import ProposalView
from app.engine.improve.datasets import IGNORED_FAILURES
from app.engine.improve.scaffold import ScaffoldRequest, install, write_scaffold
from app.engine.store import Store, TaskRecord
from app.engine.store import proposals as db

__all__ = [
    "Cluster",
    "Clusterer",
    "ProposalConfig",
    "Proposals",
    "classify",
    "ready",
    "stem",
    "suggest_name",
    "words",
]

log = logging.getLogger(__name__)
WAIT_S = 30.0
MAX_CLUSTERS = 300
CENTROID_TERMS = 64
VOCABULARY = 20_000
MAX_EXAMPLES = 10
MAX_MEMBERS = 200
MAX_SEEN = 5000
REPLAY_LIMIT = 2000
MIN_WORDS = 2  # fewer content words say too little to cluster on

_WORD = re.compile(r"[a-z][a-z0-9]+")
_STOP = frozenset(
    "a an the of to in on for and or with from by at as is are be was were this that these those it its "
    "me my i we our you your please can could would will should do does did what which when where who why "
    "how there some any all just into onto about over under than then so if not no yes also very "
    "give show tell get make want need help use using let lets like need needs thing things".split()
)
_SUFFIXES = (
    "ations",
    "ation",
    "ements",
    "ement",
    "ments",
    "ment",
    "ions",
    "ion",
    "ing",
    "ies",
    "ied",
    "ers",
    "es",
    "ed",
    "er",
    "s",
    "e",
)
# Router refusals that are about the text, not about a missing capability (routing/router.py).
_GUARD_PHRASES = ("steer the router", "too short to route", "what should be done")
_ORIGIN_WORDS = {
    "refused": "refused as out of scope",
    "low_confidence": "routed with low confidence",
    "failed": "failed on a specialist",
}


# --------------------------------------------------------------------------- text features
def words(text: str) -> list[str]:
    """Lower-case, accent-free content words (stop words and numbers left out)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [w for w in _WORD.findall(plain) if w not in _STOP]


def stem(word: str) -> str:
    """Strip one common English inflection so ``translate``/``translation`` share a feature."""
    if len(word) < 5 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _norm(vec: Mapping[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vec.values()))


# --------------------------------------------------------------------------- clusters
@dataclass
class Cluster:
    """A group of similar unserved tasks; a proposal once the rule holds (``state`` not forming)."""

    id: str
    centroid: dict[str, float] = field(default_factory=dict)  # sum of unit vectors, top terms only
    size: int = 0
    surface: dict[str, int] = field(default_factory=dict)  # word -> count, for naming
    examples: list[str] = field(default_factory=list)  # newest first
    members: list[str] = field(default_factory=list)  # task ids, newest last
    origins: dict[str, int] = field(default_factory=dict)
    windows: int = 0
    last_window: int = -1
    growth: int = 0  # tasks in last_window
    last_ts: float = 0.0
    state: str = "forming"  # forming | open | accepted | dismissed
    counted_until: float = 0.0  # a stored proposal already counted every task up to here
    name: str = ""
    title: str = ""
    description: str = ""
    scaffold_dir: str = ""
    specialist: str | None = None
    reason: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    def similarity(self, vec: Mapping[str, float]) -> float:
        """Cosine between the centroid and a unit vector."""
        norm = _norm(self.centroid)
        if norm == 0.0:
            return 0.0
        return sum(w * self.centroid.get(t, 0.0) for t, w in vec.items()) / norm

    def add(self, vec: Mapping[str, float], text: str, task_id: str, origin: str, ts: float, window: int) -> None:
        """Count one task: centroid, examples, members, origin and window figures."""
        for term, weight in vec.items():
            self.centroid[term] = self.centroid.get(term, 0.0) + weight
        if len(self.centroid) > CENTROID_TERMS:
            self.centroid = dict(sorted(self.centroid.items(), key=lambda kv: -kv[1])[:CENTROID_TERMS])
        for w in words(text):
            self.surface[w] = self.surface.get(w, 0) + 1
        if len(self.surface) > 4 * CENTROID_TERMS:
            self.surface = dict(sorted(self.surface.items(), key=lambda kv: -kv[1])[: 2 * CENTROID_TERMS])
        clean = " ".join(text.split())[:300]
        if clean and clean not in self.examples:
            self.examples.insert(0, clean)
            del self.examples[MAX_EXAMPLES:]
        self.members.append(task_id)
        del self.members[:-MAX_MEMBERS]
        self.origins[origin] = self.origins.get(origin, 0) + 1
        self.size += 1
        if window > self.last_window:  # a late task from an older window counts in size only
            self.windows += 1
            self.last_window, self.growth = window, 0
        if window == self.last_window:
            self.growth += 1
        self.last_ts = max(self.last_ts, ts)

    def top_terms(self, idf: Callable[[str], float], n: int = 5, *, recurring: bool = False) -> list[str]:
        """The most characteristic surface words: frequent here, rare overall; one per stem.

        Words of several tasks come before words of one; ``recurring`` keeps only those (names).
        """
        scored = sorted(self.surface.items(), key=lambda kv: (kv[1] < 2, -kv[1] * idf(stem(kv[0])), kv[0]))
        out: list[str] = []
        stems: set[str] = set()
        for word, count in scored:
            if stem(word) in stems or word[0].isdigit() or (recurring and count < 2 and out):
                continue
            stems.add(stem(word))
            out.append(word)
            if len(out) == n:
                break
        return out


def ready(cluster: Cluster, min_tasks: int, min_windows: int) -> bool:
    """The proposal rule: a forming cluster of >= N tasks from >= W separate windows."""
    return cluster.state == "forming" and cluster.size >= min_tasks and cluster.windows >= min_windows


class Clusterer:
    """Incremental TF-IDF + cosine leader clustering, bounded in memory (not thread-safe)."""

    def __init__(self, similarity: float = 0.15, window_s: float = 3600.0) -> None:
        self.threshold = similarity
        self.window_s = window_s
        self.clusters: dict[str, Cluster] = {}
        self.df: dict[str, int] = {}
        self.docs = 0

    def seed(self, texts: Iterable[str]) -> None:
        """Count background documents (the catalogue's own examples) in the frequencies.

        Words the existing specialists already use (``table``, ``file``, ``compute``) then weigh
        little, and words no specialist knows weigh much: those are what a new one is about.
        """
        for text in texts:
            self.vector(text, count=True)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency of a stem."""
        return math.log((1 + self.docs) / (1 + self.df.get(term, 0))) + 1.0

    def vector(self, text: str, *, count: bool = False) -> dict[str, float]:
        """The unit TF-IDF vector of ``text`` (stems); ``count`` adds it to the frequencies first."""
        tf: dict[str, float] = {}
        for w in words(text):
            s = stem(w)
            tf[s] = tf.get(s, 0.0) + 1.0
            if len(w) >= 7 and w.isalpha():  # translate / translation / translating meet here
                key = "~" + w[:6]
                tf[key] = tf.get(key, 0.0) + 1.0
        if count and tf:
            self.docs += 1
            for term in tf:
                self.df[term] = self.df.get(term, 0) + 1
            if len(self.df) > VOCABULARY:  # forget the rarest terms (seen once) first
                self.df = {t: n for t, n in self.df.items() if n > 1} or self.df
        vec = {t: (1.0 + math.log(n) if n >= 1 else n) * self.idf(t) for t, n in tf.items()}
        norm = _norm(vec)
        return {t: v / norm for t, v in vec.items()} if norm else {}

    def nearest(self, vec: Mapping[str, float]) -> tuple[Cluster | None, float]:
        """The closest cluster and its similarity (``None`` when there is none)."""
        best: Cluster | None = None
        score = 0.0
        for cluster in self.clusters.values():
            sim = cluster.similarity(vec)
            if sim > score:
                best, score = cluster, sim
        return best, score

    def assign(self, task_id: str, text: str, origin: str, ts: float) -> Cluster | None:
        """Add a task to its cluster (a new one if none is close enough); ``None`` if too short."""
        if len(words(text)) < MIN_WORDS:
            return None
        vec = self.vector(text, count=True)
        if not vec:
            return None
        cluster, score = self.nearest(vec)
        if cluster is None or score < self.threshold:
            cluster = Cluster(id="p-" + secrets.token_hex(5), created_at=ts)
            self.clusters[cluster.id] = cluster
        cluster.add(vec, text, task_id, origin, ts, int(ts // self.window_s))
        self._bound(keep=cluster.id)
        return cluster

    def _bound(self, keep: str) -> None:
        forming = [c for c in self.clusters.values() if c.state == "forming" and c.id != keep]
        while len(self.clusters) > MAX_CLUSTERS and forming:
            stalest = min(forming, key=lambda c: c.last_ts)
            forming.remove(stalest)
            del self.clusters[stalest.id]


def classify(task: TaskRecord, low_confidence: float) -> str | None:
    """Why a finished task counts as unserved (``refused``, ``low_confidence``, ``failed``), or None."""
    state, kind = task.state, task.error_kind
    if state not in ("succeeded", "failed"):
        return None
    if state == "failed" and kind == "not_routed":
        message = (task.error_message or "").lower()
        return None if any(p in message for p in _GUARD_PHRASES) else "refused"
    confidence, router = task.route_confidence, task.router
    if confidence is not None and router not in (None, "explicit", "override") and float(confidence) < low_confidence:
        return "low_confidence"
    if state == "failed" and kind and kind not in IGNORED_FAILURES:
        return "failed"
    return None


def suggest_name(terms: list[str], taken: set[str]) -> str:
    """A specialist id from the top terms (``translate-french``), unique among ``taken``."""
    parts = [t for t in terms if t[0].isalpha()][:2] or ["proposal"]
    base = "-".join(parts)[:34].strip("-")
    if not re.match(ID_PATTERN, base):
        base = "proposal"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


# --------------------------------------------------------------------------- the service
@dataclass(frozen=True)
class ProposalConfig:
    """The proposal rule's knobs (from settings)."""

    min_tasks: int = 5
    min_windows: int = 2
    window_s: float = 3600.0
    similarity: float = 0.15
    low_confidence: float = 0.3

    @classmethod
    def from_settings(cls, settings: Settings) -> ProposalConfig:
        """The configuration the settings ask for."""
        return cls(
            min_tasks=settings.proposal_min_tasks,
            min_windows=settings.proposal_min_windows,
            window_s=settings.proposal_window_s,
            similarity=settings.proposal_similarity,
            low_confidence=settings.proposal_low_confidence,
        )


class Proposals:
    """Clusters unserved tasks, stores proposals, scaffolds them, accepts and dismisses them.

    Parameters
    ----------
    store
        Returns the open store (the orchestrator passes its ``wait_started``).
    bus
        Where decisions are published.
    data_dir
        Scaffolds go to ``<data_dir>/proposals/<id>/<name>/``.
    user_dir
        The user's specialists folder an accepted scaffold is copied into.
    taken
        Specialist ids in use now (the catalogue's), so a suggested name never collides.
    background
        Texts of the existing catalogue (descriptions, examples), counted in the word frequencies
        so that what the specialists already cover weighs little (see :meth:`Clusterer.seed`).
    """

    def __init__(
        self,
        store: Callable[[], Store],
        bus: EventBus,
        config: ProposalConfig,
        *,
        data_dir: Path,
        user_dir: Path,
        taken: Callable[[], set[str]],
        background: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.bus = bus
        self.config = config
        self.root = data_dir / "proposals"
        self.user_dir = user_dir
        self._taken = taken
        self._background = background
        self._clock = clock
        self.clusterer = Clusterer(config.similarity, config.window_s)
        self._lock = threading.RLock()
        self._loaded = False
        self._seen: deque[str] = deque(maxlen=MAX_SEEN)
        self._seen_set: set[str] = set()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sb-proposals")
        self._closed = False

    # ------------------------------------------------------------------ feeding
    def on_task_state(self, event: TaskStateChanged) -> None:
        """Bus subscriber (any thread): queue a finished task for clustering; never blocks."""
        if self._closed or event.state not in ("succeeded", "failed"):
            return
        try:
            self._worker.submit(self._note, event.task_id)
        except RuntimeError:  # closing: the executor no longer takes work
            pass

    def _note(self, task_id: str) -> None:
        try:
            task = self._store().run(partial(db.candidate_task, task_id=task_id)).result(timeout=WAIT_S)
            if task is not None:
                self.observe(task)
        except EngineError as exc:
            log.warning("proposals: task %s not clustered: %s", task_id, exc)
        except Exception:  # a bad row must never stop the worker
            log.exception("proposals: clustering task %s failed", task_id)

    def flush(self, timeout_s: float = WAIT_S) -> None:
        """Wait until every queued task is clustered (tests, benchmarks)."""
        self._worker.submit(lambda: None).result(timeout=timeout_s)

    def observe(self, task: TaskRecord, *, replaying: bool = False) -> Cluster | None:
        """Cluster one stored task if it was unserved; the cluster it joined, if any."""
        if not replaying:
            self._ensure_loaded()
        origin = classify(task, self.config.low_confidence)
        task_id = task.id
        if origin is None or not task_id:
            return None
        with self._lock:
            if task_id in self._seen_set:
                return None
            self._remember(task_id)
            ts = task.finished_at or task.created_at or self._clock()
            text = task.text
            if replaying:  # a stored proposal counted its tasks up to its last update already
                vec = self.clusterer.vector(text)
                near, score = self.clusterer.nearest(vec) if vec else (None, 0.0)
                if near is not None and score >= self.clusterer.threshold and ts <= near.counted_until:
                    self.clusterer.vector(text, count=True)
                    return None
            cluster = self.clusterer.assign(task_id, text, origin, ts)
            if cluster is None:
                return None
            if ready(cluster, self.config.min_tasks, self.config.min_windows):
                self._propose(cluster)
            elif cluster.state != "forming":
                self._save(cluster, wait=False)
            return cluster

    def _remember(self, task_id: str) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(task_id)
        self._seen_set.add(task_id)

    # ------------------------------------------------------------------ loading
    def _ensure_loaded(self) -> None:
        with self._lock:
            if self._loaded:
                return
            store = self._store()
            self.clusterer.seed(self._background())
            for row in store.run(db.list_proposals).result(timeout=WAIT_S):
                cluster = Cluster(
                    id=row.id,
                    centroid=dict(row.terms),
                    size=row.size,
                    examples=list(row.examples),
                    members=list(row.members),
                    origins=dict(row.origins),
                    windows=row.windows,
                    last_window=row.last_window,
                    growth=row.growth,
                    last_ts=row.updated_at,
                    state=row.state,
                    counted_until=row.updated_at,
                    name=row.name,
                    title=row.title,
                    description=row.description,
                    scaffold_dir=row.scaffold_dir,
                    specialist=row.specialist,
                    reason=row.reason,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                )
                cluster.surface = {w: 1 for w in row.name.split("-")}
                self.clusterer.clusters[cluster.id] = cluster
                for member in cluster.members:
                    self._remember(member)
            self._loaded = True
            rows = store.run(
                partial(db.recent_candidates, low_confidence=self.config.low_confidence, limit=REPLAY_LIMIT)
            ).result(timeout=WAIT_S)
            for task in rows:
                self.observe(task, replaying=True)

    # ------------------------------------------------------------------ proposing
    def _taken_names(self, exclude: str = "") -> set[str]:
        names = set(self._taken())
        names.update(c.name for c in self.clusterer.clusters.values() if c.name and c.id != exclude)
        if self.user_dir.is_dir():
            names.update(p.name for p in self.user_dir.iterdir())
        return names

    def _describe(self, cluster: Cluster, terms: list[str]) -> str:
        origins = ", ".join(
            f"{n} {_ORIGIN_WORDS.get(o, o)}" for o, n in sorted(cluster.origins.items(), key=lambda kv: -kv[1])
        )
        about = ", ".join(terms) if terms else "one kind of request"
        return (
            f"Tasks about {about} that no specialist served well; proposed after {cluster.size} of them "
            f"({origins}) over {cluster.windows} window(s) of {self.config.window_s / 3600:g} h."
        )

    def _propose(self, cluster: Cluster) -> None:
        terms = cluster.top_terms(self.clusterer.idf)
        naming = cluster.top_terms(self.clusterer.idf, 2, recurring=True)
        cluster.name = suggest_name(naming, self._taken_names(exclude=cluster.id))
        cluster.title = " ".join(t.capitalize() for t in naming) or cluster.name
        cluster.description = self._describe(cluster, terms)
        folder, _spec = write_scaffold(
            ScaffoldRequest(
                proposal_id=cluster.id,
                name=cluster.name,
                title=cluster.title,
                description=cluster.description,
                capabilities=terms,
                examples=cluster.examples,
                size=cluster.size,
            ),
            self.root / cluster.id,
        )
        now = self._clock()
        cluster.state, cluster.scaffold_dir, cluster.created_at = "open", str(folder), now
        cluster.reason = (
            f"proposed specialist {cluster.name!r} from {cluster.size} unserved tasks over {cluster.windows} "
            f"window(s) (rule: >= {self.config.min_tasks} tasks in >= {self.config.min_windows} windows), "
            f"e.g. {cluster.examples[0]!r}"
        )
        self._save(cluster, wait=True, new=True)
        self._decide("proposal_made", cluster, cluster.reason)

    def _fields(self, cluster: Cluster) -> dict[str, Any]:
        return {
            "name": cluster.name,
            "title": cluster.title,
            "description": cluster.description,
            "state": cluster.state,
            "size": cluster.size,
            "growth": cluster.growth,
            "windows": cluster.windows,
            "last_window": max(0, cluster.last_window),
            "terms": cluster.centroid,
            "examples": cluster.examples,
            "members": cluster.members,
            "origins": cluster.origins,
            "scaffold_dir": cluster.scaffold_dir,
            "specialist": cluster.specialist,
            "reason": cluster.reason,
        }

    def _save(self, cluster: Cluster, *, wait: bool, new: bool = False) -> None:
        now = self._clock()
        cluster.updated_at = now  # counted_until stays what was loaded: it guards replays at start only
        fields = self._fields(cluster)
        store = self._store()
        if new:
            row = db.proposal_row(
                {**fields, "id": cluster.id, "created_at": cluster.created_at, "updated_at": now}, new=True
            )
            future: Future[None] = store.run(partial(db.insert_proposal, row=row))
        else:
            row = db.proposal_row({**fields, "updated_at": now}, new=False)
            future = store.run(partial(db.update_proposal, proposal_id=cluster.id, fields=row))
        if wait:
            future.result(timeout=WAIT_S)
        else:
            store.forget(f"storing proposal {cluster.id}", future)

    def _decide(self, kind: str, cluster: Cluster, reason: str) -> None:
        self.bus.publish(
            Decision(
                kind=kind,
                subject=cluster.id,
                reason=reason,
                ts=self._clock(),
                data={
                    "proposal": cluster.id,
                    "name": cluster.name,
                    "size": cluster.size,
                    "windows": cluster.windows,
                    "growth": cluster.growth,
                    "origins": dict(cluster.origins),
                    "specialist": cluster.specialist,
                },
            )
        )

    # ------------------------------------------------------------------ reading and deciding
    def view(self, cluster: Cluster) -> ProposalView:
        """A cluster as the facade shows it."""
        terms = cluster.top_terms(self.clusterer.idf, 8)
        return ProposalView(
            id=cluster.id,
            name=cluster.name,
            title=cluster.title,
            description=cluster.description,
            state=cluster.state,
            size=cluster.size,
            growth=cluster.growth,
            windows=cluster.windows,
            examples=tuple(cluster.examples),
            terms=tuple(terms),
            origins=dict(cluster.origins),
            scaffold_dir=cluster.scaffold_dir,
            specialist=cluster.specialist,
            created_at=cluster.created_at,
            updated_at=cluster.updated_at,
            reason=cluster.reason,
        )

    def views(self, include_dismissed: bool = False) -> list[ProposalView]:
        """Proposals (open and accepted; dismissed too if asked), newest first."""
        self._ensure_loaded()
        with self._lock:
            shown = [
                c
                for c in self.clusterer.clusters.values()
                if c.state in ("open", "accepted") or (include_dismissed and c.state == "dismissed")
            ]
            return [self.view(c) for c in sorted(shown, key=lambda c: -c.created_at)]

    def get(self, proposal_id: str) -> ProposalView:
        """One proposal (``NotFound`` when there is none with this id)."""
        return self.view(self._proposal(proposal_id))

    def _proposal(self, proposal_id: str) -> Cluster:
        self._ensure_loaded()
        with self._lock:
            cluster = self.clusterer.clusters.get(proposal_id)
            if cluster is None or cluster.state == "forming":
                raise NotFound(f"no proposal {proposal_id!r}")
            return cluster

    def accept(self, proposal_id: str) -> tuple[ProposalView, SpecialistSpec]:
        """Copy the (possibly edited) scaffold into the user's specialists folder; the spec it loads as."""
        with self._lock:
            cluster = self._proposal(proposal_id)
            if cluster.state != "open":
                raise BadInput(
                    f"proposal {proposal_id} is {cluster.state} already"
                    + (f" (specialist {cluster.specialist})" if cluster.specialist else "")
                )
            spec = install(Path(cluster.scaffold_dir), self.user_dir, set(self._taken()))
            cluster.state, cluster.specialist = "accepted", spec.id
            cluster.reason = (
                f"accepted proposal {proposal_id}: specialist {spec.id!r} installed in {spec.folder} "
                f"from {cluster.size} tasks; building its image"
            )
            self._save(cluster, wait=True)
            self._decide("proposal_accepted", cluster, cluster.reason)
            return self.view(cluster), spec

    def dismiss(self, proposal_id: str, reason: str = "") -> ProposalView:
        """Hide a proposal for good: its cluster keeps absorbing its kind of task, never re-proposed."""
        with self._lock:
            cluster = self._proposal(proposal_id)
            if cluster.state != "open":
                raise BadInput(f"proposal {proposal_id} is {cluster.state} already")
            cluster.state = "dismissed"
            cluster.reason = (
                f"dismissed proposal {proposal_id} ({cluster.name}, {cluster.size} tasks): "
                "its kind of task is not proposed again" + (f"; {reason}" if reason else "")
            )
            self._save(cluster, wait=True)
            self._decide("proposal_dismissed", cluster, cluster.reason)
            return self.view(cluster)

    def close(self) -> None:
        """Stop the worker after the tasks already queued (idempotent)."""
        self._closed = True
        self._worker.shutdown(wait=True, cancel_futures=False)
