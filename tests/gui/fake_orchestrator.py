"""A small in-memory stand-in for :class:`app.engine.orchestrator.Orchestrator`.

It follows the facade's signatures (docs/ARCHITECTURE.md, "The facade") so pure-widget tests
run without Docker. It publishes real engine events on a real :class:`EventBus` from worker
threads, like the engine does, so the bridge and queued delivery are exercised for real.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, NotFound
from app.engine.core.events import ContainerStateChanged, Decision, EventBus, TaskStateChanged
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


def _spec(sid: str, title: str, inputs: tuple[str, ...], examples: tuple[str, ...]) -> SpecialistView:
    return SpecialistView(
        id=sid,
        title=title,
        description=f"{title} specialist",
        icon=sid,
        accepted_inputs=inputs,
        example_tasks=examples,
        state="stopped",
        image=f"switchboard/{sid}:abc",
        replicas=0,
        max_replicas=3,
    )


class FakeOrchestrator:
    """Records calls; tasks succeed instantly with an answer naming their specialist."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings(data_dir=Path("/tmp/sb-fake"))
        self.bus = EventBus()
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.decision_log: list[Decision] = []  # oldest first
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fake-orch")
        self._ids = itertools.count(1)
        self._tasks: dict[str, TaskView] = {}
        self._specs = {
            "data-analytics": _spec(
                "data-analytics",
                "Data analytics",
                (".csv", ".json", ".xlsx"),
                ("average revenue by region", "top 5 products"),
            ),
            "numerical": _spec("numerical", "Numerical computation", (".csv", ".txt"), ("integrate x^2 from 0 to 3",)),
            "web-scraping": _spec("web-scraping", "Web scraping", (), ("get the title of http://x",)),
        }
        self._containers: dict[str, ContainerView] = {}
        self._variants: dict[str, list[VariantView]] = {}
        self._examples: dict[str, list[ExampleView]] = {}
        self.swarm_nodes: list[NodeView] = []  # a test sets these to play the swarm backend
        self._proposals: dict[str, ProposalView] = {}
        self.router_retrains: list[RouterRetrainView] = []  # oldest first; a test may add its own

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> Future[None]:
        self.calls.append(("start", (), {}))
        return self._pool.submit(lambda: None)

    def close(self) -> None:
        self.calls.append(("close", (), {}))
        self._pool.shutdown(wait=True, cancel_futures=True)

    # reads ---------------------------------------------------------------------------------
    def specialists(self) -> list[SpecialistView]:
        return list(self._specs.values())

    def manifest_errors(self) -> list[str]:
        return []

    def containers(self) -> list[ContainerView]:
        return list(self._containers.values())

    def health(self) -> list[HealthView]:
        return [
            HealthView("docker", "ok"),
            HealthView("ollama", "degraded", "model missing", "switchboard models ensure"),
            HealthView("database", "ok"),
        ]

    def doctor(self) -> list[DoctorCheck]:
        return [DoctorCheck("docker", True, "20.10")]

    def task(self, task_id: str) -> TaskView:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise NotFound(f"no task {task_id}") from None

    def tasks(
        self, limit: int = 200, state: str | None = None, specialist: str | None = None, search: str | None = None
    ) -> list[TaskView]:
        rows = sorted(self._tasks.values(), key=lambda t: t.created_at, reverse=True)
        return rows[:limit]

    def route(self, text: str, files: Sequence[Path | str] = ()) -> RouteView:
        chosen = "numerical" if any(w in text for w in ("integrate", "solve")) else "data-analytics"
        return RouteView(
            chosen=chosen, scores={chosen: 0.93}, router="fast", confidence=0.93, latency_ms=0.4, rationale="keywords"
        )

    def series(self, metric: str, since_ts: float, specialist: str | None = None) -> list[SeriesPoint]:
        self.calls.append(("series", (metric, since_ts), {"specialist": specialist}))
        now = time.time()
        return [SeriesPoint(now - 60 + i, float(i), "sb-numerical-00000001") for i in range(0, 60, 5)]

    def artifact_path(self, task_id: str, name: str) -> Path:
        raise NotFound(name)

    def logs(self, container: str, tail: int = 200) -> str:
        return "line one\nline two\n"

    def follow_logs(self, container: str, stop: threading.Event) -> Iterator[str]:
        while not stop.wait(0.05):
            pass
        return iter(())

    def inspect(self, container: str) -> dict[str, Any]:
        return {
            "container": {"name": container},
            "limits": {"memory_mb": 512},
            "hardening": [{"item": "read-only rootfs", "passed": True, "detail": ""}],
        }

    def fix(self, component: str) -> Future[str]:
        self.calls.append(("fix", (component,), {}))
        return self._pool.submit(lambda: f"fixed {component}")

    # actions -------------------------------------------------------------------------------
    def submit(
        self,
        text: str,
        *,
        specialist: str | None = None,
        files: Sequence[Path | str] = (),
        timeout_s: float | None = None,
    ) -> TaskHandle:
        self.calls.append(("submit", (text,), {"specialist": specialist, "files": list(files)}))
        if not text.strip():
            raise BadInput("the task text is empty")
        for f in files:
            if not Path(f).is_file():
                raise BadInput(f"input file {f} does not exist")
        task_id = f"t{next(self._ids):04d}"
        chosen = specialist or self.route(text, files).chosen
        view = TaskView(
            id=task_id,
            state="queued",
            text=text,
            specialist=chosen,
            created_at=time.time(),
            inputs=[{"name": Path(f).name} for f in files],
        )
        self._tasks[task_id] = view
        return TaskHandle(task_id, self._pool.submit(self._run, task_id), chosen or "")

    def _run(self, task_id: str) -> TaskView:
        view = self._tasks[task_id]
        self.bus.publish(TaskStateChanged(task_id=task_id, state="running", specialist=view.specialist))
        done = replace(
            view,
            state="succeeded",
            answer=f"done by {view.specialist}",
            duration_ms=12.0,
            finished_at=time.time(),
            router="fast",
            tables=[{"name": "result", "columns": ["a", "b"], "rows": [[2, "x"], [1, "y"]]}],
            operation={"kind": "sql", "text": "SELECT 1"},
        )
        if "in plain words" in view.text:  # a natural-language task: a model-written program answered it
            done = replace(done, path="program", program=f"print('done by {view.specialist}')\n")
        self._tasks[task_id] = done
        self.bus.publish(
            TaskStateChanged(task_id=task_id, state="succeeded", specialist=view.specialist, duration_ms=12.0)
        )
        return done

    def rerun(self, task_id: str, specialist: str) -> TaskHandle:
        self.calls.append(("rerun", (task_id, specialist), {}))
        old = self.task(task_id)
        return self.submit(old.text, specialist=specialist)

    def run_program(self, task_id: str, program: str) -> TaskHandle:
        self.calls.append(("run_program", (task_id, program), {}))
        old = self.task(task_id)
        return self.submit(old.text, specialist=old.specialist)

    def feedback(self, task_id: str, kind: str, specialist: str | None = None, note: str = "") -> None:
        self.calls.append(("feedback", (task_id, kind), {"specialist": specialist, "note": note}))

    def cancel(self, task_id: str) -> bool:
        return False

    def _set_replicas(self, specialist: str, replicas: int) -> list[ContainerView]:
        for name in [n for n, c in self._containers.items() if c.specialist == specialist]:
            del self._containers[name]
        for i in range(replicas):
            name = f"sb-{specialist}-{i:08x}"
            self._containers[name] = ContainerView(name, specialist, "running", "img")
            self.bus.publish(ContainerStateChanged(container=name, specialist=specialist, state="running"))
        self._specs[specialist] = replace(
            self._specs[specialist], replicas=replicas, state="running" if replicas else "stopped"
        )
        return [c for c in self._containers.values() if c.specialist == specialist]

    def build(self, specialist: str) -> Future[str]:
        self.calls.append(("build", (specialist,), {}))
        return self._pool.submit(lambda: f"switchboard/{specialist}:abc")

    def up(self, specialist: str, replicas: int = 1) -> Future[list[ContainerView]]:
        self.calls.append(("up", (specialist, replicas), {}))
        return self._pool.submit(self._set_replicas, specialist, replicas)

    def scale(self, specialist: str, replicas: int) -> Future[list[ContainerView]]:
        self.calls.append(("scale", (specialist, replicas), {}))
        return self._pool.submit(self._set_replicas, specialist, replicas)

    def down(self, name_or_specialist: str) -> Future[int]:
        self.calls.append(("down", (name_or_specialist,), {}))
        return self._pool.submit(lambda: len(self._set_replicas(name_or_specialist, 0)))

    def scaling(self) -> list[ScalingView]:
        return [
            ScalingView(s.id, s.replicas, 0, s.replicas, 0, "fake", 3.0, 0.25, quarantine=s.quarantine)
            for s in self._specs.values()
        ]

    def decisions(self, limit: int = 200) -> list[Decision]:
        return list(reversed(self.decision_log))[:limit]

    def release(self, specialist: str) -> bool:
        self.calls.append(("release", (specialist,), {}))
        spec = self._specs.get(specialist)
        if spec is None or not spec.quarantine:
            return False
        self._specs[specialist] = replace(spec, quarantine="", state="stopped")
        return True

    def restart(self, container: str) -> Future[ContainerView]:
        self.calls.append(("restart", (container,), {}))
        return self._pool.submit(lambda: self._containers[container])

    # self-improvement --------------------------------------------------------------------
    def _variants_of(self, specialist: str) -> list[VariantView]:
        if specialist not in self._specs:
            raise NotFound(f"unknown specialist {specialist!r}")
        return self._variants.setdefault(
            specialist,
            [
                VariantView(
                    id=f"{specialist}-v1",
                    specialist=specialist,
                    version=1,
                    state="incumbent",
                    base_model="smollm2-135m",
                    model_name=f"switchboard-{specialist}-v1",
                    tasks=40,
                    successes=30,
                    success_rate=0.75,
                    p95_ms=2300.0,
                ),
            ],
        )

    def variants(self, specialist: str) -> list[VariantView]:
        return list(self._variants_of(specialist))

    def retrain(self, specialist: str, replay: bool = False) -> Future[VariantView]:
        self.calls.append(("retrain", (specialist,), {"replay": replay}))
        views = self._variants_of(specialist)
        n = len(views) + 1
        new = VariantView(
            id=f"{specialist}-v{n}",
            specialist=specialist,
            version=n,
            state="candidate" if replay else "pending",
            base_model="smollm2-135m",
            model_name=f"switchboard-{specialist}-v{n}",
            example_ids=("t-1",),
        )
        views.append(new)
        return self._pool.submit(lambda: new)

    def retrain_router(self) -> Future[RouterRetrainView]:
        self.calls.append(("retrain_router", (), {}))

        def body() -> RouterRetrainView:
            time.sleep(0.2)  # long enough for a test to see the button busy
            n = len(self.router_retrains)
            before = 0.70 if n == 0 else self.router_retrains[-1].held_after or 0.70
            after = min(1.0, before + 0.08)
            view = RouterRetrainView(
                kept=True,
                examples=40 + 20 * n,
                held_back=10 + 2 * n,
                held_before=before,
                held_after=after,
                catalogue=371,
                catalogue_before=1.0,
                catalogue_after=1.0,
                ts=time.time(),
                reason=f"router retrained on {40 + 20 * n} examples: "
                f"held-back accuracy {before:.0%} -> {after:.0%} ({10 + 2 * n} tasks)",
            )
            self.router_retrains.append(view)
            self.bus.publish(
                Decision(kind="router_retrained", subject="router", reason=view.reason, data={"kept": True})
            )
            return view

        return self._pool.submit(body)

    def router_history(self, limit: int = 200) -> list[RouterRetrainView]:
        return self.router_retrains[-limit:]

    def nodes(self) -> list[NodeView]:
        return list(self.swarm_nodes)

    def example_counts(self, specialist: str) -> dict[str, int]:
        return {"seed": 8, "feedback": 2}

    def example_growth(self, specialist: str) -> list[ExampleGrowthView]:
        return [
            ExampleGrowthView(
                specialist=specialist, examples=8, tasks=20, success_rate=0.6, eval_runs=1, eval_accuracy=0.55
            ),
            ExampleGrowthView(specialist=specialist, examples=10, tasks=12, success_rate=0.75),
        ]

    def dataset(self, specialist: str, include_removed: bool = False) -> list[ExampleView]:
        self._variants_of(specialist)
        examples = self._examples.setdefault(
            specialist,
            [
                ExampleView(
                    example_id="t-1", specialist=specialist, source="feedback", label="good", text="an example"
                ),
            ],
        )
        return [e for e in examples if include_removed or not e.removed]

    def remove_example(self, specialist: str, example_id: str) -> bool:
        self.calls.append(("remove_example", (specialist, example_id), {}))
        examples = self._examples.get(specialist, [])
        for i, e in enumerate(examples):
            if e.example_id == example_id:
                examples[i] = replace(e, removed=True)
                return not e.removed
        raise NotFound(f"{specialist} has no dataset example {example_id!r}")

    def export_dataset(self, specialist: str) -> str:
        return "".join(f'{{"id": "{e.example_id}", "text": "{e.text}"}}\n' for e in self.dataset(specialist))

    # new specialisations -------------------------------------------------------------------
    def add_proposal(self, view: ProposalView) -> None:
        """Test helper: a proposal as the engine would make it, with its decision."""
        self._proposals[view.id] = view
        self._decide("proposal_made", view.id, f"proposed specialist {view.name!r} from {view.size} unserved tasks")

    def _decide(self, kind: str, subject: str, reason: str) -> None:
        decision = Decision(kind=kind, subject=subject, reason=reason)
        self.decision_log.append(decision)
        self.bus.publish(decision)

    def proposals(self) -> list[ProposalView]:
        return sorted((p for p in self._proposals.values() if p.state != "dismissed"), key=lambda p: -p.created_at)

    def _proposal(self, proposal_id: str) -> ProposalView:
        try:
            return self._proposals[proposal_id]
        except KeyError:
            raise NotFound(f"no proposal {proposal_id!r}") from None

    def accept_proposal(self, proposal_id: str) -> Future[ProposalView]:
        self.calls.append(("accept_proposal", (proposal_id,), {}))
        view = self._proposal(proposal_id)
        if view.state != "open":
            raise BadInput(f"proposal {proposal_id} is {view.state} already")

        def body() -> ProposalView:
            from app.engine.core.events import ImageBuildProgress

            for i, line in enumerate(
                ("Step 1/4 : ARG RUNTIME_IMAGE", "Step 3/4 : COPY handler.py", "Step 4/4 : USER 10001")
            ):
                self.bus.publish(ImageBuildProgress(specialist=view.name, line=line, fraction=(i + 1) / 4))
                time.sleep(0.05)
            self.bus.publish(ImageBuildProgress(specialist=view.name, line="image ready", fraction=1.0, done=True))
            done = replace(view, state="accepted", specialist=view.name)
            self._proposals[proposal_id] = done
            self._specs[view.name] = _spec(view.name, view.title, (".txt",), view.examples[:1])
            self._decide("proposal_accepted", proposal_id, f"accepted proposal {proposal_id}: specialist {view.name!r}")
            return done

        return self._pool.submit(body)

    def dismiss_proposal(self, proposal_id: str) -> ProposalView:
        self.calls.append(("dismiss_proposal", (proposal_id,), {}))
        view = self._proposal(proposal_id)
        if view.state != "open":
            raise BadInput(f"proposal {proposal_id} is {view.state} already")
        done = replace(view, state="dismissed")
        self._proposals[proposal_id] = done
        self._decide("proposal_dismissed", proposal_id, f"dismissed proposal {proposal_id} ({view.name})")
        return done
