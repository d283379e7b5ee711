"""A scrolling column of :class:`SpecialistCard` views, keyed by specialist id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from widgets.specialist_card import SpecialistCard

__all__ = ["CardGrid"]


class CardGrid(QScrollArea):
    """Cards for every specialist; re-emits each card's requests with the specialist id."""

    sig_files_dropped = Signal(str, list)
    """Files dropped on a card: (specialist id, list of Path)."""

    sig_build_requested = Signal(str)
    """Build or rebuild a specialist's image."""

    sig_start_requested = Signal(str)
    """Start one container of a specialist."""

    sig_stop_requested = Signal(str)
    """Stop every container of a specialist."""

    sig_scale_requested = Signal(str, int)
    """Scale a specialist to (id, replicas)."""

    sig_remove_requested = Signal(str)
    """Remove a specialist's containers."""

    sig_details_requested = Signal(str)
    """Show a specialist's containers and details."""

    sig_release_requested = Signal(str)
    """Forwarded from a card: lift the quarantine of a specialist."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardGrid")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self._inner.setObjectName("cardGridInner")
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(10, 10, 10, 10)
        self._layout.setSpacing(10)
        self._empty = QLabel("Loading specialists…")
        self._empty.setObjectName("muted")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.cards: dict[str, SpecialistCard] = {}

    def set_specialists(self, views: Iterable[Any]) -> None:
        """Create or update one card per view, in the given order; drop cards that vanished."""
        views = list(views)
        seen = set()
        for position, view in enumerate(views):
            seen.add(view.id)
            card = self.cards.get(view.id)
            if card is None:
                card = self._new_card(view.id)
                self._layout.insertWidget(position, card)
            card.set_view(view)
        for gone in set(self.cards) - seen:
            self.cards.pop(gone).deleteLater()
        self._empty.setVisible(not self.cards)
        if not self.cards:
            self._empty.setText("No specialists found. Check the specialists folder in Settings.")

    def _new_card(self, specialist_id: str) -> SpecialistCard:
        card = SpecialistCard(specialist_id, self._inner)
        card.sig_files_dropped.connect(self.sig_files_dropped)
        card.sig_build_requested.connect(self.sig_build_requested)
        card.sig_start_requested.connect(self.sig_start_requested)
        card.sig_stop_requested.connect(self.sig_stop_requested)
        card.sig_scale_requested.connect(self.sig_scale_requested)
        card.sig_remove_requested.connect(self.sig_remove_requested)
        card.sig_details_requested.connect(self.sig_details_requested)
        card.sig_release_requested.connect(self.sig_release_requested)
        self.cards[specialist_id] = card
        return card
