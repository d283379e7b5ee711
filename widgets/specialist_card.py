"""One specialist as a card: identity, live state, today's figures, lifecycle buttons.

The card accepts dropped files and emits :attr:`SpecialistCard.sig_files_dropped`; what
happens next (checks, the "what should it do?" prompt, the task) is decided by ``app.ui``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.format import fmt_bytes, fmt_cost, fmt_ms, fmt_pct, state_colour
from widgets.icons import icon

__all__ = ["SpecialistCard", "local_paths"]

STATE_LABELS = {
    "not_built": "not built",
    "building": "building…",
    "stopped": "stopped",
    "starting": "starting…",
    "running": "running",
    "paused": "paused",
    "quarantined": "quarantined",
    "unhealthy": "unhealthy",
}

STATE_TIPS = {
    "not_built": "No image yet: build it with the hammer, or start a container (builds first).",
    "building": "The image is being built; the Activity tab streams the build log.",
    "stopped": "Image built, no container running. Start one with ▶ or just give it a task.",
    "starting": "A container is starting and will answer once its socket replies to a ping.",
    "running": "Containers are up and answering; ×N = how many replicas.",
    "unhealthy": "A container stopped answering its health ping; open Details for its logs.",
    "paused": "Kept warm: frozen with docker pause (no CPU, memory kept); the next task resumes it in milliseconds.",
    "quarantined": "Its containers kept crashing, so nothing of it starts until you release it (see the reason below).",
}

# (key, caption, tooltip) of each figure, in grid order.
FIGURES = [
    ("replicas", "Replicas", "Running containers / the most this specialist may scale to."),
    ("cpu", "CPU", "CPU use summed over this specialist's containers (100 % = one core)."),
    ("memory", "Memory", "Resident memory summed over this specialist's containers."),
    ("latency", "Last latency", "Wall time of the most recent task, from dispatch to result."),
    ("tasks", "Tasks today", "Tasks this specialist ran since midnight (local time)."),
    ("success", "Success", "Share of today's finished tasks that succeeded."),
    ("cost", "Cost today", "Notional cost of today's CPU and memory time (rates in Settings)."),
    ("hardening", "Hardening", "Container hardening checks passed (open Details for the list)."),
]


def local_paths(mime: Any) -> list[Path]:
    """Local file paths carried by a drag's mime data (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class SpecialistCard(QFrame):
    """Card for one specialist; call :meth:`set_view` with a SpecialistView-like object."""

    sig_files_dropped = Signal(str, list)
    """Files were dropped on the card: (specialist id, list of :class:`Path`)."""

    sig_build_requested = Signal(str)
    """The user asked to build or rebuild the specialist's image."""

    sig_start_requested = Signal(str)
    """The user asked to start one container of the specialist."""

    sig_stop_requested = Signal(str)
    """The user asked to stop every container of the specialist."""

    sig_scale_requested = Signal(str, int)
    """The user picked a replica count: (specialist id, replicas)."""

    sig_remove_requested = Signal(str)
    """The user asked to remove the specialist's containers (confirmation is the caller's)."""

    sig_details_requested = Signal(str)
    """The user asked to see the specialist's containers, logs and hardening."""

    sig_release_requested = Signal(str)
    """The user asked to lift the crash-loop quarantine of ``specialist_id``."""

    def __init__(self, specialist_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specialist_id = specialist_id
        self.accepted_inputs: tuple[str, ...] = ()
        self.example_tasks: tuple[str, ...] = ()
        self.title = specialist_id
        self.state = "stopped"
        self.max_replicas = 1
        self._view: Any = None
        self.setObjectName("card")
        self.setAcceptDrops(True)
        self.setProperty("dropActive", False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._build_ui()

    # layout --------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 10)
        outer.setSpacing(8)

        head = QHBoxLayout()
        head.setSpacing(10)
        self._icon = QLabel()
        self._icon.setFixedSize(36, 36)
        head.addWidget(self._icon)
        names = QVBoxLayout()
        names.setSpacing(0)
        self._title = QLabel(self.specialist_id)
        self._title.setObjectName("cardTitle")
        self._subtitle = QLabel(self.specialist_id)
        self._subtitle.setObjectName("muted")
        names.addWidget(self._title)
        names.addWidget(self._subtitle)
        head.addLayout(names, 1)
        self._pill = QLabel()
        self._pill.setObjectName("pill")
        self._pill.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._pill.setToolTip("Lifecycle state of this specialist's containers.")
        head.addWidget(self._pill, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(head)

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self._figures: dict[str, QLabel] = {}
        for index, (key, caption, tip) in enumerate(FIGURES):
            row, col = divmod(index, 4)
            cap = QLabel(caption)
            cap.setObjectName("figureCaption")
            value = QLabel("–")
            value.setObjectName("figure")
            for label in (cap, value):
                label.setToolTip(tip)
            grid.addWidget(cap, row * 2, col)
            grid.addWidget(value, row * 2 + 1, col)
            self._figures[key] = value
        outer.addLayout(grid)

        self._quarantine = QWidget()
        self._quarantine.setObjectName("quarantineBanner")
        banner = QHBoxLayout(self._quarantine)
        banner.setContentsMargins(8, 4, 4, 4)
        self._quarantine_text = QLabel()
        self._quarantine_text.setWordWrap(True)
        self._quarantine_text.setObjectName("warningText")
        banner.addWidget(self._quarantine_text, 1)
        self._release_btn = QPushButton("Release")
        self._release_btn.setToolTip("Let this specialist start containers again (fix the cause first)")
        self._release_btn.clicked.connect(lambda: self.sig_release_requested.emit(self.specialist_id))
        banner.addWidget(self._release_btn, 0, Qt.AlignmentFlag.AlignTop)
        self._quarantine.setVisible(False)
        outer.addWidget(self._quarantine)

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self._drop_hint = QLabel("Drop files here")
        self._drop_hint.setObjectName("muted")
        buttons.addWidget(self._drop_hint, 1)
        self._build_btn = self._tool("build", "Build / rebuild image", self.sig_build_requested)
        self._start_btn = self._tool("play", "Start a container", self.sig_start_requested)
        self._stop_btn = self._tool("stop", "Stop all containers", self.sig_stop_requested)
        self._scale_btn = QToolButton()
        self._scale_btn.setIcon(icon("scale"))
        self._scale_btn.setToolTip("Scale: choose how many containers run")
        self._scale_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._scale_btn.setAutoRaise(True)
        self._scale_menu = QMenu(self._scale_btn)
        self._scale_btn.setMenu(self._scale_menu)
        self._details_btn = self._tool("logs", "Containers, logs, hardening", self.sig_details_requested)
        self._remove_btn = self._tool("trash", "Remove containers", self.sig_remove_requested)
        for button in (
            self._build_btn,
            self._start_btn,
            self._stop_btn,
            self._scale_btn,
            self._details_btn,
            self._remove_btn,
        ):
            buttons.addWidget(button)
        outer.addLayout(buttons)

    def _tool(self, icon_name: str, tip: str, signal: Any) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: signal.emit(self.specialist_id))
        return button

    # data ----------------------------------------------------------------------------------
    def set_view(self, view: Any) -> None:
        """Show a SpecialistView-like object (attributes as in ``app.engine.core.views``).

        The panel refreshes every few seconds; an unchanged view costs nothing, and only
        the parts that changed are touched (a stylesheet or an icon render re-polishes the
        widget, which is what made idle refreshes expensive).
        """
        if view == self._view:
            return
        old, self._view = self._view, view
        self.title = view.title
        self.state = view.state
        self.accepted_inputs = tuple(view.accepted_inputs)
        self.example_tasks = tuple(view.example_tasks)
        self.max_replicas = max(1, int(view.max_replicas))
        if old is None or (old.title, old.id, old.icon, old.description, old.accepted_inputs, old.needs_network) != (
            view.title,
            view.id,
            view.icon,
            view.description,
            view.accepted_inputs,
            view.needs_network,
        ):
            self._set_identity(view)
        text = STATE_LABELS.get(view.state, view.state)
        if view.state == "running" and view.replicas > 1:
            text = f"running ×{view.replicas}"
        self._pill.setText(text)
        if old is None or old.state != view.state:
            self._pill.setStyleSheet(
                f"background: {state_colour(view.state)}; color: white; border-radius: 9px;"
                " padding: 2px 10px; font-weight: 600;"
            )
            self._pill.setToolTip(f"{STATE_TIPS.get(view.state, 'Lifecycle state.')}")
        f = self._figures
        paused = int(getattr(view, "paused", 0))
        warm = f" ({paused} paused)" if paused else ""
        f["replicas"].setText(f"{view.replicas - paused} / {view.max_replicas}{warm}")
        quarantine = str(getattr(view, "quarantine", "") or "")
        self._quarantine.setVisible(bool(quarantine))
        self._quarantine_text.setText(quarantine)
        running = view.replicas > 0
        f["cpu"].setText(f"{view.cpu_percent:.0f} %" if running else "–")
        f["memory"].setText(fmt_bytes(view.memory_bytes) if running else "–")
        f["latency"].setText(fmt_ms(view.last_latency_ms))
        f["tasks"].setText(str(view.tasks_today))
        f["success"].setText(fmt_pct(view.success_rate))
        f["cost"].setText(fmt_cost(view.cost_today))
        f["hardening"].setText(view.hardening_score or "–")
        built = view.state != "not_built"
        # starting a specialist without an image builds it first (the state tooltip says so)
        self._start_btn.setEnabled(view.state not in ("building", "starting"))
        self._stop_btn.setEnabled(running)
        self._remove_btn.setEnabled(running)
        self._build_btn.setToolTip("Rebuild image" if built else "Build image")
        if old is None or (old.replicas, old.max_replicas) != (view.replicas, view.max_replicas):
            self._fill_scale_menu(view.replicas)

    def _set_identity(self, view: Any) -> None:
        self._title.setText(view.title)
        self._subtitle.setText(view.id + (" · network" if getattr(view, "needs_network", False) else ""))
        self._icon.setPixmap(icon(view.icon or view.id).pixmap(QSize(36, 36)))
        self.setToolTip(view.description)
        kinds = ", ".join(self.accepted_inputs) if self.accepted_inputs else "text only"
        shown = " ".join(self.accepted_inputs[:3]) if self.accepted_inputs else "text only"
        more = len(self.accepted_inputs) - 3
        self._drop_hint.setText(f"Drop files · {shown}" + (f" +{more}" if more > 0 else ""))
        self._drop_hint.setToolTip(f"Drop files here to give {view.title} a task. Accepts: {kinds}.")

    def _fill_scale_menu(self, replicas: int) -> None:
        self._scale_menu.clear()
        for n in range(0, self.max_replicas + 1):
            action = self._scale_menu.addAction(f"{n} replica{'s' if n != 1 else ''}")
            action.setCheckable(True)
            action.setChecked(n == replicas)
            action.triggered.connect(lambda _=False, n=n: self.sig_scale_requested.emit(self.specialist_id, n))

    def figure_text(self, key: str) -> str:
        """Displayed text of one figure (for tests and accessibility)."""
        return self._figures[key].text()

    def pill_text(self) -> str:
        """Displayed state text."""
        return self._pill.text()

    # drag and drop -------------------------------------------------------------------------
    def _set_drop_active(self, active: bool) -> None:
        self.setProperty("dropActive", active)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self._set_drop_active(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self._set_drop_active(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self._set_drop_active(False)
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.sig_files_dropped.emit(self.specialist_id, paths)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.sig_details_requested.emit(self.specialist_id)
        super().mouseDoubleClickEvent(event)
