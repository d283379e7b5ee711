"""Dispatcher: bounded queue, per-specialist workers, timeouts, cancellation, one retry.

Threads: :meth:`Dispatcher.submit` runs on the caller's thread and only enqueues. Each
specialist has its own worker pool (so a saturated specialist never starves another); task
events (:class:`~app.engine.core.events.TaskStateChanged`) are published on those worker threads.
A task is already stored (state ``routed``) before it reaches the dispatcher.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from app.engine.core.config import Settings
from app.engine.core.errors import (
    BadInput,
    Busy,
    DockerUnavailable,
    EngineError,
    EnvironmentUnavailable,
    TaskFailed,
)
from app.engine.core.events import Decision, EventBus, TaskStateChanged
from app.engine.core.specs import SpecialistSpec
from app.engine.core.states import TaskState
from app.engine.core.views import ArtifactView, TaskView
from app.engine.fleet.lifecycle import Lifecycle, Replica
from app.engine.fleet.output_download import collect_replica_outputs
from app.engine.fleet.thresholds import hourly_cost
from app.engine.fleet.transport import BadAnswer, ConnectionLost, excerpt
from app.engine.fleet.wire import InputRef, TableData, TaskRequest, TaskResponse
from app.engine.llm.answer_shape import answer_shape, asks_for_chart
from app.engine.llm.error_gist import error_gist
from app.engine.store import BlobStore, FileRecord, Store, TaskRecord
from app.engine.store.task_view import task_view
from app.engine.tasks.answer_table import table_from_answer
from app.engine.tasks.input_preview import describe_input, table_columns
from app.engine.tasks.input_staging import clear_inputs, stage_inputs
from app.engine.tasks.named_values import category_values
from app.engine.tasks.verify import SHAPE_PROBLEM, agree, check_result, is_soft

__all__ = ["Dispatcher", "InputRecord", "Job", "PlannerLike"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # one automatic retry when a container dies mid-task
ANSWER_SLACK_BYTES = 256 * 1024
TIMEOUT_GRACE_S = 5.0
PROGRAM_BUDGET_S = 150.0  # writing + running + checking every program attempt of one task


def answer_cap(max_output_bytes: int) -> int:
    """Most bytes read of one answer: the runtime fits answers to ``max_output_bytes``."""
    return 2 * max_output_bytes + ANSWER_SLACK_BYTES


class CoderLike(Protocol):
    """What the dispatcher needs from :class:`~app.engine.llm.coder.ProgramWriter`."""

    def write(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        attempt: int = 1,
        feedback: str = "",
        timeout_s: float = 120.0,
        style: str = "",
        overrides: Mapping[str, float] | None = None,
        failed_program: str = "",
    ) -> str:
        """A program for ``text``.

        ``style``/``overrides`` are the chosen variant's prompt and parameters; ``failed_program``
        is the previous attempt's program when it crashed, to be repaired.
        """
        ...

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        feedback: str = "",
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """A schema-valid plan of the specialist's own operation, or ``TaskFailed(kind="bad_plan")``."""
        ...


class PlannerLike(Protocol):
    """What the dispatcher needs from the planner (``app.engine.llm.planner.Planner``)."""

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs_meta: Sequence[Mapping[str, Any]] = (),
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A schema-valid plan for ``text`` or ``TaskFailed(kind="bad_plan")``."""
        ...


@dataclass(frozen=True)
class InputRecord:
    """A stored input file of a task."""

    name: str
    sha256: str
    bytes: int


@dataclass
class Job:
    """A task on its way through the dispatcher."""

    task_id: str
    text: str
    spec: SpecialistSpec
    inputs: list[InputRecord]
    timeout_s: float
    created_at: float
    future: Future[TaskView] = field(default_factory=Future)
    router: str | None = None
    route_confidence: float | None = None
    attempt: int = 0
    planning: bool = True  # False: explicit operations only, never ask the planner model
    plan: dict[str, Any] | None = None  # the planner's last plan, stored with the result
    replica: Replica | None = None  # where it runs now (set by the worker)
    cancelled: threading.Event = field(default_factory=threading.Event)
    started_at: float | None = None  # wall clock, for the stored row
    started_mono: float | None = None  # durations and budgets: immune to clock jumps
    program_artifacts: list[tuple[ArtifactView, str]] = field(default_factory=list)
    program: str | None = None  # a program the user wrote or edited: run as is in a fresh sandbox, no model
    variant_id: str | None = None  # the self-improvement variant that writes its programs, if chosen
    variant_prompt: str = ""  # that variant's extra instructions
    variant_options: dict[str, float] = field(default_factory=dict)  # and its sampling parameters


class _ContainerGone(Exception):
    def __init__(self, container: str, reason: str) -> None:
        super().__init__(reason)
        self.container = container
        self.reason = reason


class Dispatcher:
    """Runs stored tasks on specialist containers."""

    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        store: Store,
        blobs: BlobStore,
        bus: EventBus,
        planner: PlannerLike | None = None,
        on_finished: Callable[[str, TaskView], None] | None = None,
        coder: CoderLike | None = None,
        program_attempts: int = 3,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.store = store
        self.blobs = blobs
        self.bus = bus
        self.planner = planner
        self.on_finished = on_finished
        self.coder = coder
        self.program_attempts = program_attempts
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False

    # ----------------------------------------------------------------- queue
    def _executor(self, spec: SpecialistSpec) -> ThreadPoolExecutor:
        with self._lock:
            pool = self._pools.get(spec.id)
            if pool is None:
                workers = spec.scaling.max_replicas * (1 if spec.scaling.fresh_per_task else spec.scaling.concurrency)
                pool = ThreadPoolExecutor(
                    max_workers=max(1, min(workers, self.settings.workers)), thread_name_prefix=f"sb-{spec.id}"
                )
                self._pools[spec.id] = pool
            return pool

    @property
    def pending(self) -> int:
        """Tasks accepted and not finished."""
        return self._pending

    def backlog(self, specialist: str) -> int:
        """Tasks of ``specialist`` accepted and not finished (queued, waiting or running)."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if job.spec.id == specialist)

    def submit(self, job: Job) -> Future[TaskView]:
        """Enqueue a stored task; ``Busy`` when the queue is full (nothing is dropped)."""
        with self._lock:
            if self._closed:
                raise EngineError("the engine is shutting down")
            if self._pending >= self.settings.queue_size:
                raise Busy(
                    f"busy: {self._pending} tasks are waiting (queue size {self.settings.queue_size}); "
                    "try again shortly"
                )
            self._pending += 1
            self._jobs[job.task_id] = job
        try:
            self._executor(job.spec).submit(self._run, job)
        except RuntimeError as exc:
            with self._lock:
                self._pending -= 1
                self._jobs.pop(job.task_id, None)
            raise EngineError(f"the engine is shutting down: {exc}") from exc
        return job.future

    def cancel(self, task_id: str) -> bool:
        """Ask a queued or running task to stop; its result, if any, is discarded."""
        with self._lock:
            job = self._jobs.get(task_id)
        if job is None:
            return False
        job.cancelled.set()
        replica = job.replica
        if replica is not None and replica.fresh:
            # a container of its own: stop the work now instead of waiting for it to finish
            self.bus.publish(
                Decision(kind="cancel", subject=task_id, reason=f"cancelled by the user: removing {replica.name}")
            )
            self.lifecycle.mark_dead(replica.name, "task cancelled")
        return True

    def close(self, wait: bool = True) -> None:
        """Stop accepting tasks; with ``wait`` let running ones finish."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for job in list(self._jobs.values()):
            if job.started_at is None:
                job.cancelled.set()
        for pool in pools:
            pool.shutdown(wait=wait, cancel_futures=False)

    # ----------------------------------------------------------------- running
    def _publish(self, job: Job, state: str, **extra: Any) -> None:
        self.bus.publish(TaskStateChanged(task_id=job.task_id, state=state, specialist=job.spec.id, **extra))

    def _run(self, job: Job) -> None:
        view: TaskView | None = None
        try:
            view = self._run_attempts(job)
        except BaseException as exc:  # the future must always resolve
            log.exception("task %s crashed the dispatcher", job.task_id)
            view = self._finish(job, TaskState.FAILED, error_kind="internal", error=f"engine error: {exc}")
        finally:
            with self._lock:
                self._pending -= 1
                self._jobs.pop(job.task_id, None)
            if view is not None:
                if self.on_finished is not None:
                    try:
                        self.on_finished(job.spec.id, view)
                    except Exception:
                        log.exception("on_finished hook failed")
                if not job.future.done():
                    job.future.set_result(view)

    def _run_attempts(self, job: Job) -> TaskView:
        if job.cancelled.is_set():
            return self._finish(job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled before it ran")
        job.started_at = time.time()
        job.started_mono = time.monotonic()
        if job.program is not None:
            return self._run_given_program(job)
        last_reason = ""
        while job.attempt < MAX_ATTEMPTS:
            job.attempt += 1
            try:
                replica = self._acquire(job)
            except EngineError as exc:
                if job.cancelled.is_set():
                    return self._finish(
                        job, TaskState.CANCELLED, error_kind="cancelled", error=f"cancelled ({exc.message})"
                    )
                return self._finish(job, TaskState.FAILED, error_kind="unavailable", error=str(exc))
            self.store.update_task(
                job.task_id,
                state=TaskState.RUNNING,
                container=replica.name,
                attempt=job.attempt,
                started_at=job.started_at,
                updated_at=time.time(),
            )
            self._publish(job, "running", container=replica.name)
            job.replica = replica
            try:
                if job.cancelled.is_set():
                    return self._finish(
                        job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled", container=replica.name
                    )
                return self._execute(job, replica)
            except _ContainerGone as gone:
                if job.cancelled.is_set():
                    return self._finish(
                        job,
                        TaskState.CANCELLED,
                        error_kind="cancelled",
                        error="cancelled while running",
                        container=replica.name,
                    )
                last_reason = gone.reason
                self.lifecycle.mark_dead(gone.container, gone.reason)
                self.bus.publish(
                    Decision(
                        kind="retry",
                        subject=job.task_id,
                        reason=f"container {gone.container} died: {gone.reason}",
                        data={"attempt": job.attempt},
                    )
                )
            finally:
                job.replica = None
                self.lifecycle.release(replica)
            if job.cancelled.is_set():
                return self._finish(job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled")
        return self._finish(
            job,
            "failed",
            error_kind="container_died",
            error=f"the container died during the task {MAX_ATTEMPTS} times (last: {last_reason})",
        )

    def _acquire(self, job: Job) -> Replica:
        """A container slot; while the Docker engine is down the task waits for it (bounded) and says so.

        The wait is ``docker_wait_s`` (an engine restart takes seconds); the task stays queued
        with a ``waiting_for_docker`` decision and runs once Docker answers again.
        """
        deadline = time.monotonic() + self.settings.docker_wait_s
        told = False
        while True:
            try:
                return self.lifecycle.acquire(job.spec.id, timeout_s=job.timeout_s)
            except DockerUnavailable as exc:
                first = exc.message.splitlines()[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DockerUnavailable(
                        f"the Docker engine did not come back within {self.settings.docker_wait_s:g} s ({first})",
                        hint=exc.hint,
                    ) from exc
                if not told:
                    told = True
                    self.bus.publish(
                        Decision(
                            kind="waiting_for_docker",
                            subject=job.task_id,
                            reason=f"waiting for Docker (up to {self.settings.docker_wait_s:g} s): {first}",
                        )
                    )
                    self._publish(job, TaskState.QUEUED, error=f"waiting for Docker: {first}")
                if job.cancelled.wait(min(1.0, remaining)):
                    raise TaskFailed("cancelled while waiting for Docker", kind="cancelled") from exc

    def _stage_inputs(self, job: Job, replica: Replica) -> list[dict[str, Any]]:
        """Link (or, through the Swarm gateway, upload) the inputs; an unreachable replica is a container gone."""
        try:
            return stage_inputs(replica, self.blobs, job.task_id, job.inputs)
        except ConnectionLost as exc:
            raise _ContainerGone(replica.name, str(exc)) from exc

    def _call(self, job: Job, replica: Replica, request: TaskRequest) -> TaskResponse:
        try:
            raw = replica.client.call(
                request.model_dump(),
                timeout_s=request.timeout_s + TIMEOUT_GRACE_S,
                max_bytes=answer_cap(request.max_output_bytes),
            )
        except BadAnswer as exc:
            raise self._misbehaved(replica, exc.message) from exc
        except TimeoutError as exc:
            # The container did not enforce its own timeout: reclaim it.
            self.lifecycle.mark_dead(replica.name, "stuck past the task timeout")
            raise TaskFailed(f"the task exceeded its {job.timeout_s:g} s time limit", kind="timeout") from exc
        except ConnectionLost as exc:
            if self.lifecycle.was_oom_killed(replica.name):
                # the task itself blew the memory limit: running it again would do the same
                self.lifecycle.mark_dead(replica.name, "out of memory")
                raise TaskFailed(
                    f"the task ran out of memory: the {job.spec.id} container's limit is "
                    f"{job.spec.limits.memory_mb} MB "
                    "(use a smaller input, or raise limits.memory_mb in its specialist.toml)",
                    kind="limit",
                ) from exc
            running = self.lifecycle.is_running(replica.name)
            raise _ContainerGone(replica.name, str(exc) if running else f"container stopped ({exc})") from exc
        try:
            response = TaskResponse.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the answer"
            shown = excerpt(json.dumps(raw, default=str).encode())
            raise self._misbehaved(
                replica, f"the specialist's answer has the wrong shape ({where}: {first['msg']}; got: {shown})"
            ) from exc
        if response.id != request.id:  # an answer to another task never becomes this one's result
            raise self._misbehaved(
                replica, f"the specialist answered for task {excerpt(response.id.encode(), 40)}, not this one"
            )
        return response

    def _misbehaved(self, replica: Replica, problem: str) -> TaskFailed:
        """A container that sent a malformed answer is replaced; the task fails with an excerpt."""
        self.lifecycle.mark_dead(replica.name, "sent a malformed answer")
        return TaskFailed(f"{problem}; container {replica.name} was replaced", kind="internal")

    def _execute(self, job: Job, replica: Replica) -> TaskView:
        try:
            try:
                refs = self._stage_inputs(job, replica)
            except TaskFailed as exc:
                return self._finish(
                    job, TaskState.FAILED, error_kind=exc.kind, error=exc.message, container=replica.name
                )
            request = TaskRequest(
                id=job.task_id,
                text=job.text,
                inputs=refs,
                output_dir=f"/output/{job.task_id}",
                timeout_s=job.timeout_s,
                max_output_bytes=job.spec.limits.max_output_bytes,
            )
            try:
                response = self._call(job, replica, request)
                response = self._plan_if_needed(job, replica, request, response)
            except TaskFailed as exc:
                if job.cancelled.is_set():
                    return self._finish(
                        job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled", container=replica.name
                    )
                return self._finish(
                    job, TaskState.FAILED, error_kind=exc.kind, error=exc.message, container=replica.name
                )
            except EnvironmentUnavailable as exc:
                return self._finish(
                    job, TaskState.FAILED, error_kind="unavailable", error=str(exc), container=replica.name
                )
            if job.cancelled.is_set():
                return self._finish(
                    job,
                    TaskState.CANCELLED,
                    error_kind="cancelled",
                    error="cancelled while running",
                    container=replica.name,
                )
            try:
                artifacts = self._collect(job, replica, response)
            except TaskFailed as exc:
                return self._finish(
                    job, TaskState.FAILED, error_kind=exc.kind, error=exc.message, container=replica.name
                )
            if not response.ok:
                err = response.error
                return self._finish(
                    job,
                    "failed",
                    response=response,
                    artifacts=artifacts,
                    container=replica.name,
                    error_kind=err.kind if err else "internal",
                    error=err.message if err else "the specialist reported a failure",
                )
            return self._finish(
                job, TaskState.SUCCEEDED, response=response, artifacts=artifacts, container=replica.name
            )
        finally:
            clear_inputs(replica, job.task_id, had_inputs=bool(job.inputs))

    def _plan_if_needed(self, job: Job, replica: Replica, request: TaskRequest, response: TaskResponse) -> TaskResponse:
        if response.ok or response.error is None or response.error.kind != "needs_plan" or not job.planning:
            return response
        if self.coder is not None and job.spec.program is not None:
            if job.spec.program.language == "plan" and job.spec.planner is not None:
                previews = self._previews(request)
                by_plan = self._model_plan_path(job, replica, request, previews)
                if by_plan is not None:
                    return by_plan
                return self._program_path(job, request, previews)
            return self._program_path(job, request)
        if self.planner is None or job.spec.planner is None:
            raise TaskFailed(
                f"{job.spec.id} needs an explicit operation for this task ({response.error.message}); "
                "the planner model is not available",
                kind="needs_plan",
            )
        meta = [
            {"name": r.name, "bytes": r.bytes, "columns": table_columns(self.blobs.path(r.sha256), r.name)}
            for r in request.inputs
        ]
        feedback = ""
        for _ in range(2):  # one retry when the container rejects the plan
            text = (
                job.text
                if not feedback
                else f"{job.text}\n(The previous plan was rejected by the specialist: {feedback})"
            )
            elapsed = self._elapsed_s(job)
            plan = self.planner.plan(job.spec, text, meta, timeout_s=max(1.0, job.timeout_s - elapsed))
            job.plan = plan
            planned = request.model_copy(update={"plan": plan})
            response = self._call(job, replica, planned)
            if response.ok or response.error is None or response.error.kind != "bad_plan":
                return response.model_copy(update={"path": "planned"})
            feedback = response.error.message
            self.store.add_metric("schema_violations", job.spec.id, 1.0)
        raise TaskFailed(f"the planner's plan was rejected twice: {feedback}", kind="bad_plan")

    def _previews(self, request: TaskRequest) -> list[tuple[str, str]]:
        """What the model is shown of each input: its exact shape (:func:`describe_input`)."""
        return [(r.name, describe_input(self.blobs.path(r.sha256), r.name)) for r in request.inputs]

    def _model_plan_path(
        self,
        job: Job,
        replica: Replica,
        request: TaskRequest,
        previews: list[tuple[str, str]],
    ) -> TaskResponse | None:
        """The planning model fills in the specialist's own operation; the container runs it.

        Two plans at most (the second told why the first was rejected). When the container
        refused the last plan for a reason about the task's data (a missing model or column), that
        answer stands; ``None`` when no valid plan came out, so a program is written instead.
        Every plan tried is kept with the task.
        """
        assert self.coder is not None
        tried: list[dict[str, Any]] = []
        feedback = ""
        last: TaskResponse | None = None
        for n in (1, 2):
            remaining = job.timeout_s - self._elapsed_s(job)
            if remaining <= 5 or job.cancelled.is_set():
                break
            self._progress(job, "planning…", n, of=2)
            try:
                plan = self.coder.plan(job.spec, job.text, previews, feedback=feedback, timeout_s=min(remaining, 90.0))
            except TaskFailed as exc:
                if exc.kind != "bad_plan":
                    raise
                tried.append({"plan": None, "problem": exc.message})
                feedback = exc.message
                continue
            response = last = self._call(job, replica, request.model_copy(update={"plan": plan}))
            problem = "" if response.ok else (response.error.message if response.error else "the specialist refused it")
            tried.append({"plan": plan, "problem": problem})
            job.plan = {"plan": plan, "plans": tried}
            if response.ok:
                return response.model_copy(update={"path": "planned"})
            if response.error is not None and response.error.kind in ("limit", "timeout", "forbidden", "cancelled"):
                raise TaskFailed(response.error.message, kind=response.error.kind)
            feedback = problem
            self.store.add_metric("schema_violations", job.spec.id, 1.0)
        job.plan = {"plans": tried}
        if last is not None and last.error is not None and last.error.kind != "bad_plan":
            return last.model_copy(update={"path": "planned"})
        return None

    def _progress(self, job: Job, step: str, attempt: int, of: int | None = None, **data: Any) -> None:
        text = f"{step} (attempt {attempt} of {of or self.program_attempts})"
        self.bus.publish(
            Decision(kind="program", subject=job.task_id, reason=text, data={"step": step, "attempt": attempt, **data})
        )

    def _program_path(
        self,
        job: Job,
        request: TaskRequest,
        previews: list[tuple[str, str]] | None = None,
    ) -> TaskResponse:
        """The specialist's model writes a program; each runs in a fresh sandbox and is checked.

        Attempts differ (examples, the previous error, temperature); every one is recorded in
        the task's plan. The first program whose result passes the checks is the answer. When
        none passes but some only missed the asked shape (a heuristic reading of the wording),
        the answer that most of them agree on is taken (:func:`verify.agree`), else the first.
        """
        assert self.coder is not None
        previews = previews if previews is not None else self._previews(request)
        columns = [c for r in request.inputs for c in table_columns(self.blobs.path(r.sha256), r.name)]
        categories = category_values(previews)
        attempts: list[dict[str, Any]] = []
        earlier = (job.plan or {}).get("plans")  # plans the model tried first (language "plan")
        job.plan = {
            "program": None,
            "attempts": attempts,
            "variant": job.variant_id,
            **({"plans": earlier} if earlier else {}),
        }
        feedback = ""
        crashed = ""  # the previous program when it crashed: the next attempt repairs it
        crash_signature = ""
        last_error = TaskFailed("no attempt ran", kind="bad_plan")
        shaped = answer_shape(job.text).kind in ("one", "list", "table")
        soft: list[tuple[TaskResponse, list[tuple[ArtifactView, str]], str]] = []  # only the shape check objected
        for n in range(1, self.program_attempts + 1):
            if job.cancelled.is_set():
                raise TaskFailed("cancelled while writing the program", kind="cancelled")
            remaining = max(job.timeout_s, PROGRAM_BUDGET_S) - self._elapsed_s(job)
            if remaining <= 5:
                break
            self._progress(job, "writing code…", n)
            started = time.perf_counter()
            code = self.coder.write(
                job.spec,
                job.text,
                previews,
                attempt=n,
                feedback=feedback,
                timeout_s=remaining,
                style=job.variant_prompt,
                overrides=job.variant_options,
                failed_program=crashed,
            )
            if any(code.strip() == a["program"].strip() for a in attempts):  # the same program fails the same way
                code = self.coder.write(
                    job.spec,
                    job.text,
                    previews,
                    attempt=max(n, 3),  # sampled, not greedy: a different program
                    feedback=feedback,
                    timeout_s=max(1.0, max(job.timeout_s, PROGRAM_BUDGET_S) - self._elapsed_s(job)),
                    style=job.variant_prompt,
                    overrides=job.variant_options,
                )
            crashed = ""
            record: dict[str, Any] = {
                "attempt": n,
                "program": code,
                "write_ms": round((time.perf_counter() - started) * 1000),
            }
            attempts.append(record)
            job.plan["program"] = code
            self._progress(job, "running…", n)
            response = self._run_program(job, request, code)
            self._progress(job, "checking…", n)
            if not response.ok:
                err = response.error
                message = err.message if err else "the program failed"
                record.update(ok=False, problem=message)
                feedback = f"it failed: {error_gist(message)}"
                # a repair that made progress (a new error) is repaired again; the same error twice starts afresh
                signature = message.strip().splitlines()[-1][-200:] if message.strip() else ""
                crashed = code if signature != crash_signature else ""
                crash_signature = signature
                last_error = TaskFailed(message, kind=err.kind if err else "bad_plan")
                if err is not None and err.kind in ("limit", "timeout", "forbidden"):
                    raise TaskFailed(err.message, kind=err.kind)  # the sandbox stopped it: say which limit
                continue
            if shaped and not response.tables and (table := table_from_answer(response.answer)) is not None:
                response = response.model_copy(update={"tables": [TableData.model_validate(table)]})
            tables = [t.model_dump() for t in response.tables]
            problem = check_result(job.text, response.answer, code, columns, tables, categories)
            if not problem and asks_for_chart(job.text) and self._asked_chart_missing(job):
                problem = (
                    f"{SHAPE_PROBLEM}the task asks for a chart but the program saved no .png: draw it with matplotlib "
                    "(Agg backend) and plt.savefig('chart.png')"
                )
            record.update(ok=not problem, problem=problem, answer=response.answer[:2000])
            if not problem:
                self.store.add_metric("program_attempts", job.spec.id, float(n))
                return response.model_copy(
                    update={"path": "program", "answer": self._name_images(job, response.answer)}
                )
            if is_soft(problem):
                soft.append((response, job.program_artifacts, code))
                if sum(agree(response.answer, other.answer) for other, _, _ in soft) >= 2:
                    break  # two attempts gave the same answer: more attempts would only vote
            feedback = f"its output was rejected: {problem}. Output was: {response.answer[:300]}"
            last_error = TaskFailed(f"the program's result did not pass the checks: {problem}", kind="bad_plan")
            self.store.add_metric("schema_violations", job.spec.id, 1.0)
        if soft:
            votes = [sum(agree(r.answer, other.answer) for other, _, _ in soft) for r, _, _ in soft]
            chosen, job.program_artifacts, job.plan["program"] = soft[votes.index(max(votes))]
            self._progress(job, "answer chosen by agreement", len(attempts), votes=max(votes), candidates=len(soft))
            job.plan["chosen_by"] = {"votes": max(votes), "candidates": len(soft)}
            return chosen.model_copy(update={"path": "program", "answer": self._name_images(job, chosen.answer)})
        raise last_error

    @staticmethod
    def _images(job: Job) -> list[str]:
        """The images the last program saved (by their stored mime type)."""
        return [a.name for a, _ in job.program_artifacts if a.mime.startswith("image/")]

    @staticmethod
    def _name_images(job: Job, answer: str) -> str:
        """The answer with the images the program saved named at its end (a chart is part of the answer)."""
        images = [name for name in Dispatcher._images(job) if name not in answer]
        return answer.rstrip("\n") + f"\nchart saved: {', '.join(images)}" if images else answer

    @staticmethod
    def _asked_chart_missing(job: Job) -> bool:
        """Whether the last program saved no image (checked when the task asks for a chart)."""
        return not Dispatcher._images(job)

    def _run_given_program(self, job: Job) -> TaskView:
        """Run the user's (edited) program in a fresh sandbox; what it prints is the answer, unchecked."""
        assert job.program is not None
        job.plan = {"program": job.program, "attempts": [], "edited": True}
        request = TaskRequest(
            id=job.task_id,
            text=job.text,
            inputs=[],
            output_dir=f"/output/{job.task_id}",
            timeout_s=job.timeout_s,
            max_output_bytes=job.spec.limits.max_output_bytes,
        )
        self.store.update_task(
            job.task_id, state=TaskState.RUNNING, attempt=1, started_at=job.started_at, updated_at=time.time()
        )
        self._publish(job, "running")
        try:
            response = self._run_program(job, request, job.program)
        except TaskFailed as exc:
            if job.cancelled.is_set():
                return self._finish(job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled")
            return self._finish(job, TaskState.FAILED, error_kind=exc.kind, error=exc.message)
        except EngineError as exc:
            return self._finish(job, TaskState.FAILED, error_kind="unavailable", error=str(exc))
        response = response.model_copy(update={"path": "program"})
        if job.cancelled.is_set():
            return self._finish(job, TaskState.CANCELLED, error_kind="cancelled", error="cancelled while running")
        if not response.ok:
            err = response.error
            return self._finish(
                job,
                TaskState.FAILED,
                response=response,
                artifacts=job.program_artifacts,
                error_kind=err.kind if err else "internal",
                error=err.message if err else "the program failed",
            )
        return self._finish(job, TaskState.SUCCEEDED, response=response, artifacts=job.program_artifacts)

    def _run_program(self, job: Job, request: TaskRequest, code: str) -> TaskResponse:
        """Run one program in a fresh sandbox container of the specialist (removed after)."""
        sandbox = self.lifecycle.acquire_sandbox(job.spec.id)
        job.replica = sandbox
        try:
            refs = self._stage_inputs(job, sandbox)
            program_request = request.model_copy(
                update={"inputs": [InputRef.model_validate(r) for r in refs], "program": code}
            )
            try:
                response = self._call(job, sandbox, program_request)
            except _ContainerGone as gone:
                if job.cancelled.is_set():
                    raise TaskFailed("cancelled while the program ran", kind="cancelled") from gone
                raise TaskFailed(f"the program's sandbox stopped: {gone.reason}", kind="limit") from gone
            job.program_artifacts = self._collect(job, sandbox, response) if response.ok else []
            return response
        finally:
            clear_inputs(sandbox, job.task_id, had_inputs=bool(job.inputs))
            job.replica = None
            self.lifecycle.release(sandbox)

    def _collect(self, job: Job, replica: Replica, response: TaskResponse) -> list[tuple[ArtifactView, str]]:
        """Copy the task's output files out of the container, then let it free them."""
        if response.path == "program" and replica is not job.replica:
            return job.program_artifacts  # copied out of the program's sandbox before it went
        if not response.artifacts:
            return []
        try:
            found = collect_replica_outputs(  # through the engine, or (multi-node) over the channel
                self.lifecycle.runtime,
                replica.name,
                replica.client,
                job.task_id,
                self.blobs,
                max_bytes=job.spec.limits.output_mb * 1024 * 1024,
            )
        except BadInput as exc:
            raise TaskFailed(str(exc), kind="limit") from exc
        if not replica.fresh:
            try:  # the runtime removes /output/<task> so the tmpfs does not fill up over time
                replica.client.call({"v": 1, "kind": "cleanup", "id": job.task_id}, timeout_s=10)
            except (ConnectionLost, BadAnswer, TimeoutError) as exc:
                log.warning("could not clean outputs of %s in %s: %s", job.task_id, replica.name, exc)
        return found

    @staticmethod
    def _elapsed_s(job: Job) -> float:
        """Seconds since the task started running, on the monotonic clock (0 before)."""
        return time.monotonic() - job.started_mono if job.started_mono is not None else 0.0

    def _cost(self, job: Job, duration_ms: float) -> float:
        per_hour = hourly_cost(job.spec, self.settings.cost_per_cpu_hour, self.settings.cost_per_gb_hour)
        return duration_ms / 3_600_000 * per_hour

    def _finish(
        self,
        job: Job,
        state: str,
        *,
        response: TaskResponse | None = None,
        artifacts: list[tuple[ArtifactView, str]] | None = None,
        container: str | None = None,
        error_kind: str | None = None,
        error: str | None = None,
    ) -> TaskView:
        now = time.time()
        duration_ms = self._elapsed_s(job) * 1000.0
        cost = self._cost(job, duration_ms) if job.started_at else 0.0
        result: dict[str, Any] = {"plan": job.plan} if job.plan is not None else {}  # failed attempts too
        if response is not None:
            result = {
                "data": response.data,
                "tables": [t.model_dump() for t in response.tables],
                "operation": response.operation.model_dump(),
                "stdout": response.stdout,
                "stderr": response.stderr,
                "truncated": response.truncated,
                "timings": response.timings,
                "plan": job.plan,
            }
        fields: dict[str, Any] = {
            "state": state,
            "finished_at": now,
            "updated_at": now,
            "duration_ms": duration_ms,
            "attempt": job.attempt,
            "cost": cost,
            "path": response.path if response else None,
            "answer": response.answer if response else "",
            "error_kind": error_kind,
            "error_message": error,
            "result_json": json.dumps(result, default=str),
        }
        if container:
            fields["container"] = container
        art_files = [FileRecord(name=a.name, sha256=sha, bytes=a.bytes, mime=a.mime) for a, sha in artifacts or []]
        art_rows = [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes, "mime": f.mime} for f in art_files]
        try:
            self.store.finish_task(job.task_id, fields, art_rows).result(timeout=60)
        except Exception as exc:
            # never show as complete what was not stored (a full disk, a lost database)
            log.exception("could not store the result of task %s", job.task_id)
            state, error_kind = TaskState.FAILED, "unavailable"
            error = f"the result could not be saved: {exc}"
            fields.update(state=state, error_kind=error_kind, error_message=error, answer="", path=None)
            art_files, result = [], {}
            try:  # a small row may still fit where the full result did not
                self.store.update_task(
                    job.task_id, state=state, error_kind=error_kind, error_message=error[:500], finished_at=now
                ).result(timeout=30)
            except Exception:
                log.warning("task %s: not even the failure could be stored", job.task_id)
        record = TaskRecord(
            id=job.task_id,
            state=state,
            text=job.text,
            created_at=job.created_at,
            updated_at=now,
            specialist=job.spec.id,
            router=job.router,
            route_confidence=job.route_confidence,
            container=container,
            attempt=job.attempt,
            started_at=job.started_at,
            finished_at=now,
            duration_ms=duration_ms,
            path=fields["path"],
            error_kind=error_kind,
            error_message=error,
            answer=fields["answer"],
            result=result,
            cost=cost,
            inputs=tuple(FileRecord(name=i.name, sha256=i.sha256, bytes=i.bytes) for i in job.inputs),
            artifacts=tuple(art_files),
        )
        view = task_view(record, self.blobs)
        self._publish(
            job, state, container=container, error=error, duration_ms=duration_ms, service_ms=_service_ms(response)
        )
        return view


def _service_ms(response: TaskResponse | None) -> float | None:
    """How long a replica worked on the task (its own timing), or None (a sandboxed program, no answer)."""
    if response is None or response.path == "program":
        return None
    total = response.timings.get("total_ms") if isinstance(response.timings, dict) else None
    return float(total) if isinstance(total, int | float) and total >= 0 else None
