"""The Improvements tab: a specialist's variants side by side, the router's retrains, proposed new specialists.

Plain data in, ``sig_*`` requests out (re-emitted from its three parts); the controller in
``app/ui/improvements_controller.py`` fetches and acts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from widgets.proposal_list import ProposalList
from widgets.router_training import RouterTrainingView
from widgets.variants_view import VariantsView

__all__ = ["ImprovementsPanel"]


class ImprovementsPanel(QWidget):
    """Variants (top), router retraining (middle) and proposals (bottom) in one resizable page."""

    sig_specialist_selected = Signal(str)
    """Show another specialist's variants."""

    sig_accept_requested = Signal(str)
    """Accept a proposal (id)."""

    sig_dismiss_requested = Signal(str)
    """Dismiss a proposal (id)."""

    sig_router_retrain_requested = Signal()
    """Retrain the fast router from its stored feedback now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.variants = VariantsView()
        self.router = RouterTrainingView()
        self.proposals = ProposalList()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("improvementsSplitter")
        self.splitter.setChildrenCollapsible(False)
        for part in (self.variants, self.router, self.proposals):
            host = QWidget()
            host_layout = QVBoxLayout(host)
            host_layout.setContentsMargins(0, 4, 0, 4)
            host_layout.addWidget(part)
            self.splitter.addWidget(host)
        self.splitter.setSizes([400, 260, 400])
        layout.addWidget(self.splitter)
        self.variants.sig_specialist_selected.connect(self.sig_specialist_selected)
        self.proposals.sig_accept_requested.connect(self.sig_accept_requested)
        self.proposals.sig_dismiss_requested.connect(self.sig_dismiss_requested)
        self.router.sig_retrain_requested.connect(self.sig_router_retrain_requested)
