"""Feeds the Improvements tab (variants, decisions, router retrains, proposals) and carries out its requests.

Reads run off the GUI thread through :func:`app.ui.ops.run_op`; a decision about variants,
proposals or the router, or the tab being shown, reloads (at most once per ``debounce_ms``).
Build progress of an accepted proposal arrives as ``ImageBuildProgress`` events through the
bridge.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.engine.core.events import Decision, ImageBuildProgress
from app.engine.core.facade import Facade
from app.ui.bridge import EngineBridge
from app.ui.main_window import MainWindow
from app.ui.ops import run_op

__all__ = ["ImprovementsController"]

KINDS = ("variant_", "proposal_", "example_removed", "specialist_added", "router_retrained")


class ImprovementsController(QObject):
    """Loads what the panel shows and turns its requests into facade calls."""

    def __init__(self, orch: Facade, window: MainWindow, bridge: EngineBridge, *, debounce_ms: int = 400) -> None:
        super().__init__(window)
        self.orch = orch
        self.window = window
        self.panel = window.improvements
        self.started = False
        self.loads = 0
        self._loading = False
        self._accepting: dict[str, str] = {}  # specialist name -> proposal id while it builds
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(debounce_ms)
        self.timer.timeout.connect(self.load)
        self.panel.sig_specialist_selected.connect(lambda _s: self.load())
        self.panel.sig_accept_requested.connect(self._on_accept)
        self.panel.sig_dismiss_requested.connect(self._on_dismiss)
        self.panel.sig_router_retrain_requested.connect(self._on_router_retrain)
        bridge.sig_decision_made.connect(self._on_decision)
        bridge.sig_build_progressed.connect(self._on_build)
        window.tabs.currentChanged.connect(self._on_tab)

    def start(self) -> None:
        """The engine is up: load once."""
        self.started = True
        self.load()

    def _on_tab(self, index: int) -> None:
        if self.started and self.window.tabs.widget(index) is self.panel:
            self.load()

    def _on_decision(self, event: Decision) -> None:
        if self.started and event.kind.startswith(KINDS):
            self.timer.start()

    def load(self) -> None:
        """Read specialists, the chosen one's variants and decisions, and the proposals."""
        if self._loading or not self.started:
            return
        self._loading = True
        chosen = self.panel.variants.specialist

        def body() -> dict[str, Any]:
            ids = [s.id for s in self.orch.specialists()]
            specialist = chosen if chosen in ids else (ids[0] if ids else "")
            variants = self.orch.variants(specialist) if specialist else []
            decisions = [
                d for d in self.orch.decisions(500) if d.kind.startswith("variant_") and d.subject == specialist
            ]
            counts = self.orch.example_counts(specialist) if specialist else {}
            growth = self.orch.example_growth(specialist) if specialist else []
            router = self.orch.router_history()
            return {
                "ids": ids,
                "specialist": specialist,
                "variants": variants,
                "decisions": decisions,
                "proposals": self.orch.proposals(),
                "counts": counts,
                "growth": growth,
                "router": router,
            }

        def done(result: dict[str, Any]) -> None:
            self._loading = False
            self.loads += 1
            self.panel.variants.set_specialists(result["ids"])
            self.panel.variants.set_variants(result["specialist"], result["variants"], result["decisions"])
            self.panel.variants.set_examples(result["specialist"], result["counts"], result["growth"])
            self.panel.proposals.set_proposals(result["proposals"])
            if self.panel.router.retrain_button.isEnabled():  # a retrain in progress keeps its message
                self.panel.router.set_history(result["router"])
            if self.panel.variants.specialist != result["specialist"]:
                self.timer.start()  # the user picked another one meanwhile

        def failed(message: str) -> None:
            self._loading = False
            self.window.show_message(f"Improvements unavailable: {message}")

        run_op(body, done, failed, self)

    def _on_accept(self, proposal_id: str) -> None:
        card = self.panel.proposals.cards.get(proposal_id)
        if card is None:
            return
        name = card.name
        self._accepting[name] = proposal_id  # build events name the specialist, not the proposal
        self.panel.proposals.accepting(proposal_id)
        self.window.show_message(f"Accepting proposal {proposal_id}: installing and building…")

        def done(view: Any) -> None:
            self._accepting.pop(name, None)
            self.panel.proposals.set_progress(
                proposal_id, 1.0, f"Accepted: runs as specialist {view.specialist}", done=True
            )
            self.window.show_message(f"Specialist {view.specialist} is ready")
            self.load()

        def failed(message: str) -> None:
            self._accepting.pop(name, None)
            self.panel.proposals.set_progress(proposal_id, None, message, done=True, error=message)
            self.window.show_message(f"Accepting {proposal_id} failed: {message}")
            self.load()

        run_op(lambda: self.orch.accept_proposal(proposal_id), done, failed, self)

    def _on_dismiss(self, proposal_id: str) -> None:
        def done(view: Any) -> None:
            self.window.show_message(f"Dismissed {view.name}: its kind of task is not proposed again")
            self.load()

        def failed(message: str) -> None:
            self.window.show_message(f"Dismiss failed: {message}")

        run_op(lambda: self.orch.dismiss_proposal(proposal_id), done, failed, self)

    def _on_router_retrain(self) -> None:
        self.panel.router.set_busy(True, "Retraining the router from its stored feedback…")

        def done(view: Any) -> None:
            self.panel.router.set_busy(False)
            self.window.show_message(view.reason)
            self.load()

        def failed(message: str) -> None:
            self.panel.router.set_busy(False, f"Retrain failed: {message}")
            self.window.show_message(f"Router retrain failed: {message}")

        run_op(self.orch.retrain_router, done, failed, self)

    def _on_build(self, event: ImageBuildProgress) -> None:
        proposal_id = self._accepting.get(event.specialist)
        if proposal_id is not None:
            self.panel.proposals.set_progress(proposal_id, event.fraction, event.line, event.done, event.error)

    def close(self) -> None:
        """Stop the debounce timer."""
        self.timer.stop()
        self.started = False
