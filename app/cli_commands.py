"""Handlers of the ``switchboard`` sub-commands (registered on import)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from app.cli import EXIT_FAILED, EXIT_OK, command
from app.cli_output import emit, table, to_jsonable
from app.engine.core.errors import BadInput
from app.engine.core.views import TaskView, VariantView
from app.engine.orchestrator import Orchestrator

__all__: list[str] = []


def _show_build_progress(orch: Orchestrator) -> None:
    """Long image builds print their steps on stderr (stdout stays one JSON document)."""
    import sys

    from app.engine.core.events import ImageBuildProgress

    building: set[str] = set()  # only images that really build print anything

    def on_progress(event: ImageBuildProgress) -> None:
        line = event.line.strip()
        if event.error:
            return
        if line.startswith("Step "):
            building.add(event.specialist)
        if line.startswith("Step ") or (event.done and event.specialist in building):
            pct = f"{event.fraction * 100:3.0f}% " if event.fraction is not None else ""
            sys.stderr.write(f"building {event.specialist}: {pct}{line[:110]}\n")
            sys.stderr.flush()

    orch.bus.subscribe(ImageBuildProgress, on_progress)


def _task_doc(view: TaskView) -> dict[str, Any]:
    doc: dict[str, Any] = to_jsonable(view)
    return doc


def _task_text(view: TaskView) -> str:
    lines = [f"task {view.id}  {view.state}  specialist={view.specialist}  attempt={view.attempt}"]
    if view.duration_ms is not None:
        lines.append(f"duration {view.duration_ms:.1f} ms  cost {view.cost:.6f}")
    if view.answer:
        lines.append(f"answer: {view.answer}")
    if view.operation.get("text"):
        lines.append(f"operation ({view.operation.get('kind', '')}): {view.operation['text']}")
    for tbl in view.tables[:3]:
        lines.append(table([list(r) for r in tbl["rows"][:20]], list(tbl["columns"])))
    if view.stdout:
        lines.append("stdout:\n" + view.stdout.rstrip())
    if view.stderr:
        lines.append("stderr:\n" + view.stderr.rstrip())
    for art in view.artifacts:
        lines.append(f"artifact {art.name} ({art.bytes} bytes) -> {art.path}")
    if view.error:
        lines.append(f"error ({view.error_kind}): {view.error}")
    return "\n".join(lines)


@command("doctor")
def _doctor(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    checks = orch.doctor()
    ok = all(c.ok for c in checks)
    text = "\n".join(
        f"[{'ok' if c.ok else 'FAIL'}] {c.component}: {c.detail}"
        + (f"\n       fix: {c.fix}" if c.fix and not c.ok else "")
        for c in checks
    )
    emit({"ok": ok, "checks": checks}, as_json=args.json, text=text)
    return EXIT_OK if ok else 3


@command("specialists", docker=True)
def _specialists(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=True, reconcile=False, monitors=False)
    orch.wait_started()
    views = orch.specialists()
    rows = [
        [v.id, v.state, f"{v.replicas}/{v.max_replicas}", v.image or "-", ", ".join(v.accepted_inputs) or "-"]
        for v in views
    ]
    text = table(rows, ["id", "state", "replicas", "image", "accepts"])
    if orch.manifest_errors():
        text += "\nbroken manifests:\n" + "\n".join(orch.manifest_errors())
    emit({"ok": True, "specialists": views, "manifest_errors": orch.manifest_errors()}, as_json=args.json, text=text)
    return EXIT_OK


@command("build", docker=True)
def _build(orch: Orchestrator, args: argparse.Namespace) -> int:
    _show_build_progress(orch)
    orch.spec(args.specialist)
    tag = orch.build_sync(args.specialist)
    emit({"ok": True, "specialist": args.specialist, "image": tag}, as_json=args.json, text=f"{args.specialist}: {tag}")
    return EXIT_OK


@command("up", docker=True)
def _up(orch: Orchestrator, args: argparse.Namespace) -> int:
    _show_build_progress(orch)
    orch.spec(args.specialist)
    orch.start(reconcile=False, monitors=False)
    views = orch.up(args.specialist, args.replicas).result()
    emit(
        {"ok": True, "specialist": args.specialist, "containers": views},
        as_json=args.json,
        text="\n".join(f"{c.name}  {c.status}  {c.image}" for c in views),
    )
    return EXIT_OK


@command("scale", docker=True)
def _scale(orch: Orchestrator, args: argparse.Namespace) -> int:
    _show_build_progress(orch)
    orch.spec(args.specialist)
    orch.start(reconcile=False, monitors=False)
    views = orch.scale(args.specialist, args.replicas).result()
    emit(
        {"ok": True, "specialist": args.specialist, "containers": views},
        as_json=args.json,
        text=f"{args.specialist}: {len(views)} running",
    )
    return EXIT_OK


@command("down", docker=True)
def _down(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(reconcile=False, monitors=False)
    removed = orch.down(args.name).result()
    emit({"ok": True, "name": args.name, "removed": removed}, as_json=args.json, text=f"removed {removed} container(s)")
    return EXIT_OK


@command("ps", docker=True)
def _ps(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(reconcile=False, monitors=False)
    orch.wait_started()
    views = orch.containers()
    rows = [[c.name, c.specialist, c.status, c.image, c.inflight] for c in views]
    emit(
        {"ok": True, "containers": views},
        as_json=args.json,
        text=table(rows, ["name", "specialist", "status", "image", "inflight"]),
    )
    return EXIT_OK


@command("logs", docker=True)
def _logs(orch: Orchestrator, args: argparse.Namespace) -> int:
    text = orch.logs(args.name, tail=args.tail)
    emit({"ok": True, "name": args.name, "logs": text}, as_json=args.json, text=text.rstrip())
    return EXIT_OK


@command("inspect", docker=True)
def _inspect(orch: Orchestrator, args: argparse.Namespace) -> int:
    doc = orch.inspect(args.name)
    lines = [f"{doc['container']} ({doc['specialist']}, {doc['status']}) hardening {doc['score']}"]
    lines += [f"  [{'pass' if h['passed'] else 'FAIL'}] {h['item']}: {h['detail']}" for h in doc["hardening"]]
    ok = all(h["passed"] for h in doc["hardening"])
    emit({"ok": ok, **doc}, as_json=args.json, text="\n".join(lines))
    return EXIT_OK


@command("submit")
def _submit(orch: Orchestrator, args: argparse.Namespace) -> int:
    _show_build_progress(orch)
    orch.validate_request(args.text, args.specialist, args.file)  # bad input is reported before anything else
    orch.start(monitors=False)
    orch.runtime.ping()
    handle = orch.submit(
        args.text, specialist=args.specialist, files=args.file, timeout_s=args.timeout, planning=not args.no_plan
    )
    if not args.wait:
        # The engine lives in this process: wait anyway so the task is not orphaned, but
        # print only the id and state.
        view = handle.future.result()
        emit(
            {
                "ok": view.state == "succeeded",
                "id": handle.id,
                "state": view.state,
                "specialist": handle.specialist,
                "route": handle.route,
            },
            as_json=args.json,
            text=f"{handle.id} {view.state} ({handle.specialist})",
        )
        return EXIT_OK if view.state == "succeeded" else EXIT_FAILED
    view = handle.future.result()
    emit(
        {"ok": view.state == "succeeded", "task": _task_doc(view), "route": handle.route},
        as_json=args.json,
        text=_task_text(view),
    )
    return EXIT_OK if view.state == "succeeded" else EXIT_FAILED


@command("route")
def _route(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    orch.wait_started()
    view = orch.route(args.text, args.file)
    top = sorted(view.scores.items(), key=lambda kv: -kv[1])[:3]
    text = (
        f"-> {view.chosen} · {view.confidence:.2f} · {view.router} router · {view.latency_ms:.2f} ms\n{view.rationale}"
    )
    text += "\n" + "  ".join(f"{k} {v:.2f}" for k, v in top)
    emit({"ok": True, **to_jsonable(view)}, as_json=args.json, text=text)
    return EXIT_OK


@command("tasks")
def _tasks(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    views = orch.tasks(limit=args.limit, state=args.state, specialist=args.specialist, search=args.search)
    rows = [
        [
            v.id[:12],
            time.strftime("%H:%M:%S", time.localtime(v.created_at)),
            v.state,
            v.specialist or "-",
            f"{v.duration_ms:.0f} ms" if v.duration_ms else "-",
            v.text[:50],
        ]
        for v in views
    ]
    emit(
        {"ok": True, "tasks": [_task_doc(v) for v in views]},
        as_json=args.json,
        text=table(rows, ["id", "created", "state", "specialist", "duration", "text"]),
    )
    return EXIT_OK


@command("task")
def _task(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    view = _find_task(orch, args.id)
    emit({"ok": True, "task": _task_doc(view)}, as_json=args.json, text=_task_text(view))
    return EXIT_OK


def _find_task(orch: Orchestrator, prefix: str) -> TaskView:
    """A task by full id or unique prefix (as ``tasks`` prints 12 characters)."""
    if len(prefix) >= 32:
        return orch.task(prefix)
    matches = [v for v in orch.tasks(limit=5000) if v.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    return orch.task(prefix)


@command("cancel")
def _cancel(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    done = orch.cancel(args.id)
    emit(
        {"ok": done, "id": args.id, "cancelled": done},
        as_json=args.json,
        text="cancelled" if done else "not running in this process (tasks run inside the engine that accepted them)",
    )
    return EXIT_OK if done else EXIT_FAILED


@command("feedback")
def _feedback(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    view = _find_task(orch, args.id)
    orch.feedback(view.id, args.kind, specialist=args.specialist, note=args.note)
    emit({"ok": True, "id": view.id, "kind": args.kind}, as_json=args.json, text="feedback stored")
    return EXIT_OK


@command("models")
def _models(orch: Orchestrator, args: argparse.Namespace) -> int:
    from app.engine.llm.model_admin import models_command

    doc = models_command(orch.routing.service, orch.settings, orch.catalogue, ensure=args.ensure, delete=args.delete)
    rows = [[m["name"], m.get("size_mb", ""), m.get("modified", ""), m.get("loaded", "")] for m in doc["models"]]
    emit(doc, as_json=args.json, text=table(rows, ["name", "size MB", "modified", "loaded"]))
    return EXIT_OK


@command("eval")
def _eval(orch: Orchestrator, args: argparse.Namespace) -> int:
    from app.engine.evaluation.runner import run_eval

    if args.what in ("golden", "natural"):
        orch.runtime.ping()  # golden suites run on real containers: exit 3 when Docker is down
    doc = run_eval(
        orch, args.what, file=args.file, specialist=args.specialist, path=args.path, split=args.split, limit=args.limit
    )
    emit(doc, as_json=args.json, text=doc.get("summary_text"))
    return EXIT_OK if doc.get("ok", True) else EXIT_FAILED


@command("dataset")
def _dataset(orch: Orchestrator, args: argparse.Namespace) -> int:
    import json
    import sys

    orch.spec(args.specialist)
    orch.start(docker=False, reconcile=False, monitors=False)
    if args.action == "remove":
        if not args.example:
            raise BadInput("dataset remove needs an example id (see `switchboard dataset list ID`)")
        removed = orch.remove_example(args.specialist, args.example)
        emit(
            {"ok": True, "specialist": args.specialist, "example": args.example, "removed": removed},
            as_json=args.json,
            text=f"removed {args.example} from {args.specialist}" if removed else f"{args.example} was already removed",
        )
        return EXIT_OK
    if args.action == "export":
        text = orch.export_dataset(args.specialist)
        count = len(text.splitlines())
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
            emit(
                {"ok": True, "specialist": args.specialist, "path": str(args.out), "count": count},
                as_json=args.json,
                text=f"wrote {count} examples of {args.specialist} to {args.out}",
            )
        elif args.json:
            emit(
                {
                    "ok": True,
                    "specialist": args.specialist,
                    "count": count,
                    "examples": [json.loads(line) for line in text.splitlines()],
                },
                as_json=True,
            )
        else:
            sys.stdout.write(text)
        return EXIT_OK
    examples = orch.dataset(args.specialist, include_removed=args.all)
    rows = [
        [
            e.example_id,
            e.source,
            e.label + (" (removed)" if e.removed else ""),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(e.ts)),
            e.text[:60],
        ]
        for e in examples
    ]
    emit(
        {"ok": True, "specialist": args.specialist, "count": len(examples), "examples": examples},
        as_json=args.json,
        text=table(rows, ["id", "source", "label", "when", "text"]) + f"\n{len(examples)} examples",
    )
    return EXIT_OK


@command("examples")
def _examples(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.spec(args.specialist)
    orch.start(docker=False, reconcile=False, monitors=False)
    counts = orch.example_counts(args.specialist)
    rows_v = orch.example_growth(args.specialist)

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.0f}%"

    rows = [[r.examples, r.tasks, pct(r.success_rate), r.eval_runs, pct(r.eval_accuracy)] for r in rows_v]
    head = f"{args.specialist}: {counts['seed']} seed examples, {counts['feedback']} from answers marked correct"
    emit(
        {"ok": True, "specialist": args.specialist, "counts": counts, "growth": rows_v},
        as_json=args.json,
        text=head
        + "\n"
        + (
            table(rows, ["examples", "tasks", "success", "hold-out runs", "hold-out"])
            if rows
            else "no program outcomes recorded yet"
        ),
    )
    return EXIT_OK


def _variant_rows(views: list[VariantView]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.0f}%"

    rows = [
        [
            v.id,
            v.state,
            v.tasks,
            pct(v.success_rate),
            "-" if v.p95_ms is None else f"{v.p95_ms / 1000:.2f} s",
            "-" if v.p_better is None else f"{v.p_better:.2f}",
            len(v.example_ids),
            v.reason[:70],
        ]
        for v in views
    ]
    return table(rows, ["variant", "state", "tasks", "success", "p95", "P(better)", "examples", "last decision"])


@command("variants")
def _variants(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.spec(args.specialist)
    orch.start(docker=False, reconcile=False, monitors=False)
    if args.replay and not args.retrain:
        raise BadInput("--replay goes with --retrain (it replays the new candidate)")
    created: VariantView | None = None
    if args.retrain:
        created = orch.retrain(args.specialist, replay=args.replay).result()
    views = orch.variants(args.specialist)
    text = _variant_rows(views)
    if created is not None:
        text += f"\n{created.reason}"
    emit(
        {"ok": True, "specialist": args.specialist, "variants": views, "created": created}, as_json=args.json, text=text
    )
    return EXIT_OK
