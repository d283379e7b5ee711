"""``switchboard router``: retrain the fast router from stored feedback now, or list its retrains.

Each retrain is measured on the held-back slice of the feedback and on the catalogue's own
examples, before and after; a worse refit is thrown away (docs/routing.md, "Retraining").
A retrain here changes this command's engine and the stored history; a running GUI keeps its
own router until its next scheduled retrain.
"""

from __future__ import annotations

import argparse
import time

from app.cli import EXIT_OK, command
from app.cli_output import emit, table
from app.engine.core.views import RouterRetrainView
from app.engine.orchestrator import Orchestrator

__all__: list[str] = []


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _rows(views: list[RouterRetrainView]) -> str:
    rows = [
        [
            time.strftime("%Y-%m-%d %H:%M", time.localtime(v.ts)),
            v.trigger,
            "kept" if v.kept else "rejected",
            v.examples,
            v.held_back,
            f"{_pct(v.held_before)} -> {_pct(v.held_after)}",
            f"{_pct(v.catalogue_before)} -> {_pct(v.catalogue_after)}",
        ]
        for v in views
    ]
    return table(rows, ["when", "trigger", "model", "examples", "held back", "held-back accuracy", "catalogue"])


@command("router")
def _router(orch: Orchestrator, args: argparse.Namespace) -> int:
    orch.start(docker=False, reconcile=False, monitors=False)
    if args.action == "retrain":
        view = orch.retrain_router().result()
        emit({"ok": True, "retrain": view}, as_json=args.json, text=view.reason)
        return EXIT_OK
    views = orch.router_history(args.limit)
    new = orch.routing.new_feedback()
    settings = orch.settings
    schedule = (
        f"every {settings.router_retrain_interval_s:g} s "
        f"once {settings.router_retrain_min_feedback} new verdicts arrived"
        if settings.router_retrain_interval_s > 0
        else "only on demand"
    )
    text = (
        _rows(views) if views else "no retrain yet"
    ) + f"\n{new} new verdicts since the last retrain; scheduled: {schedule}"
    emit(
        {
            "ok": True,
            "retrains": views,
            "new_feedback": new,
            "interval_s": settings.router_retrain_interval_s,
            "min_feedback": settings.router_retrain_min_feedback,
        },
        as_json=args.json,
        text=text,
    )
    return EXIT_OK
