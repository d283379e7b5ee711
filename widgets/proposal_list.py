"""Proposed new specialists: what each is about, how big it grew, examples, Accept / Dismiss.

Plain data in (objects with the fields of ``ProposalView``; this module never imports the
engine), ``sig_accept_requested`` / ``sig_dismiss_requested`` out. Build progress of an accepted
proposal comes in through :meth:`ProposalList.set_progress`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ProposalList"]

SHOWN_EXAMPLES = 4
_ORIGINS = {"refused": "refused", "low_confidence": "low confidence", "failed": "failed"}


class _ProposalCard(QFrame):
    """One proposal with its figures, examples, scaffold folder and buttons."""

    def __init__(self, proposal: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proposal_id = str(proposal.id)
        self.name = str(proposal.name)
        self.setObjectName("card")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)

        head = QHBoxLayout()
        title = QLabel(proposal.title or proposal.name)
        title.setObjectName("cardTitle")
        head.addWidget(title)
        name = QLabel(proposal.name)
        name.setObjectName("muted")
        name.setToolTip(f"Suggested specialist id (proposal {proposal.id})")
        head.addWidget(name)
        head.addStretch(1)
        origins = " · ".join(
            f"{n} {_ORIGINS.get(k, k)}" for k, n in sorted(proposal.origins.items(), key=lambda kv: -kv[1])
        )
        for value, caption in (
            (str(proposal.size), "tasks"),
            (f"+{proposal.growth}", "latest window"),
            (str(proposal.windows), "windows"),
        ):
            cell = QVBoxLayout()
            cell.setSpacing(0)
            number = QLabel(value)
            number.setObjectName("figure")
            number.setAlignment(Qt.AlignmentFlag.AlignRight)
            number.setToolTip(origins)
            label = QLabel(caption)
            label.setObjectName("figureCaption")
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            cell.addWidget(number)
            cell.addWidget(label)
            head.addSpacing(14)
            head.addLayout(cell)
        layout.addLayout(head)

        description = QLabel(proposal.description)
        description.setWordWrap(True)
        layout.addWidget(description)
        examples = list(proposal.examples)
        if examples:
            shown = "".join(f"<li>{_escape(e)}</li>" for e in examples[:SHOWN_EXAMPLES])
            more = len(examples) - SHOWN_EXAMPLES
            box = QLabel(
                f"<ul style='margin: 0 0 0 -20px'>{shown}</ul>"
                + (f"<span>… and {more} more</span>" if more > 0 else "")
            )
            box.setTextFormat(Qt.TextFormat.RichText)
            box.setWordWrap(True)
            box.setObjectName("muted")
            box.setToolTip("\n".join(examples))
            layout.addWidget(box)
        folder = QLabel(f"Scaffold: {proposal.scaffold_dir}" if proposal.scaffold_dir else "")
        folder.setObjectName("figureCaption")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        folder.setToolTip("specialist.toml, Dockerfile and handler.py: edit them before accepting if you like")
        layout.addWidget(folder)

        foot = QHBoxLayout()
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        foot.addWidget(self.status, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(180)
        self.progress.setVisible(False)
        foot.addWidget(self.progress)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setObjectName("danger")
        self.dismiss_button.setToolTip("Hide this proposal; its kind of task is not proposed again")
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("primary")
        self.accept_button.setToolTip("Install the scaffold as a specialist, build its image and make it routable")
        foot.addWidget(self.dismiss_button)
        foot.addWidget(self.accept_button)
        layout.addLayout(foot)
        if proposal.state == "accepted":
            self._accepted(str(proposal.specialist or proposal.name))

    def _accepted(self, specialist: str) -> None:
        self.accept_button.setVisible(False)
        self.dismiss_button.setVisible(False)
        self.status.setText(f"Accepted: runs as specialist {specialist}")

    def busy(self) -> None:
        """Accepting: buttons off, the progress bar on."""
        self.accept_button.setEnabled(False)
        self.dismiss_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # until the first fraction arrives
        self.status.setText("Installing the scaffold…")

    def set_progress(self, fraction: float | None, line: str, done: bool, error: str | None) -> None:
        """Show one build line and its fraction."""
        self.progress.setVisible(not done)
        if fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        self.status.setText(error or line)
        if done and error:
            self.accept_button.setEnabled(True)
            self.dismiss_button.setEnabled(True)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ProposalList(QWidget):
    """The open and accepted proposals, newest first."""

    sig_accept_requested = Signal(str)
    """Accept this proposal (id): install, build and load it."""

    sig_dismiss_requested = Signal(str)
    """Dismiss this proposal (id) for good."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        head = QHBoxLayout()
        title = QLabel("Proposed specialists")
        title.setObjectName("sectionTitle")
        head.addWidget(title)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        head.addSpacing(8)
        head.addWidget(self.summary, 1)
        layout.addLayout(head)
        self.inner = QWidget()
        self.inner_layout = QVBoxLayout(self.inner)
        self.inner_layout.setContentsMargins(0, 0, 6, 0)
        self.inner_layout.setSpacing(10)
        self.inner_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.inner)
        layout.addWidget(scroll, 1)
        self.empty = QLabel(
            "No proposals yet. Tasks that no specialist serves well (refused as out of scope, "
            "routed with low confidence, or failed) are grouped here once a group keeps growing."
        )
        self.empty.setObjectName("muted")
        self.empty.setWordWrap(True)
        self.inner_layout.insertWidget(0, self.empty)
        self.cards: dict[str, _ProposalCard] = {}

    def set_proposals(self, proposals: Sequence[Any]) -> None:
        """Show ``proposals``; a card being accepted keeps its progress."""
        busy = {
            pid
            for pid, card in self.cards.items()
            if not card.accept_button.isEnabled() and card.accept_button.isVisible()
        }
        for card in self.cards.values():
            card.deleteLater()
        self.cards = {}
        for i, proposal in enumerate(proposals):
            card = _ProposalCard(proposal)
            card.accept_button.clicked.connect(
                lambda _=False, pid=card.proposal_id: self.sig_accept_requested.emit(pid)
            )
            card.dismiss_button.clicked.connect(
                lambda _=False, pid=card.proposal_id: self.sig_dismiss_requested.emit(pid)
            )
            if card.proposal_id in busy and proposal.state == "open":
                card.busy()
            self.inner_layout.insertWidget(i + 1, card)
            self.cards[card.proposal_id] = card
        self.empty.setVisible(not proposals)
        open_ = sum(1 for p in proposals if p.state == "open")
        self.summary.setText(f"{open_} open · {len(proposals) - open_} accepted" if proposals else "")

    def accepting(self, proposal_id: str) -> None:
        """An accept request is under way for ``proposal_id``."""
        card = self.cards.get(proposal_id)
        if card is not None:
            card.busy()

    def set_progress(
        self, proposal_id: str, fraction: float | None, line: str, done: bool = False, error: str | None = None
    ) -> None:
        """Build progress of an accepted proposal's image."""
        card = self.cards.get(proposal_id)
        if card is not None:
            card.set_progress(fraction, line, done, error)
