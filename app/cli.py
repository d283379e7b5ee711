"""``switchboard``: headless commands over the same orchestrator the GUI uses.

Exit codes: 0 ok, 1 task failed, 2 usage or bad input, 3 environment (Docker, Ollama or the
database unavailable). Every command takes ``--json`` and then prints exactly one JSON
document; the field names are documented in the README.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import emit, table
from app.engine.core.config import config_file_path, describe, load_settings
from app.engine.core.errors import BadInput, EngineError, EnvironmentUnavailable

if TYPE_CHECKING:  # imported lazily: `switchboard gui` paints before the engine loads
    from app.engine.orchestrator import Orchestrator

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3
Handler = Callable[["Orchestrator", argparse.Namespace], int]
_COMMANDS: dict[str, tuple[Handler, bool]] = {}  # name -> (handler, needs docker)


_WANT_JSON = False  # set from argv before parsing, so usage errors can answer in JSON


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors exit 2 with a JSON body when asked
        if _WANT_JSON:
            emit({"ok": False, "error": message, "exit_code": EXIT_USAGE}, as_json=True)
            raise SystemExit(EXIT_USAGE)
        super().error(message)


def command(name: str, *, docker: bool = False) -> Callable[[Handler], Handler]:
    """Register a sub-command handler."""

    def wrap(fn: Handler) -> Handler:
        _COMMANDS[name] = (fn, docker)
        return fn

    return wrap


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="switchboard", description="Control panel for AI specialist containers.")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("-v", "--verbose", action="store_true", help="log engine activity to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document")
        return p

    add("doctor", "check Docker, base image, Ollama, model and database; say how to fix each")
    add("config", "show effective settings and where each came from")
    add("specialists", "the catalogue with state")
    add("build", "build a specialist's image").add_argument("specialist")
    p = add("up", "build if needed and start containers")
    p.add_argument("specialist")
    p.add_argument("--replicas", type=int, default=1)
    p = add("scale", "run exactly N containers")
    p.add_argument("specialist")
    p.add_argument("replicas", type=int)
    add("down", "remove a container, or all of a specialist").add_argument("name")
    add("ps", "running containers")
    p = add("logs", "a container's output")
    p.add_argument("name")
    p.add_argument("--tail", type=int, default=200)
    add("inspect", "hardening checklist of a container").add_argument("name")
    add("nodes", "swarm nodes: state, CPU, memory, replicas per specialist")
    p = add("submit", "submit a task")
    p.add_argument("text")
    p.add_argument("--specialist", "-s", help="run on this specialist (else the router decides)")
    p.add_argument("--file", "-f", action="append", default=[], help="input file (repeatable)")
    p.add_argument("--wait", action="store_true", help="print the whole result, not only the state")
    p.add_argument("--timeout", type=float, help="task timeout in seconds")
    p.add_argument("--no-plan", action="store_true", help="explicit operations only: never ask the planner model")
    p = add("route", "explain which specialist would get a task")
    p.add_argument("text")
    p.add_argument("--file", "-f", action="append", default=[])
    p = add("tasks", "recent tasks")
    p.add_argument("--state")
    p.add_argument("--specialist")
    p.add_argument("--search")
    p.add_argument("--limit", type=int, default=30)
    add("task", "one task with its result").add_argument("id")
    add("cancel", "cancel a task").add_argument("id")
    p = add("feedback", "correct / wrong_specialist / bad_answer")
    p.add_argument("id")
    p.add_argument("kind", choices=["correct", "wrong_specialist", "bad_answer"])
    p.add_argument("--specialist", help="the right specialist (wrong_specialist)")
    p.add_argument("--note", default="")
    p = add("models", "Ollama models")
    p.add_argument("--ensure", action="store_true", help="create the base and derived models")
    p.add_argument("--delete", metavar="NAME")
    p = add("eval", "run an evaluation")
    p.add_argument("what", choices=["golden", "natural", "routing"])
    p.add_argument("file", nargs="?")
    p.add_argument("--specialist")
    p.add_argument("--path", choices=["explicit", "planned", "all"], default="all")
    p.add_argument(
        "--split",
        choices=["dev", "holdout", "fresh", "fresh2", "fresh3", "all"],
        default="all",
        help="natural suites: which part",
    )
    p.add_argument("--limit", type=int, help="first N cases per specialist")
    p = add("dataset", "a specialist's curated examples: list, export (JSONL), remove one")
    p.add_argument("action", choices=["list", "export", "remove"])
    p.add_argument("specialist")
    p.add_argument("example", nargs="?", help="the example id to remove")
    p.add_argument("--out", "-o", type=Path, help="export: write the JSONL here (default: stdout)")
    p.add_argument("--all", action="store_true", help="list: include removed examples")
    p = add("examples", "a specialist's program examples and its success at each bank size")
    p.add_argument("specialist")
    p = add("variants", "a specialist's variants with their figures; --retrain makes a new candidate")
    p.add_argument("specialist")
    p.add_argument(
        "--retrain", action="store_true", help="new candidate with few-shot examples from the current dataset"
    )
    p.add_argument("--replay", action="store_true", help="with --retrain: run the replay gate on the real model now")
    p = add(
        "router",
        "retrain the fast router from stored feedback now (measured on a held-back slice), or list its retrains",
    )
    p.add_argument("action", choices=["retrain", "history"])
    p.add_argument("--limit", type=int, default=50, help="history: newest N retrains")
    p = add("gui", "open the control panel")
    p.add_argument("--screenshot", type=Path, help="save a screenshot of the window and exit")
    p.add_argument("--after", type=float, default=8.0, help="seconds of live data before the screenshot")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switchboard`` script."""
    global _WANT_JSON
    arguments = list(sys.argv[1:] if argv is None else argv)
    _WANT_JSON = "--json" in arguments
    parser = build_parser()
    args = parser.parse_args(arguments)
    args.json = bool(args.json)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except BadInput as exc:
        return _fail(args, exc, EXIT_USAGE)
    if args.command == "config":
        rows = describe(settings)
        emit(
            {"ok": True, "config_file": str(config_file_path()), "settings": rows},
            as_json=args.json,
            text=f"config file: {config_file_path()}\n"
            + table([[r["name"], r["value"], r["source"]] for r in rows], ["name", "value", "source"]),
        )
        return EXIT_OK
    if args.command == "gui":
        problem = _display_problem(args.screenshot is not None)
        if problem:
            return _fail(args, EnvironmentUnavailable(problem), EXIT_ENV)
        from app.ui.launch import run_gui

        return run_gui(settings, screenshot=args.screenshot, after_s=args.after)
    import app.cli_commands  # noqa: F401  (registers handlers)
    import app.cli_nodes  # noqa: F401  (registers `nodes`)
    import app.cli_router  # noqa: F401  (registers `router`)
    from app.engine.orchestrator import Orchestrator

    handler, needs_docker = _COMMANDS[args.command]
    orch = Orchestrator(settings)
    try:
        if needs_docker:
            orch.runtime.ping()
        return handler(orch, args)
    except EnvironmentUnavailable as exc:
        return _fail(args, exc, EXIT_ENV)
    except BadInput as exc:
        return _fail(args, exc, EXIT_USAGE)
    except EngineError as exc:
        return _fail(args, exc, exc.exit_code)
    except KeyboardInterrupt:
        return _fail(args, EngineError("interrupted"), EXIT_FAILED)
    finally:
        orch.close()


def _display_problem(screenshot: bool) -> str | None:
    """Why no window can open here (``None`` when one can); Qt would abort instead."""
    import os

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    if screenshot:  # a screenshot needs no screen
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return None
    return (
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); run from a desktop "
        "session, or use `switchboard gui --screenshot FILE.png` (renders offscreen), or start Xvfb and set DISPLAY"
    )


def _fail(args: argparse.Namespace, exc: EngineError, code: int) -> int:
    message = str(exc)
    if args.json:
        emit({"ok": False, "error": message, "error_type": type(exc).__name__, "exit_code": code}, as_json=True)
    else:
        sys.stderr.write(f"switchboard: {message}\n")
    return code
