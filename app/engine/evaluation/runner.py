"""``switchboard eval golden|routing``: run evaluations on the real engine and store results.

Golden results are stored (``golden_runs``) because they feed the accuracy charts.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.core.errors import BadInput, EngineError
from app.engine.core.states import TaskState
from app.engine.core.views import TaskView
from app.engine.evaluation.golden_checks import GoldenCase, check, load_golden
from app.engine.evaluation.testsite import TestSite
from app.engine.routing.evaluate import evaluate, load_cases
from app.engine.tasks import example_growth

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["response_of", "run_eval", "run_golden", "run_routing"]


def response_of(view: TaskView) -> dict[str, Any]:
    """A task view in the wire-response shape the golden checks read."""
    error = {"kind": view.error_kind, "message": view.error} if view.error_kind else None
    return {
        "ok": view.state == TaskState.SUCCEEDED,
        "answer": view.answer,
        "data": view.data,
        "tables": view.tables,
        "error": error,
        "path": view.path,
        "artifacts": [{"name": a.name, "bytes": a.bytes, "mime": a.mime} for a in view.artifacts],
        "stdout": view.stdout,
    }


def run_golden(
    orch: Orchestrator,
    specialist: str | None = None,
    path: str = "all",
    *,
    suite: str = "golden",
    split: str = "all",
    limit: int | None = None,
    case_ids: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Run a suite against the real containers; pass rates per specialist and path.

    ``suite`` is ``golden`` (``golden.jsonl``) or ``natural`` (``natural.jsonl``, realistic
    phrasings with a ``dev``/``holdout`` split); ``limit`` takes the first N cases per
    specialist (CI runs a sample); ``case_ids`` keeps only those cases (to re-run failures).
    """
    ids = [specialist] if specialist else orch.catalogue.ids()
    for sid in ids:
        orch.spec(sid)
    orch.wait_started()
    run_id = uuid.uuid4().hex[:12]
    results: list[dict[str, Any]] = []
    site: TestSite | None = None
    try:
        suites: list[tuple[str, list[GoldenCase]]] = []
        for sid in ids:
            spec = orch.spec(sid)
            golden = spec.folder / f"{suite}.jsonl"
            if not golden.exists():
                continue
            splits = split.split(",")  # one split, several ("holdout,fresh3") or "all"
            cases = [
                c for c in load_golden(golden) if path in ("all", c.path) and ("all" in splits or c.split in splits)
            ]
            cases = [c for c in cases if case_ids is None or c.id in case_ids]
            cases = cases[:limit] if limit is not None else cases
            if spec.needs_network and any("sb-testsite" in c.text for c in cases) and site is None:
                site = TestSite(orch)
                site.start()
            suites.append((sid, cases))
        # suites run side by side; cases of one suite in file order (later cases may use
        # what earlier ones made, such as a trained model)
        with ThreadPoolExecutor(max_workers=max(1, len(suites))) as pool:
            for suite_results in pool.map(lambda item: _run_suite(orch, item[0], item[1]), suites):
                results.extend(suite_results)
    finally:
        if site is not None:
            site.stop()
    store = orch.wait_started()
    now = time.time()
    store.add_golden_runs([{**r, "run_id": run_id, "ts": now} for r in results]).result(timeout=60)
    summary = _summarise(run_id, results)
    if suite == "natural" and split == "holdout" and limit is None:
        # the hold-out is never used as examples: its pass rate at each bank size is the growth curve
        for sid, paths in summary["per_specialist"].items():
            bank = len(orch.examples.all(sid))
            store.add_metric(
                example_growth.EVAL_METRIC, example_growth.subject(sid, bank), paths["all"]["rate"] or 0.0, now
            )
    return summary


def _run_suite(orch: Orchestrator, sid: str, cases: list[GoldenCase]) -> list[dict[str, Any]]:
    spec = orch.spec(sid)
    out: list[dict[str, Any]] = []
    for case in cases:
        started = time.perf_counter()
        files = [spec.folder / f for f in case.files]
        # a case that checks the specialist asks for a plan must not be planned by the engine
        planning = not (case.check.kind == "error" and _expected_error(case) == "needs_plan")
        try:
            view = orch.submit(case.text, specialist=sid, files=files, planning=planning).future.result()
            response = response_of(view)
        except EngineError as exc:
            response = {"ok": False, "error": {"kind": "bad_input", "message": str(exc)}}
        outcome = check(case, response)
        out.append(
            {
                "specialist": sid,
                "case_id": case.id,
                "path": case.path,
                "passed": outcome.passed,
                "detail": outcome.detail,
                "duration_ms": (time.perf_counter() - started) * 1000,
            }
        )
    return out


def _expected_error(case: GoldenCase) -> str | None:
    return case.check.error or case.check.error_kind


def _summarise(run_id: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    by: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        by[r["specialist"]][r["path"]].append(r["passed"])
        by[r["specialist"]]["all"].append(r["passed"])
    per_specialist = {
        sid: {p: {"passed": sum(v), "total": len(v), "rate": sum(v) / len(v) if v else None} for p, v in paths.items()}
        for sid, paths in sorted(by.items())
    }
    total = len(results)
    passed = sum(r["passed"] for r in results)
    lines = [f"golden run {run_id}: {passed}/{total} passed"]
    for sid, paths in per_specialist.items():
        parts = [f"{p} {d['passed']}/{d['total']}" for p, d in paths.items() if p != "all"]
        lines.append(f"  {sid:18} {paths['all']['passed']}/{paths['all']['total']}  ({', '.join(parts)})")
    for r in results:
        if not r["passed"]:
            lines.append(f"  FAIL {r['specialist']}/{r['case_id']} ({r['path']}): {r['detail']}")
    return {
        "ok": True,
        "run_id": run_id,
        "passed": passed,
        "total": total,
        "pass_rate": passed / total if total else None,
        "per_specialist": per_specialist,
        "cases": results,
        "summary_text": "\n".join(lines),
    }


def run_routing(orch: Orchestrator, file: str | None) -> dict[str, Any]:
    """The routing harness over a labelled JSONL file."""
    if not file:
        raise BadInput("eval routing needs a JSONL file of {text, files, expected, acceptable} lines")
    path = Path(file)
    if not path.is_file():
        raise BadInput(f"{path} does not exist")
    cases = load_cases(path)
    report = evaluate(orch.routing.router, cases)
    report["ok"] = True
    report["summary_text"] = (
        f"{report.get('n', len(cases))} tasks: accuracy {report['accuracy']:.3f}, fast {report['fast_accuracy']:.3f}, "
        f"refusals {report['refusal_accuracy']}, LLM share {report['llm_share']:.3f}, "
        f"fast p50 {report['fast_p50_ms']:.3f} ms / p99 {report['fast_p99_ms']:.3f} ms, LLM p50 {report['llm_p50_ms']}"
    )
    return report


def run_eval(
    orch: Orchestrator,
    what: str,
    *,
    file: str | None = None,
    specialist: str | None = None,
    path: str = "all",
    split: str = "all",
    limit: int | None = None,
) -> dict[str, Any]:
    """Dispatch ``switchboard eval``."""
    if what in ("golden", "natural"):
        return run_golden(orch, specialist, path, suite=what, split=split, limit=limit)
    if what == "routing":
        return run_routing(orch, file)
    raise BadInput(f"unknown evaluation {what!r}")
