"""The facade the CLI and the GUI use (see docs/ARCHITECTURE.md, "The facade").

Nothing here blocks in ``__init__``. :meth:`Orchestrator.start` connects in the background;
until it finishes, calls that need the store wait for it (bounded). Docker being down is a
health status, not a crash: the engine keeps serving what it can and recovers when Docker
returns.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from app.engine.chores import RouterRetrainer, prune_samples_loop, warm_up
from app.engine.core.config import Settings, load_settings
from app.engine.core.errors import BadInput, Busy, EngineError, ManifestError, NotFound
from app.engine.core.events import (
    ContainerStateChanged,
    ContainerStatsSampled,
    Decision,
    EventBus,
    HealthChanged,
    ImageBuildProgress,
    TaskStateChanged,
)
from app.engine.core.facade import Facade
from app.engine.core.specs import Catalogue, SpecialistSpec, load_catalogue
from app.engine.core.states import ContainerState, TaskState
from app.engine.core.views import (
    ContainerView,
    DoctorCheck,
    ExampleGrowthView,
    ExampleView,
    HealthView,
    NodeView,
    ProposalView,
    RouterRetrainView,
    RouteView,
    ScalingView,
    SeriesPoint,
    SpecialistView,
    TaskHandle,
    TaskView,
    VariantView,
)
from app.engine.fleet.controller import FleetController
from app.engine.fleet.instance_lock import InstanceLock
from app.engine.fleet.lifecycle import Lifecycle
from app.engine.fleet.model_residency import OllamaResidency
from app.engine.health.fixes import apply_fix
from app.engine.health.monitor import HealthMonitor
from app.engine.health.probes import ProbeParts, Probes
from app.engine.improve import Improvement, ImprovementConfig, ProposalConfig, Proposals
from app.engine.llm.chat import ChatService
from app.engine.llm.coder import ProgramWriter
from app.engine.llm.examples import Example, ExampleBank
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.metrics import MetricsServer, MetricsSources, attach_metrics
from app.engine.reports import ReportParts, Reports
from app.engine.routing.service import RoutingService
from app.engine.runtime.docker_runtime import DockerRuntime
from app.engine.runtime.images import ImageBuilder
from app.engine.runtime.monitor import StatsMonitor
from app.engine.runtime.protocol import ContainerRuntime
from app.engine.runtime.swarm_runtime import SwarmRuntime
from app.engine.store import BlobStore, Store
from app.engine.store.damage import open_store
from app.engine.store.task_view import task_view
from app.engine.tasks import example_growth, recovery
from app.engine.tasks.dispatch import Dispatcher, InputRecord, Job
from app.engine.tasks.intake import check_files, check_text, check_types

__all__ = ["Orchestrator", "TaskHandle"]

log = logging.getLogger(__name__)
T = TypeVar("T")
START_WAIT_S = 60.0


MAX_PROGRAM_BYTES = 256 * 1024  # an edited program the user runs again


class Orchestrator:
    """Owns the engine's parts and threads; the one object callers talk to."""

    def __init__(self, settings: Settings | None = None, *, runtime: ContainerRuntime | None = None) -> None:
        self.settings = settings or load_settings()
        self.bus = EventBus()
        self.instance_id = secrets.token_hex(6)
        self.catalogue: Catalogue = load_catalogue(self.settings.specialists_dir)
        self.runtime: ContainerRuntime = runtime or (
            SwarmRuntime(self.settings) if self.settings.runtime_backend == "swarm" else DockerRuntime(self.settings)
        )
        self.images = ImageBuilder(self.settings, self.runtime)
        self.lifecycle = Lifecycle(
            self.settings, self.runtime, self.catalogue.specs, self.bus, self._image_for, self.instance_id
        )
        self.routing = RoutingService(self.settings, self.catalogue, self.bus)
        self.improvement = Improvement(
            self.wait_started,
            self.bus,
            self.catalogue.specs,
            base_model=self.settings.ollama_model,
            config=ImprovementConfig.from_settings(self.settings),
        )
        self.store: Store | None = None
        self.examples = ExampleBank(self.settings.data_dir, self.settings.specialists_dir)
        self.models: ChatService = (
            LlamaCppService(self.settings) if self.settings.planning_backend == "llamacpp" else self.routing.service
        )
        self.coder = ProgramWriter(self.models, self.settings.planning_model, self.examples)
        self.blobs = BlobStore(self.settings.data_dir / "blobs")
        self.dispatcher: Dispatcher | None = None
        self.controller: FleetController | None = None
        self.probes = Probes(
            ProbeParts(
                settings=self.settings,
                runtime=self.runtime,
                images=self.images,
                catalogue=self.catalogue,
                model_health=self.routing.health,
                model_doctor=self._model_doctor,
                store=lambda: self.store,
                wait_started=self.wait_started,
                coder_health=self._coder_health if isinstance(self.models, LlamaCppService) else None,
            )
        )
        self.health_monitor = HealthMonitor(self.bus, self.probes.all())
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sb-io")
        self._started: Future[None] = Future()
        self._start_lock = threading.Lock()
        self._start_thread: threading.Thread | None = None
        self._monitor: StatsMonitor | None = None
        self._metrics: MetricsServer | None = None
        self._latest_stats: dict[str, ContainerStatsSampled] = {}
        self.reports = Reports(
            ReportParts(
                catalogue=self.catalogue,
                lifecycle=self.lifecycle,
                runtime=self.runtime,
                images=self.images,
                store=lambda: self.store,
                latest_stats=self.latest_stats,
                is_building=self.is_building,
            )
        )
        self._building: set[str] = set()
        self._image_tags: dict[str, str] = {}
        self._prune_stop = threading.Event()
        self._pruner: threading.Thread | None = None
        self._retrainer: RouterRetrainer | None = None  # scheduled router retraining (primary engine)
        self._closed = False
        self._variant_of: dict[str, str] = {}  # task id -> the variant chosen to write its program
        self._variants_lock = threading.Lock()
        self._docker_down = False  # the health probe saw Docker down since the last resync
        self._docker_synced = False  # reattach ran against a live Docker engine
        self.lock = InstanceLock(self.settings.data_dir)
        self.primary = False
        self.secondary_reason = ""  # set when another process holds the data folder's engine lock
        self.bus.subscribe(ContainerStatsSampled, self._on_stats)
        self.bus.subscribe(ContainerStateChanged, self._on_container_state)
        self.proposer = Proposals(
            self.wait_started,
            self.bus,
            ProposalConfig.from_settings(self.settings),
            data_dir=self.settings.data_dir,
            user_dir=self.settings.effective_user_specialists_dir,
            taken=lambda: set(self.catalogue.specs),
            background=lambda: [
                t
                for s in self.catalogue.specs.values()
                for t in (s.description, *s.capabilities, *s.example_tasks, *s.routing_examples)
            ],
        )
        self.bus.subscribe(TaskStateChanged, self.proposer.on_task_state)  # clusters unserved tasks off-thread
        self._load_user_specialists()

    # ================================================================ start / close
    def start(self, *, docker: bool = True, reconcile: bool = True, monitors: bool = True) -> Future[None]:
        """Connect in the background: store, Docker, reattach, reconcile, monitors.

        Short-lived callers (CLI commands) pass ``monitors=False``: no stats or health threads.
        """
        with self._start_lock:
            if self._start_thread is None:
                self._start_thread = threading.Thread(
                    target=self._start_body, args=(docker, reconcile, monitors), name="switchboard-start", daemon=True
                )
                self._start_thread.start()
        return self._started

    def _start_body(self, docker: bool, reconcile: bool, monitors: bool) -> None:
        try:
            own_file = None if self.settings.database_url else self.settings.data_dir / "switchboard.db"
            self.store = open_store(
                self.settings.effective_database_url, data_dir=self.settings.data_dir, own_file=own_file
            )
            planner = self.routing.planner(self.store)
            self.dispatcher = Dispatcher(
                self.settings,
                self.lifecycle,
                self.store,
                self.blobs,
                self.bus,
                planner,
                on_finished=self._on_finished,
                coder=self.coder,
                program_attempts=self.settings.program_attempts,
            )
            self.routing.attach_store(self.store)
            if self.settings.models_in_budget:
                self.lifecycle.model_memory = OllamaResidency(self.settings.ollama_host)
            if monitors:  # long-lived engines only: a CLI command must not grab the GUI's port
                self._metrics = attach_metrics(self.settings.metrics_port, self.metrics_sources())
            store = self.store

            def keep_decision(d: Decision) -> None:
                store.add_decision(d.kind, d.subject, d.reason, d.data, d.ts)

            self.bus.subscribe(Decision, keep_decision)
            if store.notice:  # a damaged database was kept aside: told in words, stored in the new one
                self.bus.publish(Decision(kind="database_damaged", subject=store.where, reason=store.notice))
            self.primary = self.lock.try_acquire()
            if not self.primary:
                self.secondary_reason = self.lock.describe_holder()
                log.warning("%s", self.secondary_reason)
                self.bus.publish(
                    Decision(kind="secondary", subject=str(self.settings.data_dir), reason=self.secondary_reason)
                )
            docker_ok = False
            if docker:
                try:
                    self.runtime.ping()
                    docker_ok = True
                except EngineError as exc:
                    log.warning("Docker unavailable at start: %s", exc)
            if docker_ok:
                self.lifecycle.reattach()
            self._docker_synced = docker_ok
            self.bus.subscribe(HealthChanged, self._on_health)
            if reconcile and self.primary:
                recovery.reconcile(
                    store,
                    self.catalogue,
                    self.bus,
                    lambda text, files: self.routing.decide(text, files, {}),
                    self.dispatch_stored,
                )
            if self.primary and monitors:
                if self.settings.autoscale:
                    self.controller = FleetController(self.settings, self.lifecycle, self.bus)
                    self.controller.backlog = self.dispatcher.backlog
                    self.controller.start()
                else:
                    self.lifecycle.start_reaper()
                self._start_pruner()
                if self.settings.router_retrain_interval_s > 0:
                    self._retrainer = RouterRetrainer(
                        self.routing, self.settings.router_retrain_interval_s, self.settings.router_retrain_min_feedback
                    )
                    self._retrainer.start()
            if monitors:
                threading.Thread(target=self._warm_up, name="switchboard-warm-up", daemon=True).start()
                self._monitor = StatsMonitor(
                    self.runtime,
                    self.bus,
                    self.settings.stats_interval_s,
                    names_provider=lambda: [(r.name, r.specialist) for r in self.lifecycle.replicas()],
                    on_samples=self._persist_samples,
                )
                self._monitor.start()
                self.health_monitor.start()
            self._started.set_result(None)
        except BaseException as exc:
            log.exception("engine start failed")
            self._started.set_exception(exc)

    def _on_health(self, event: HealthChanged) -> None:
        """When Docker answers again after being down: resync the pools (reattach if never done)."""
        if event.component != "docker":
            return
        if event.status != "ok":
            self._docker_down = True
            return
        if not self._docker_down and self._docker_synced:
            return
        self._docker_down = False
        threading.Thread(target=self._resync_docker, name="switchboard-docker-resync", daemon=True).start()

    def _resync_docker(self) -> None:
        try:
            if not self._docker_synced:
                adopted, removed = self.lifecycle.reattach()
                self._docker_synced = True
                reason = (
                    f"the Docker engine answers: reattached {len(adopted)}, removed {len(removed)} leftover containers"
                )
            else:
                forgotten, removed = self.lifecycle.resync()
                reason = (
                    f"the Docker engine is back: {len(forgotten)} containers it stopped were forgotten, "
                    f"{len(removed)} leftovers removed; tasks waiting for Docker go on"
                )
        except EngineError as exc:
            log.warning("Docker resync failed: %s", exc)
            self._docker_down = True  # try again on the next change
            return
        self.bus.publish(Decision(kind="docker_back", subject="docker", reason=reason))

    def _start_pruner(self) -> None:
        self._pruner = threading.Thread(
            target=prune_samples_loop,
            args=(lambda: self.store, self.settings.samples_retention_days, self._prune_stop),
            name="switchboard-pruner",
            daemon=True,
        )
        self._pruner.start()

    def _warm_up(self) -> None:
        warm_up(self.routing, self.settings, self.bus, self.health_monitor.check_now)
        if isinstance(self.models, LlamaCppService):
            try:
                if self.models.ensure_server():
                    self.bus.publish(
                        Decision(
                            kind="start_llama",
                            subject=self.settings.llama_host,
                            reason="no llama.cpp server answered; started the installed one",
                        )
                    )
            except EngineError as exc:
                log.warning("llama.cpp not available; natural-language tasks fall back to plans: %s", exc)

    def _coder_health(self) -> HealthView:
        assert isinstance(self.models, LlamaCppService)
        status = self.models.status()
        if not status.up:
            # no automatic Fix button: the engine starts the server itself on the next natural task
            return HealthView("llama.cpp", "down", f"{status.detail}; {status.fix}".strip("; "))
        return HealthView("llama.cpp", "degraded" if status.fix else "ok", f"{status.detail} {status.fix}".strip())

    def _model_doctor(self) -> list[DoctorCheck]:
        checks = self.routing.doctor()
        if isinstance(self.models, LlamaCppService):
            status = self.models.status()
            checks.append(DoctorCheck("llama.cpp server", status.up, status.detail, status.fix))
            if status.up:
                start = time.perf_counter()
                try:
                    self.models.chat(
                        self.settings.planning_model,
                        [{"role": "user", "content": "Say OK."}],
                        options={"num_predict": 4},
                        timeout_s=60,
                    )
                    checks.append(
                        DoctorCheck(
                            "llama.cpp completion", True, f"answered in {(time.perf_counter() - start) * 1000:.0f} ms"
                        )
                    )
                except EngineError as exc:
                    checks.append(DoctorCheck("llama.cpp completion", False, exc.message, exc.hint or ""))
        return checks

    def wait_started(self, timeout_s: float = START_WAIT_S) -> Store:
        """Block until :meth:`start` finished (starting it if needed); return the store."""
        self.start()
        try:
            self._started.result(timeout=timeout_s)
        except TimeoutError:
            raise EngineError(f"the engine did not finish starting within {timeout_s:g} s") from None
        assert self.store is not None
        return self.store

    def close(self, *, remove_containers: bool = False) -> None:
        """Stop every thread the engine started; containers keep running unless asked."""
        if self._closed:
            return
        self._closed = True
        self.health_monitor.stop()
        self._prune_stop.set()
        if self._pruner is not None:
            self._pruner.join(timeout=10)
        if self._retrainer is not None:
            self._retrainer.stop()
        if self._monitor is not None:
            self._monitor.stop()
        if self._start_thread is not None:
            self._start_thread.join(timeout=START_WAIT_S)
        if self._metrics is not None:
            self._metrics.stop()
        if self.controller is not None:
            self.controller.stop()
        if self.dispatcher is not None:
            self.dispatcher.close(wait=True)
        self.proposer.close()
        try:
            self.lifecycle.close(remove_containers=remove_containers)
        except EngineError as exc:
            log.warning("closing containers: %s", exc)
        self.routing.close()
        if isinstance(self.models, LlamaCppService):
            self.models.stop_started_server()
        self._io.shutdown(wait=True, cancel_futures=True)
        if self.store is not None:
            self.store.close()
        self.lock.release()

    def _bg(self, fn: Any, *args: Any) -> Future[Any]:
        return self._io.submit(fn, *args)

    # ================================================================ catalogue
    def spec(self, specialist: str) -> SpecialistSpec:
        """A specialist's manifest; ``NotFound`` lists the known ids."""
        try:
            return self.catalogue.specs[specialist]
        except KeyError:
            known = ", ".join(self.catalogue.ids()) or "none"
            raise NotFound(f"unknown specialist {specialist!r}; known: {known}") from None

    def manifest_errors(self) -> list[str]:
        """Manifests that did not load, with file, field and problem."""
        return [str(e) for e in self.catalogue.errors]

    def specialists(self) -> list[SpecialistView]:
        """The catalogue with live state and today's figures."""
        return self.reports.specialist_views()

    # ================================================================ tasks
    def route(self, text: str, files: Sequence[Path | str] = ()) -> RouteView:
        """Explain which specialist would get ``text`` (nothing runs)."""
        clean = check_text(text, has_files=bool(files))
        return self.routing.decide(clean, [Path(f).name for f in files], self.reports.route_state())

    def submit(
        self,
        text: str,
        *,
        specialist: str | None = None,
        files: Sequence[Path | str] = (),
        timeout_s: float | None = None,
        planning: bool = True,
        program: str | None = None,
    ) -> TaskHandle:
        """Store a task, route it when no specialist is given, and dispatch it.

        With ``planning=False`` natural language is never turned into a plan by the
        specialist's model: the task must state its operation explicitly. ``program`` runs
        that Python program (the user's, or one the user edited) in a fresh sandbox instead.
        """
        clean, paths, spec = self.validate_request(text, specialist, files)
        store = self.wait_started()
        assert self.dispatcher is not None
        if self.dispatcher.pending >= self.settings.queue_size:
            raise Busy(f"busy: {self.dispatcher.pending} tasks are waiting; try again shortly")
        inputs: list[InputRecord] = []
        for path in paths:
            ref = self.blobs.put_file(path)
            inputs.append(InputRecord(name=path.name, sha256=ref.sha256, bytes=ref.bytes))
        task_id = uuid.uuid4().hex
        now = time.time()
        stored: Future[Any] = store.insert_task(
            {
                "id": task_id,
                "created_at": now,
                "updated_at": now,
                "state": TaskState.QUEUED,
                "text": clean,
                "requested_specialist": specialist,
                "attempt": 0,
                "timeout_s": timeout_s,
            }
        )
        if inputs:  # the writer keeps order: when this resolves, the task row is stored too
            stored = store.add_inputs(task_id, [{"name": i.name, "sha256": i.sha256, "bytes": i.bytes} for i in inputs])
        stored.result(timeout=60)
        self.bus.publish(TaskStateChanged(task_id=task_id, state=TaskState.QUEUED, specialist=specialist))
        route: RouteView | None = None
        if spec is None:
            route = self.routing.decide(clean, [p.name for p in paths], self.reports.route_state(), task_id=task_id)
            if route.chosen not in self.catalogue.specs:
                message = route.question or route.rationale
                store.update_task(
                    task_id,
                    state=TaskState.FAILED,
                    error_kind="not_routed",
                    error_message=message,
                    finished_at=time.time(),
                )
                self.bus.publish(TaskStateChanged(task_id=task_id, state=TaskState.FAILED, error=message))
                kind = "needs clarification" if route.chosen == "clarify" else "out of scope"
                raise BadInput(f"no specialist takes this task ({kind}): {message}")
            spec = self.catalogue.specs[route.chosen]
            try:
                check_types(paths, spec)
            except BadInput as exc:
                store.update_task(
                    task_id,
                    state=TaskState.FAILED,
                    error_kind="bad_input",
                    error_message=str(exc),
                    finished_at=time.time(),
                )
                raise
        if program is not None and spec.program is None:
            raise BadInput(f"{spec.id} does not run programs")
        return self.dispatch_stored(
            task_id, clean, spec, inputs, now, timeout_s, route, planning=planning, program=program
        )

    def validate_request(
        self, text: str, specialist: str | None, files: Sequence[Path | str]
    ) -> tuple[str, list[Path], SpecialistSpec | None]:
        """Check a request without storing or running anything (``BadInput`` says what is wrong)."""
        clean = check_text(text, has_files=bool(files))
        paths = check_files(files, self.settings)
        spec = self.spec(specialist) if specialist else None
        if spec is not None:
            check_types(paths, spec)
        return clean, paths, spec

    def dispatch_stored(
        self,
        task_id: str,
        text: str,
        spec: SpecialistSpec,
        inputs: list[InputRecord],
        created_at: float,
        timeout_s: float | None,
        route: RouteView | None,
        attempt: int = 0,
        planning: bool = True,
        program: str | None = None,
    ) -> TaskHandle:
        """Route an already stored task to ``spec`` and queue it (also used by recovery)."""
        assert self.store is not None and self.dispatcher is not None
        router = route.router if route else "explicit"
        confidence = route.confidence if route else 1.0
        self.store.update_task(
            task_id,
            state=TaskState.ROUTED,
            specialist=spec.id,
            router=router,
            route_confidence=confidence,
            updated_at=time.time(),
        )
        self.bus.publish(TaskStateChanged(task_id=task_id, state=TaskState.ROUTED, specialist=spec.id))
        job = Job(
            task_id=task_id,
            text=text,
            spec=spec,
            inputs=inputs,
            timeout_s=timeout_s or min(spec.limits.task_timeout_s, self.settings.task_timeout_s),
            created_at=created_at,
            router=router,
            route_confidence=confidence,
            attempt=attempt,
            planning=planning,
            program=program,
        )
        if program is None:
            self._pick_variant(job)
        try:
            future = self.dispatcher.submit(job)
        except Busy:
            with self._variants_lock:
                self._variant_of.pop(task_id, None)
            self.store.update_task(
                task_id, state=TaskState.FAILED, error_kind="busy", error_message="queue full", finished_at=time.time()
            )
            raise
        return TaskHandle(id=task_id, future=future, specialist=spec.id, route=route)

    def nodes(self) -> list[NodeView]:
        """The swarm's nodes with this engine's replicas on each; empty on the local Docker backend."""
        if not isinstance(self.runtime, SwarmRuntime):
            return []
        try:
            return self.runtime.nodes(self.settings.namespace)
        except EngineError as exc:
            log.warning("swarm nodes unavailable: %s", exc)
            return []

    def example_growth(self, specialist: str) -> list[ExampleGrowthView]:
        """How the specialist's programs did at each size of its example bank (live and evaluated)."""
        self.spec(specialist)
        store = self.wait_started()
        live = store.series(example_growth.LIVE_METRIC, 0.0).result(timeout=30)
        evals = store.series(example_growth.EVAL_METRIC, 0.0).result(timeout=30)
        return example_growth.growth(specialist, live, evals)

    def example_counts(self, specialist: str) -> dict[str, int]:
        """Examples in the specialist's bank: ``seed`` (shipped) and ``feedback`` (answers marked correct)."""
        self.spec(specialist)
        return self.examples.counts(specialist)

    def _pick_variant(self, job: Job) -> None:
        """The bandit picks the variant of the routed specialist that would write its program."""
        if not job.planning or job.spec.program is None:
            return
        try:
            variant = self.improvement.choose(job.spec.id)
        except EngineError as exc:
            log.warning("no variant for %s: %s", job.spec.id, exc)
            return
        if variant is None:
            return
        job.variant_id, job.variant_prompt = variant.id, variant.system_prompt
        job.variant_options = {k: float(v) for k, v in variant.parameters.items()}
        with self._variants_lock:
            self._variant_of[job.task_id] = variant.id

    def _on_finished(self, specialist: str, view: TaskView) -> None:
        """A finished task feeds the routing bandit and, when a model wrote its program, its variant's tally."""
        self.routing.on_finished(specialist, view)
        with self._variants_lock:
            variant = self._variant_of.pop(view.id, None)
        if view.path not in ("program", "planned") and not view.program and view.error_kind != "bad_plan":
            return  # explicit operations say nothing about the model
        if self.store is not None and self.catalogue.specs[specialist].program is not None:
            bank = len(self.examples.all(specialist))
            self.store.add_metric(
                example_growth.LIVE_METRIC,
                example_growth.subject(specialist, bank),
                1.0 if view.state == TaskState.SUCCEEDED else 0.0,
            )
        if variant is None:
            return
        try:
            self.improvement.record(variant, view.state == TaskState.SUCCEEDED, view.duration_ms, view.id)
        except EngineError as exc:
            log.warning("could not record the outcome of %s: %s", variant, exc)

    def rerun(self, task_id: str, specialist: str) -> TaskHandle:
        """Run a stored task again on ``specialist`` and record the override as feedback."""
        original = self.task(task_id)
        self.feedback(task_id, "wrong_specialist", specialist=specialist)
        return self.submit(original.text, specialist=specialist, files=self._inputs_again(original))

    def run_program(self, task_id: str, program: str) -> TaskHandle:
        """Run a task again with ``program`` (its model-written program as the user edited it).

        A new task with the same text and files on the same specialist; the program runs as
        given in a fresh sandbox (no model, no checks) and what it prints is the answer.
        """
        original = self.task(task_id)
        spec = self.spec(original.specialist) if original.specialist else None
        if spec is None or spec.program is None:
            raise BadInput(
                f"task {task_id} ran on {original.specialist or 'no specialist'}, which does not run programs"
            )
        if not program.strip():
            raise BadInput("the program is empty")
        if len(program.encode("utf-8")) > MAX_PROGRAM_BYTES:
            raise BadInput(f"the program is larger than {MAX_PROGRAM_BYTES // 1024} KB")
        return self.submit(original.text, specialist=spec.id, files=self._inputs_again(original), program=program)

    def _inputs_again(self, original: TaskView) -> list[Path]:
        """A stored task's input files under their own names again, to submit it anew."""
        files = [Path(self.blobs.path(i["sha256"])) for i in original.inputs]
        return recovery.stage_named_copies(self.settings.data_dir, original.id, original.inputs, files)

    def feedback(self, task_id: str, kind: str, specialist: str | None = None, note: str = "") -> None:
        """Store feedback; overrides and outcomes teach the fast router and the bandit."""
        if kind not in ("correct", "wrong_specialist", "bad_answer"):
            raise BadInput(f"feedback kind must be correct, wrong_specialist or bad_answer, not {kind!r}")
        if specialist is not None:
            self.spec(specialist)
        task = self.task(task_id)
        store = self.wait_started()
        store.add_feedback(task_id=task_id, kind=kind, specialist=specialist or task.specialist, note=note).result(
            timeout=30
        )
        if kind == "correct" and task.program and task.specialist:
            # a verified program joins the specialist's example bank: similar tasks see it next time
            shapes = "\n".join(f"- {i['name']}" for i in task.inputs)
            self.examples.add(
                task.specialist, Example(task=task.text, program=task.program, inputs=shapes, answer=task.answer[:500])
            )
            self.bus.publish(
                Decision(
                    kind="example_added",
                    subject=task.specialist,
                    reason=f"task {task_id} marked correct: its program joins the example bank",
                )
            )
        self.routing.learn_feedback(task.text, kind, task.specialist, specialist)

    def cancel(self, task_id: str) -> bool:
        """Cancel a queued or running task."""
        self.wait_started()
        assert self.dispatcher is not None
        return self.dispatcher.cancel(task_id)

    def task(self, task_id: str) -> TaskView:
        """A stored task (``NotFound`` when unknown)."""
        row = self.wait_started().get_task(task_id).result(timeout=30)
        if row is None:
            raise NotFound(f"no task with id {task_id!r}")
        return task_view(row, self.blobs)

    def tasks(
        self, limit: int = 200, state: str | None = None, specialist: str | None = None, search: str | None = None
    ) -> list[TaskView]:
        """Recent tasks, newest first, filtered."""
        rows = (
            self.wait_started()
            .list_tasks(limit=limit, state=state, specialist=specialist, search=search)
            .result(timeout=30)
        )
        return [task_view(r, self.blobs) for r in rows]

    def artifact_path(self, task_id: str, name: str) -> Path:
        """Where a task's artifact is stored."""
        for art in self.task(task_id).artifacts:
            if art.name == name:
                return Path(art.path)
        raise NotFound(f"task {task_id} has no artifact {name!r}")

    # ================================================================ lifecycle
    def _image_for(self, spec: SpecialistSpec) -> str:
        """Image for a container start, cached after the first check.

        A cold start then costs no hashing of the build context; ``build``/``build_sync``
        refresh the cache.
        """
        tag = self._image_tags.get(spec.id)
        if tag is not None and self.runtime.image_exists(tag):
            return tag
        return self.build_sync(spec.id)

    def build_sync(self, specialist: str) -> str:
        """Build (or reuse) the specialist's image on this thread; progress goes to the bus."""
        spec = self.spec(specialist)
        self._building.add(specialist)

        try:
            tag = self.images.ensure_specialist_image(spec, self.bus.publish)
        except EngineError as exc:
            self.bus.publish(ImageBuildProgress(specialist=specialist, line=str(exc), done=True, error=str(exc)))
            raise
        finally:
            self._building.discard(specialist)
        self._image_tags[specialist] = tag
        self.bus.publish(ImageBuildProgress(specialist=specialist, line=f"image {tag} ready", fraction=1.0, done=True))
        return tag

    def build(self, specialist: str) -> Future[str]:
        """Build the image in the background."""
        self.spec(specialist)
        return self._bg(self.build_sync, specialist)

    def up(self, specialist: str, replicas: int = 1) -> Future[list[ContainerView]]:
        """Build if needed and run at least ``replicas`` containers (never removes any)."""
        return self._scale_bg(specialist, lambda current: max(replicas, current))

    def scale(self, specialist: str, replicas: int) -> Future[list[ContainerView]]:
        """Run exactly ``replicas`` containers of a specialist (the controller holds it a while)."""
        return self._scale_bg(specialist, lambda _current: replicas)

    def scaling(self) -> list[ScalingView]:
        """The lifecycle controller's latest plan per specialist (empty when it is off)."""
        if self.controller is None:
            return []
        views = []
        for view in self.controller.plan_views():
            reason = self.lifecycle.quarantine_reason(view.specialist) or ""
            views.append(replace(view, quarantine=reason))
        return views

    def decisions(self, limit: int = 200) -> list[Decision]:
        """Stored engine decisions, newest first."""
        rows = self.wait_started().recent_decisions(limit).result(timeout=30)
        return [Decision(kind=r.kind, subject=r.subject, reason=r.reason, data=r.data, ts=r.ts) for r in rows]

    def release(self, specialist: str) -> bool:
        """Let a quarantined specialist start containers again; ``True`` when it was quarantined."""
        self.spec(specialist)
        return self.lifecycle.release_quarantine(specialist)

    def _scale_bg(self, specialist: str, target: Callable[[int], int]) -> Future[list[ContainerView]]:
        self.spec(specialist)

        def body() -> list[ContainerView]:
            self.wait_started()
            count = target(len(self.lifecycle.replicas(specialist)))
            if self.controller is not None:  # a count the user chose holds a while (controller.PIN_S)
                self.controller.pin(specialist, count)
            self.lifecycle.scale(specialist, count)
            return [c for c in self.containers() if c.specialist == specialist]

        return self._bg(body)

    def down(self, name_or_specialist: str) -> Future[int]:
        """Remove one container by name, or every container of a specialist."""

        def body() -> int:
            self.wait_started()
            if name_or_specialist in self.catalogue.specs:
                if self.controller is not None:
                    self.controller.pin(name_or_specialist, 0)
                return self.lifecycle.remove_all(name_or_specialist)
            if self.lifecycle.find(name_or_specialist) is None:
                raise NotFound(f"no container or specialist named {name_or_specialist!r}")
            self.lifecycle.remove(name_or_specialist)
            return 1

        return self._bg(body)

    def restart(self, container: str) -> Future[ContainerView]:
        """Replace a container by a fresh one of the same specialist."""

        def body() -> ContainerView:
            self.wait_started()
            replica = self.lifecycle.find(container)
            if replica is None:
                raise NotFound(f"no container named {container!r}")
            self.lifecycle.remove(container, reason="restart")
            new = self.lifecycle.start(replica.specialist, reason=f"restart of {container}")
            return next(c for c in self.containers() if c.name == new.name)

        return self._bg(body)

    def containers(self) -> list[ContainerView]:
        """Our containers with their latest stats."""
        return self.reports.container_views()

    def logs(self, container: str, tail: int = 200) -> str:
        """The last lines a container printed."""
        return self.runtime.logs(container, tail=tail)

    def follow_logs(self, container: str, stop: threading.Event) -> Iterator[str]:
        """Log lines as they come, until ``stop`` is set."""
        return self.runtime.follow_logs(container, stop)

    def inspect(self, container: str) -> dict[str, Any]:
        """Hardening checklist and limits of a container."""
        return self.reports.inspect(container)

    # ================================================================ self-improvement (app/engine/improve)
    def variants(self, specialist: str) -> list[VariantView]:
        """A specialist's variants with their live figures."""
        self.spec(specialist)
        return self.improvement.views(specialist)

    def retrain(self, specialist: str, replay: bool = False) -> Future[VariantView]:
        """A new candidate variant from the current dataset; ``replay`` runs the gate on real models."""
        self.spec(specialist)
        return self._bg(self.improvement.retrain_view, specialist, self.routing.service if replay else None)

    def retrain_router(self) -> Future[RouterRetrainView]:
        """Refit the fast router from stored feedback now, measured on the held-back slice (docs/routing.md)."""

        def body() -> RouterRetrainView:
            self.wait_started()
            return self.routing.retrain(trigger="demand")

        return self._bg(body)

    def router_history(self, limit: int = 200) -> list[RouterRetrainView]:
        """The router's past retrains with their before/after figures, oldest first."""
        self.wait_started()
        return self.routing.history(limit)

    def dataset(self, specialist: str, include_removed: bool = False) -> list[ExampleView]:
        """A specialist's curated examples, newest first."""
        self.spec(specialist)
        return self.improvement.dataset(specialist, include_removed)

    def remove_example(self, specialist: str, example_id: str) -> bool:
        """Take an example out of a dataset for good."""
        self.spec(specialist)
        return self.improvement.remove_example(specialist, example_id)

    def export_dataset(self, specialist: str) -> str:
        """A specialist's dataset as JSONL text."""
        self.spec(specialist)
        return self.improvement.export(specialist)

    # ================================================================ new specialisations (improve/proposals.py)
    def proposals(self) -> list[ProposalView]:
        """Proposed new specialists (open and accepted), newest first."""
        self.wait_started()
        return self.proposer.views()

    def accept_proposal(self, proposal_id: str) -> Future[ProposalView]:
        """Install the proposal's scaffold as a user specialist, load it, build its image."""
        self.wait_started()
        self.proposer.get(proposal_id)  # NotFound at once, not in the future

        def body() -> ProposalView:
            _view, spec = self.proposer.accept(proposal_id)
            self._register_specialist(spec, announce=True)
            self.build_sync(spec.id)
            return self.proposer.get(proposal_id)

        return self._bg(body)

    def dismiss_proposal(self, proposal_id: str) -> ProposalView:
        """Hide a proposal for good; its cluster is never proposed again."""
        self.wait_started()
        return self.proposer.dismiss(proposal_id)

    def _load_user_specialists(self) -> None:
        """Add the user's own specialists (accepted proposals) to the catalogue loaded from specialists_dir."""
        folder = self.settings.effective_user_specialists_dir
        if not folder.is_dir() or folder.resolve() == self.settings.specialists_dir.resolve():
            return
        extra = load_catalogue(folder)
        self.catalogue.errors.extend(extra.errors)
        for spec in extra.specs.values():
            if spec.id in self.catalogue.specs:
                self.catalogue.errors.append(
                    ManifestError(
                        str(spec.folder / "specialist.toml"),
                        "id",
                        f"{spec.id!r} is a built-in specialist already; rename the folder and id",
                    )
                )
                continue
            self._register_specialist(spec)

    def _register_specialist(self, spec: SpecialistSpec, *, announce: bool = False) -> None:
        """Make a newly loaded specialist known to the running engine (catalogue reload).

        The catalogue's ``specs`` dict is shared by the lifecycle, the improvement service and the
        reports, so adding to it reaches them; the lifecycle and the controller are told, and the
        router is retrained on next use.
        """
        self.lifecycle.add_specialist(spec)  # the catalogue's dict is the lifecycle's: this adds it there too
        if self.controller is not None:
            self.controller.add_specialist(spec)
        self.catalogue.specs[spec.id] = spec
        with self.routing._router_lock:  # retrained on next use, with the new specialist's examples
            retrain = self.routing._router is not None
            self.routing._router = None
        if retrain and self.store is not None:
            self.routing.attach_store(self.store)  # stored overrides are learnt again
        if announce:
            self.bus.publish(
                Decision(
                    kind="specialist_added",
                    subject=spec.id,
                    reason=f"loaded specialist {spec.id} from {spec.folder} into the running engine",
                )
            )

    # ================================================================ health & figures
    def doctor(self) -> list[DoctorCheck]:
        """Check every dependency and say how to fix what is missing."""
        return self.probes.doctor()

    def fix(self, component: str) -> Future[str]:
        """Apply the fix the engine knows for a dependency (start Docker or Ollama) in the background."""
        return self._bg(
            lambda: apply_fix(
                component,
                runtime=self.runtime,
                service=self.routing.service,
                settings=self.settings,
                recheck=self.health_monitor.check_now,
            )
        )

    def health(self) -> list[HealthView]:
        """Latest status of Docker, Ollama and the database."""
        return self.health_monitor.snapshot()

    def series(self, metric: str, since_ts: float, specialist: str | None = None) -> list[SeriesPoint]:
        """Stored figures for charts.

        ``latency_threshold_ms`` and ``cost_threshold`` ($ per task) are the controller's threshold
        history, read from its published ``threshold`` decisions.
        """
        if metric == "latency_threshold_ms":
            return self._threshold_series(since_ts, specialist, "latency_s", 1000.0)
        if metric == "cost_threshold":
            return self._threshold_series(since_ts, specialist, "cost_per_task", 1.0)
        rows = self.wait_started().series(metric, since_ts, subject=specialist).result(timeout=30)
        return [SeriesPoint(ts=float(r[0]), value=float(r[1]), subject=str(r[2] or "")) for r in rows]

    def _threshold_series(self, since_ts: float, specialist: str | None, key: str, scale: float) -> list[SeriesPoint]:
        """Each published change of one threshold, then its current value now (so lines reach the present).

        A threshold that is off (a cost threshold with both cost rates at 0) has no points.
        """
        rows = self.wait_started().recent_decisions(5000, kinds=("threshold",)).result(timeout=30)
        points = [
            SeriesPoint(ts=r.ts, value=float(r.data[key]) * scale, subject=r.subject)
            for r in reversed(rows)
            if r.ts >= since_ts and r.data.get(key) is not None and specialist in (None, r.subject)
        ]
        now = time.time()
        for view in self.scaling():
            current = view.latency_threshold_s if key == "latency_s" else view.cost_threshold
            if current is None or specialist not in (None, view.specialist):
                continue
            if any(p.subject == view.specialist for p in points):
                points.append(SeriesPoint(ts=now, value=current * scale, subject=view.specialist))
        return points

    def metrics_sources(self) -> MetricsSources:
        """The live figures the Prometheus registry reads (memory only, never the database)."""

        def writer_counts() -> tuple[int, int] | None:
            store = self.store
            return (store.writer.batches, store.writer.items) if store is not None else None

        return MetricsSources(
            bus=self.bus,
            replicas=lambda: [(r.name, r.specialist) for r in self.lifecycle.replicas()],
            health=self.health_monitor.snapshot,
            pending=lambda: self.dispatcher.pending if self.dispatcher is not None else 0,
            writer_counts=writer_counts,
        )

    @property
    def metrics_url(self) -> str | None:
        """Where Prometheus metrics are served (``None`` when ``metrics_port`` is 0)."""
        return self._metrics.url if self._metrics is not None else None

    def _on_stats(self, event: ContainerStatsSampled) -> None:
        self._latest_stats[event.container] = event

    def _on_container_state(self, event: ContainerStateChanged) -> None:
        if event.state == ContainerState.REMOVED:  # a removed container's last sample is no longer news
            self._latest_stats.pop(event.container, None)

    def latest_stats(self, container: str) -> ContainerStatsSampled | None:
        """The last sample of a container, if any."""
        return self._latest_stats.get(container)

    def is_building(self, specialist: str) -> bool:
        """Whether an image build of ``specialist`` is under way."""
        return specialist in self._building

    def _persist_samples(self, samples: list[ContainerStatsSampled]) -> None:
        if self.store is None or not samples:
            return
        self.store.add_samples(
            [
                {
                    "ts": s.ts,
                    "container": s.container,
                    "specialist": s.specialist,
                    "cpu_percent": s.cpu_percent,
                    "memory_bytes": s.memory_bytes,
                    "pids": s.pids,
                }
                for s in samples
            ]
        )


def _satisfies_facade(orch: Orchestrator) -> Facade:
    """Never called: mypy checks here that the orchestrator is structurally a ``Facade``."""
    return orch
