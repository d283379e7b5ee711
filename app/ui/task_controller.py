"""Wires the console, task list and result view to the orchestrator's task calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer

from app.engine.core.facade import Facade
from app.ui.main_window import MainWindow
from app.ui.notify import show_problem
from app.ui.ops import run_op
from widgets.drop_prompt import DropPrompt
from widgets.file_checks import check_files

__all__ = ["TaskController"]

TERMINAL = ("succeeded", "failed", "cancelled")


class TaskController(QObject):
    """Submit, route preview, drops, results, feedback and re-runs."""

    def __init__(self, orch: Facade, window: MainWindow, bridge: Any, *, flush_ms: int = 100) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.problems: list[str] = []  # every problem shown to the user (tests read it)
        self.handles: dict[str, Any] = {}
        self.drop_prompt: DropPrompt | None = None
        self._route_seq = 0
        self._fetching: set[str] = set()
        self._closed = False
        self._pending: dict[str, dict[str, Any]] = {}  # task id -> fields not yet shown
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(flush_ms)
        self._flush.timeout.connect(self._flush_events)
        w = window
        w.console.set_limits(orch.settings.max_inputs_per_task, orch.settings.max_input_bytes)
        w.console.sig_route_requested.connect(self._on_route_requested)
        w.console.sig_task_submitted.connect(self._on_console_submitted)
        w.cards.sig_files_dropped.connect(self._on_files_dropped)
        w.task_list.sig_task_selected.connect(self.show_task)
        w.result_view.sig_feedback_given.connect(self._on_feedback_given)
        w.result_view.sig_rerun_requested.connect(self._on_rerun_requested)
        w.result_view.sig_cancel_requested.connect(self._on_cancel_requested)
        w.result_view.sig_program_run_requested.connect(self._on_program_run_requested)
        bridge.sig_task_state_changed.connect(self._on_task_state_changed)

    # problems ------------------------------------------------------------------------------
    def problem(self, title: str, text: str, *, dialog: bool = True) -> None:
        """Tell the user what went wrong: status bar always, a dialog for actions they took."""
        self.problems.append(text)
        self.window.show_message(f"{title}: {text.splitlines()[0]}")
        if dialog:
            show_problem(self.window, title, text)

    # submit --------------------------------------------------------------------------------
    def load_recent(self) -> None:
        """Fill the task list from the store (after the engine started)."""

        def loaded(views: list[Any]) -> None:
            self.window.task_list.model.upsert_many([self._row(v) for v in reversed(views)])
            if views and not self.window.result_view.task_id:  # show the newest result, not a blank pane
                self.window.task_list.select_task(views[0].id)

        run_op(
            lambda: self.orch.tasks(limit=200),
            loaded,
            lambda msg: self.problem("Could not load tasks", msg, dialog=False),
            self,
        )

    def submit(
        self, text: str, specialist: str | None, files: list[Path], on_submitted: Callable[[Any], None] | None = None
    ) -> None:
        """Submit off the GUI thread; track the task until it finishes."""
        missing = [f for f in files if not f.is_file()]
        if missing:
            self.problem(
                "Task not run",
                "\n".join(f"{f.name}: the file no longer exists." for f in missing) + "\nNothing was run.",
            )
            return
        self.window.show_message(f"Submitting to {specialist or 'the router'}…")

        def submitted(handle: Any) -> None:
            self._track(handle, text)
            if on_submitted:
                on_submitted(handle)

        run_op(
            lambda: self.orch.submit(text, specialist=specialist or None, files=files),
            submitted,
            lambda msg: self.problem("Task not run", msg),
            self,
        )

    def _track(self, handle: Any, text: str) -> None:
        self.handles[handle.id] = handle
        specialist = getattr(handle, "specialist", None)
        self.window.task_list.model.upsert(id=handle.id, text=text, specialist=specialist, state="routed")
        if len(self.handles) == 1:  # an interactive submit: show it; a burst keeps the selection
            self.window.task_list.select_task(handle.id)
        self.window.show_message(f"Task {handle.id[:8]} sent to {specialist or 'the router'}")
        run_op(lambda: handle.future, self._on_task_finished, lambda msg: self._on_task_failed(handle.id, msg), self)

    def _on_task_finished(self, view: Any) -> None:
        self.handles.pop(view.id, None)
        self._pending.setdefault(view.id, {}).update(self._row(view))  # shown with the next batch
        if not self._flush.isActive():
            self._flush.start()
        if self.window.result_view.task_id in ("", view.id):
            self._flush.stop()
            self._flush_events(refetch_shown=False)  # the list agrees with the result shown
            self._show_view(view)

    def _on_task_failed(self, task_id: str, message: str) -> None:
        self.handles.pop(task_id, None)
        self.window.task_list.model.upsert(id=task_id, state="failed", error=message)
        self.show_task(task_id)

    def _on_console_submitted(self, text: str, specialist: str, files: list[Path]) -> None:
        self.submit(text, specialist or None, files)

    def _on_route_requested(self, text: str, files: list[Path]) -> None:
        self._route_seq += 1
        seq = self._route_seq

        def done(route: Any) -> None:
            if seq == self._route_seq:
                self.window.console.set_route(route)

        def failed(message: str) -> None:
            if seq == self._route_seq:
                self.window.console.set_route(None, error=message)

        run_op(lambda: self.orch.route(text, files), done, failed, self)

    # drops ---------------------------------------------------------------------------------
    def _on_files_dropped(self, specialist: str, paths: list[Path]) -> None:
        card = self.window.cards.cards.get(specialist)
        title = card.title if card else specialist
        accepted = card.accepted_inputs if card else None
        settings = self.orch.settings
        result = check_files(
            paths,
            accepted_inputs=accepted,
            max_files=settings.max_inputs_per_task,
            max_bytes=settings.max_input_bytes,
            target=title,
        )
        if result.problems:
            skipped = "\n".join(result.problems)
            tail = (
                f"\n\nContinuing with {len(result.accepted)} file(s)." if result.accepted else "\n\nNothing was sent."
            )
            self.problem(f"Cannot give these files to {title}", skipped + tail)
        if not result.accepted:
            return
        examples = card.example_tasks if card else ()
        prompt = DropPrompt(specialist, title, result.accepted, examples, self.window)
        prompt.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        prompt.sig_task_confirmed.connect(lambda sid, text, files: self.submit(text, sid, files))
        self.drop_prompt = prompt
        prompt.open()

    # results -------------------------------------------------------------------------------
    def show_task(self, task_id: str) -> None:
        """Fetch a task and render it (off the GUI thread)."""
        run_op(
            lambda: self.orch.task(task_id),
            self._show_view,
            lambda msg: self.problem("Could not load the task", msg, dialog=False),
            self,
        )

    def _show_view(self, view: Any) -> None:
        images = {
            a.name: Path(a.path)
            for a in getattr(view, "artifacts", [])
            if str(a.mime).startswith("image/") and Path(a.path).is_file()
        }
        self.window.result_view.set_task(view, images)

    def _on_task_state_changed(self, event: Any) -> None:
        """Queue the change; :meth:`_flush_events` applies a burst of them in one pass."""
        if event.state in TERMINAL and event.duration_ms:
            self.window.charts.add_latency(event.ts, event.duration_ms)
        fields = {
            "id": event.task_id,
            "state": event.state,
            "specialist": event.specialist,
            "duration_ms": event.duration_ms,
            "error": event.error,
        }
        self._pending.setdefault(event.task_id, {}).update({k: v for k, v in fields.items() if v is not None})
        if not self._flush.isActive():
            self._flush.start()

    def _flush_events(self, refetch_shown: bool = True) -> None:
        batch, self._pending = self._pending, {}
        if not batch or self._closed:
            return
        model = self.window.task_list.model
        unknown = [
            tid for tid in batch if model.get(tid) is None and tid not in self._fetching and tid not in self.handles
        ]
        model.upsert_many(batch.values())
        if unknown:  # submitted elsewhere (CLI): fetch their text once, in one op
            self._fetching.update(unknown)

            def fetched(views: list[Any]) -> None:
                self._fetching.difference_update(unknown)
                model.upsert_many([self._row(v) for v in views])

            run_op(
                lambda: [self.orch.task(tid) for tid in unknown],
                fetched,
                lambda _msg: self._fetching.difference_update(unknown),
                self,
            )
        shown = self.window.result_view.task_id
        if refetch_shown and shown in batch and batch[shown].get("state") in TERMINAL and shown not in self.handles:
            self.show_task(shown)

    @staticmethod
    def _row(view: Any) -> dict[str, Any]:
        return {
            "id": view.id,
            "state": view.state,
            "text": view.text,
            "specialist": view.specialist,
            "duration_ms": view.duration_ms,
            "cost": view.cost,
            "created_at": view.created_at,
            "error": view.error,
        }

    def close(self) -> None:
        """Drop queued events; no callback touches the window afterwards."""
        self._closed = True
        self._flush.stop()
        self._pending = {}

    def _on_feedback_given(self, task_id: str, kind: str) -> None:
        label = {"correct": "correct", "bad_answer": "a bad answer"}.get(kind, kind)
        run_op(
            lambda: self.orch.feedback(task_id, kind),
            lambda _: self.window.show_message(f"Feedback stored: task {task_id[:8]} was {label}"),
            lambda msg: self.problem("Feedback not stored", msg),
            self,
        )

    def _on_cancel_requested(self, task_id: str) -> None:
        def done(cancelled: bool) -> None:
            self.window.show_message(
                "Cancelling task…" if cancelled else "That task already finished (or runs in another engine)."
            )

        run_op(lambda: self.orch.cancel(task_id), done, lambda msg: self.problem("Cancel failed", msg), self)

    def _on_program_run_requested(self, task_id: str, program: str) -> None:
        text = (self.window.task_list.model.get(task_id) or {}).get("text", "")
        self.window.show_message("Running the edited program in a fresh sandbox…")
        run_op(
            lambda: self.orch.run_program(task_id, program),
            lambda handle: self._track(handle, text),
            lambda msg: self.problem("Run program failed", msg),
            self,
        )

    def _on_rerun_requested(self, task_id: str, specialist: str) -> None:
        text = (self.window.task_list.model.get(task_id) or {}).get("text", "")
        run_op(
            lambda: self.orch.rerun(task_id, specialist),
            lambda handle: self._track(handle, text),
            lambda msg: self.problem("Re-run failed", msg),
            self,
        )
