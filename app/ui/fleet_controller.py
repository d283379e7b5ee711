"""Wires specialist cards, the container views, builds, health and decisions to the engine."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.engine.core.facade import Facade
from app.ui.log_follow import LogFollower
from app.ui.main_window import MainWindow
from app.ui.notify import ask_confirmation, show_problem
from app.ui.ops import run_op

__all__ = ["FleetController"]


class FleetController(QObject):
    """Lifecycle buttons (confirmed when destructive), live container state, logs and builds."""

    def __init__(self, orch: Facade, window: MainWindow, bridge: Any, *, refresh_ms: int = 3000) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.confirm = ask_confirmation  # tests replace this to answer for the user
        self.specialist_views: dict[str, Any] = {}
        self.container_views: list[Any] = []
        self._refreshing = False
        self._refresh_again = False
        self._closed = False
        self.follower = LogFollower(orch, self)
        self.follower.sig_lines_received.connect(self._on_log_lines)
        self.follower.sig_follow_failed.connect(lambda _c, msg: window.show_message(f"Logs: {msg}"))
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self._on_tick)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(300)
        self._soon.timeout.connect(self.refresh)
        w = window
        w.cards.sig_build_requested.connect(self.build)
        w.cards.sig_start_requested.connect(self.start_specialist)
        w.cards.sig_stop_requested.connect(self.stop_specialist)
        w.cards.sig_scale_requested.connect(self.scale)
        w.cards.sig_remove_requested.connect(self.remove_specialist)
        w.cards.sig_details_requested.connect(self.show_specialist)
        w.cards.sig_release_requested.connect(self.release_specialist)
        w.container_list.sig_container_selected.connect(self.show_container)
        w.container_detail.sig_follow_toggled.connect(self._on_follow_toggled)
        w.container_detail.sig_restart_requested.connect(self.restart_container)
        w.container_detail.sig_remove_requested.connect(self.remove_container)
        w.health_lights.sig_fix_requested.connect(self.apply_fix)
        w.act_refresh.triggered.connect(self.refresh)
        w.act_doctor.triggered.connect(lambda: self.show_doctor(""))
        bridge.sig_container_state_changed.connect(self._on_container_state_changed)
        bridge.sig_stats_sampled.connect(self._on_stats_sampled)
        bridge.sig_build_progressed.connect(self._on_build_progressed)
        bridge.sig_health_changed.connect(self._on_health_changed)
        bridge.sig_decision_made.connect(self._on_decision_made)

    # refresh -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload specialists and containers off the GUI thread (never two at once).

        The periodic tick skips a minimised window: nothing would show the result, and
        events (container state, health) still trigger a refresh when it matters.
        """
        if self._closed:
            return
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        run_op(
            lambda: (self.orch.specialists(), self.orch.containers(), self.orch.nodes()),
            self._on_refreshed,
            self._on_refresh_failed,
            self,
        )

    def _on_tick(self) -> None:
        if not self.window.isMinimized():
            self.refresh()

    def _refresh_soon(self) -> None:
        if not self._closed:
            self._soon.start()

    def _on_refreshed(self, result: tuple[list[Any], list[Any], list[Any]]) -> None:
        specialists, containers, nodes = result
        self._refreshing = False
        if self._closed:
            return
        w = self.window
        if list(self.specialist_views.values()) != specialists:
            ids_before = list(self.specialist_views)
            self.specialist_views = {s.id: s for s in specialists}
            w.cards.set_specialists(specialists)
            if ids_before != list(self.specialist_views):  # the catalogue itself changed
                pairs = [(s.id, s.title) for s in specialists]
                w.console.set_specialists(pairs)
                w.result_view.set_specialists(pairs)
                w.task_list.set_specialists([s.id for s in specialists])
        self.container_views = containers
        w.container_list.set_containers(containers)
        w.node_list.setVisible(bool(nodes))
        w.node_list.set_nodes(nodes)
        if containers and not w.container_list.selected() and not w.container_detail.container:
            w.container_list.selectRow(0)  # the detail pane shows something useful from the start
        tasks_today = sum(s.tasks_today for s in specialists)
        inflight = sum(c.inflight for c in containers)
        text = f"{len(containers)} containers · {inflight} in flight · {tasks_today} tasks today"
        if w.status_counts.text() != text:
            w.status_counts.setText(text)
        if self._refresh_again:
            self._refresh_again = False
            self._refresh_soon()

    def _on_refresh_failed(self, message: str) -> None:
        self._refreshing = False
        self.window.show_message(f"Refresh failed: {message}")

    def load_health(self) -> None:
        """Show the engine's current health snapshot."""
        run_op(self.orch.health, lambda views: [self._on_health_changed(v) for v in views], None, self)

    # lifecycle -----------------------------------------------------------------------------
    def _op(self, what: str, fn: Any, done_text: str) -> None:
        self.window.show_message(what + "…", 0)

        def ok(_result: Any) -> None:
            self.window.show_message(done_text)
            self.refresh()

        def failed(message: str) -> None:
            self.window.show_message(f"{what} failed: {message.splitlines()[0]}")
            show_problem(self.window, f"{what} failed", message)
            self.refresh()

        run_op(fn, ok, failed, self)
        self._refresh_soon()

    def _containers_of(self, specialist: str) -> list[str]:
        return [c.name for c in self.container_views if c.specialist == specialist]

    def build(self, specialist: str) -> None:
        """Build or rebuild an image; the Activity tab shows the streamed log."""
        self.window.build_log.append(specialist, "build requested", 0.0)
        self._op(f"Building {specialist}", lambda: self.orch.build(specialist), f"{specialist} image ready")

    def start_specialist(self, specialist: str) -> None:
        """Start one container (building the image first if needed)."""
        self._op(f"Starting {specialist}", lambda: self.orch.up(specialist, 1), f"{specialist} running")

    def scale(self, specialist: str, replicas: int) -> None:
        """Scale; scaling down names the containers that will go and asks first."""
        names = self._containers_of(specialist)
        go = lambda: self._op(  # noqa: E731
            f"Scaling {specialist} to {replicas}",
            lambda: self.orch.scale(specialist, replicas),
            f"{specialist}: {replicas} running",
        )
        if replicas < len(names):
            doomed = names[replicas:] if replicas else names
            self.confirm(
                self.window,
                "Scale down?",
                f"Scaling {specialist} to {replicas} removes {len(names) - replicas} container(s):\n"
                + "\n".join(doomed)
                + "\n\nTasks running in them are retried elsewhere.",
                "Scale down",
                go,
            )
        else:
            go()

    def release_specialist(self, specialist: str) -> None:
        """Lift a crash-loop quarantine; the next task or scale starts containers again."""
        self._op(f"Releasing {specialist}", lambda: self.orch.release(specialist), f"{specialist} released")

    def stop_specialist(self, specialist: str) -> None:
        """Stop every container of a specialist (asks first, naming them)."""
        names = self._containers_of(specialist)
        if not names:
            self.window.show_message(f"{specialist} has no running containers")
            return
        self.confirm(
            self.window,
            f"Stop {specialist}?",
            f"This stops and removes {len(names)} container(s):\n"
            + "\n".join(names)
            + "\n\nThe image and the data volume are kept.",
            "Stop",
            lambda: self._op(f"Stopping {specialist}", lambda: self.orch.scale(specialist, 0), f"{specialist} stopped"),
        )

    def remove_specialist(self, specialist: str) -> None:
        """Remove every container of a specialist (asks first, naming them)."""
        names = self._containers_of(specialist)
        self.confirm(
            self.window,
            f"Remove {specialist} containers?",
            f"This removes {len(names)} container(s) of {specialist}:\n"
            + ("\n".join(names) or "(none)")
            + "\n\nThe image and the data volume switchboard-data-"
            + specialist
            + " are kept.",
            "Remove",
            lambda: self._op(
                f"Removing {specialist}", lambda: self.orch.down(specialist), f"{specialist} containers removed"
            ),
        )

    def restart_container(self, name: str) -> None:
        """Replace a container by a fresh one."""
        self._op(f"Restarting {name}", lambda: self.orch.restart(name), f"{name} restarted")

    def remove_container(self, name: str) -> None:
        """Remove one container (asks first)."""
        self.confirm(
            self.window,
            "Remove container?",
            f"This stops and removes the container\n{name}.",
            "Remove",
            lambda: self._op(f"Removing {name}", lambda: self.orch.down(name), f"{name} removed"),
        )

    # containers detail ---------------------------------------------------------------------
    def show_specialist(self, specialist: str) -> None:
        """Jump to the Containers tab with the specialist's first container selected."""
        w = self.window
        w.tabs.setCurrentIndex(w.TAB_CONTAINERS)
        names = self._containers_of(specialist)
        if names:
            w.container_list.selectRow(w.container_list.names().index(names[0]))
        else:
            w.show_message(f"{specialist} has no containers; start one with ▶ on its card")

    def show_container(self, name: str) -> None:
        """Load logs and inspect data of a container into the detail pane."""
        self.follower.stop()
        status = next((c.status for c in self.container_views if c.name == name), "")
        detail = self.window.container_detail
        detail.set_container(name, status)
        run_op(
            lambda: self.orch.logs(name, tail=300),
            lambda text: detail.container == name and detail.set_logs(text),
            lambda msg: detail.set_logs(f"(logs unavailable: {msg})"),
            self,
        )
        run_op(
            lambda: self.orch.inspect(name),
            lambda data: detail.container == name and detail.set_inspect(data),
            lambda msg: self.window.show_message(f"Inspect failed: {msg}"),
            self,
        )

    def _on_follow_toggled(self, name: str, on: bool) -> None:
        if on:
            self.follower.start(name)
        else:
            self.follower.stop()

    def _on_log_lines(self, container: str, text: str) -> None:
        if container == self.window.container_detail.container:
            self.window.container_detail.append_logs(text)

    # events --------------------------------------------------------------------------------
    def _on_container_state_changed(self, event: Any) -> None:
        self.window.container_list.update_status(event.container, event.state)
        if event.state in ("removed", "exited", "dead"):
            for metric in ("cpu_percent", "memory_bytes"):
                self.window.charts.clear_subject(metric, event.container)
        self._refresh_soon()

    def _on_stats_sampled(self, event: Any) -> None:
        self.window.container_list.update_stats(
            event.container, event.cpu_percent, event.memory_bytes, event.memory_limit_bytes, event.pids
        )
        self.window.charts.add_sample("cpu_percent", event.container, event.ts, event.cpu_percent)
        self.window.charts.add_sample("memory_bytes", event.container, event.ts, event.memory_bytes)

    def _on_build_progressed(self, event: Any) -> None:
        self.window.build_log.append(event.specialist, event.line, event.fraction, event.done, event.error)
        if event.done:
            self._refresh_soon()

    def _on_health_changed(self, event: Any) -> None:
        self.window.health_lights.set_health(event.component, event.status, event.detail, event.fix)
        if event.component == "docker" and event.status == "ok":
            self._refresh_soon()

    def load_decisions(self) -> None:
        """Fill the timeline with stored decisions (newest on top), then live ones follow."""

        def shown(history: list[Any]) -> None:
            for event in reversed(history):
                self._on_decision_made(event)

        run_op(lambda: self.orch.decisions(200), shown, None, self)

    def _on_decision_made(self, event: Any) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
        subject = event.subject[:12] if len(event.subject) == 32 else event.subject  # task ids
        self.window.decisions.insertItem(0, f"{stamp}   {event.kind}   {subject}: {event.reason}")
        while self.window.decisions.count() > 500:
            self.window.decisions.takeItem(self.window.decisions.count() - 1)

    def apply_fix(self, component: str) -> None:
        """Ask, then let the engine apply its fix (start Docker / Ollama); the doctor explains failures."""
        fix = self.window.health_lights.fixes.get(component, "")

        def go() -> None:
            self._op(f"Fixing {component}", lambda: self.orch.fix(component), f"{component}: fixed")

        self.confirm(self.window, f"Fix {component}?", f"The engine will try this now:\n{fix or 'start it'}", "Fix", go)

    def show_doctor(self, component: str) -> None:
        """Run the doctor and show each check with the fix the engine knows."""

        def shown(checks: list[Any]) -> None:
            lines = [
                f"{'✓' if c.ok else '✗'} {c.component}: {c.detail}"
                + (f"\n    fix: {c.fix}" if c.fix and not c.ok else "")
                for c in checks
            ]
            show_problem(self.window, "Doctor", "\n".join(lines) or "No checks ran.")

        run_op(self.orch.doctor, shown, lambda msg: show_problem(self.window, "Doctor failed", msg), self)

    def close(self) -> None:
        """Stop timers and the log follower; late callbacks start nothing afterwards."""
        self._closed = True
        self.timer.stop()
        self._soon.stop()
        self.follower.stop()
