"""A specialist's variants side by side, with their figures and the decisions about them.

Plain data in (objects with the fields of ``VariantView`` and ``Decision``; this module never
imports the engine), ``sig_specialist_selected`` out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

__all__ = ["VariantsView", "state_label", "wilson"]

# (text, colour) per displayed state; the colours read on both themes
_STATES = {
    "pending": ("pending replay", "#8b95a3"),
    "candidate": ("candidate · on trial", "#d99a2b"),
    "live": ("live", "#2f9e61"),
    "promoted": ("live · promoted", "#2f9e61"),
    "rolled back": ("rolled back", "#d0463c"),
    "replaced": ("replaced", "#8b95a3"),
    "retired": ("retired", "#8b95a3"),
}


def wilson(successes: int, tasks: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of a success rate (``None`` without tasks)."""
    if tasks <= 0:
        return None
    p = successes / tasks
    denom = 1 + z * z / tasks
    centre = (p + z * z / (2 * tasks)) / denom
    half = z * math.sqrt(p * (1 - p) / tasks + z * z / (4 * tasks * tasks)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def state_label(variant: Any) -> str:
    """How a variant's state reads: live / promoted / candidate / pending / rolled back / retired."""
    state = str(variant.state)
    if state == "incumbent":
        return "promoted" if int(variant.version) > 1 else "live"
    if state == "retired":
        reason = str(getattr(variant, "reason", "") or "").lower()
        if reason.startswith("replaced by"):
            return "replaced"
        return "rolled back" if "roll" in reason else "retired"
    return state


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _ago(ts: float) -> str:
    seconds = max(0.0, time.time() - ts)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


class _VariantCard(QFrame):
    """One variant: state chip, model, and its live figures."""

    def __init__(self, variant: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setMinimumWidth(230)
        self.setMaximumWidth(340)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        head = QHBoxLayout()
        title = QLabel(f"v{variant.version}")
        title.setObjectName("cardTitle")
        head.addWidget(title)
        head.addStretch(1)
        self.state = state_label(variant)
        text, colour = _STATES.get(self.state, (self.state, "#8b95a3"))
        chip = QLabel(text)
        chip.setObjectName("stateChip")
        chip.setStyleSheet(
            f"QLabel#stateChip {{ color: {colour}; border: 1px solid {colour}; "
            "border-radius: 9px; padding: 1px 8px; font-size: 8pt; font-weight: 600; }"
        )
        head.addWidget(chip)
        layout.addLayout(head)
        model = QLabel(variant.model_name)
        model.setObjectName("muted")
        model.setToolTip(f"base model {variant.base_model}" + (f"; image {variant.image}" if variant.image else ""))
        layout.addWidget(model)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        interval = wilson(int(variant.successes), int(variant.tasks))
        rate = "—" if variant.success_rate is None else f"{variant.success_rate:.0%}"
        figures = [
            ("tasks", str(variant.tasks), "live tasks served"),
            ("success", rate, "" if interval is None else f"95 % interval {interval[0]:.0%}–{interval[1]:.0%}"),
            ("p95 latency", _ms(variant.p95_ms), ""),
            ("P(better)", "—" if variant.p_better is None else f"{variant.p_better:.2f}", "than the live variant"),
        ]
        self.figures: dict[str, QLabel] = {}
        for i, (caption, value, tip) in enumerate(figures):
            cell = QVBoxLayout()
            cell.setSpacing(0)
            number = QLabel(value)
            number.setObjectName("figure")
            number.setToolTip(tip)
            label = QLabel(caption)
            label.setObjectName("figureCaption")
            cell.addWidget(number)
            cell.addWidget(label)
            if caption == "success" and interval is not None:
                ci = QLabel(f"{interval[0]:.0%}–{interval[1]:.0%}")
                ci.setObjectName("figureCaption")
                ci.setToolTip("95 % Wilson interval of the success rate")
                cell.addWidget(ci)
            grid.addLayout(cell, i // 2, i % 2)
            self.figures[caption] = number
        layout.addLayout(grid)
        if variant.example_ids:
            shots = QLabel(f"{len(variant.example_ids)} few-shot examples")
            shots.setObjectName("muted")
            layout.addWidget(shots)
        if variant.reason:
            text = variant.reason if len(variant.reason) <= 110 else variant.reason[:107].rstrip() + "…"
            reason = QLabel(text)
            reason.setObjectName("figureCaption")
            reason.setWordWrap(True)
            reason.setToolTip(variant.reason)
            layout.addWidget(reason)
        layout.addStretch(1)


class VariantsView(QWidget):
    """Pick a specialist; see its variants as cards side by side and the decision history."""

    sig_specialist_selected = Signal(str)
    """The user picked another specialist: load its variants and decisions."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        head = QHBoxLayout()
        title = QLabel("Variants")
        title.setObjectName("sectionTitle")
        head.addWidget(title)
        head.addSpacing(12)
        self.picker = QComboBox()
        self.picker.setMinimumWidth(200)
        self.picker.setToolTip("Specialist whose variants are shown")
        head.addWidget(self.picker)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        head.addSpacing(8)
        head.addWidget(self.summary, 1)
        layout.addLayout(head)

        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.setSpacing(10)
        self.strip_layout.addStretch(1)  # cards stay on the left, at their own width
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setWidget(self.strip)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = scroll
        layout.addWidget(scroll, 1)

        self.examples_label = QLabel("")
        self.examples_label.setObjectName("muted")
        self.examples_label.setWordWrap(True)
        self.examples_label.setToolTip(
            "The specialist's example bank (worked programs shown to its model) and how its programs did at each "
            "bank size: live tasks, and the latest hold-out run of `switchboard eval natural --split holdout`"
        )
        layout.addWidget(self.examples_label)

        history = QLabel("Decision history")
        history.setObjectName("figureCaption")
        layout.addWidget(history)
        self.history = QListWidget()
        self.history.setWordWrap(True)
        self.history.setToolTip("Creation, replay, promotion and rollback of this specialist's variants, newest first")
        self.history.setMaximumHeight(130)
        layout.addWidget(self.history)
        self.cards: list[_VariantCard] = []
        self.picker.currentTextChanged.connect(self._on_picked)

    @property
    def specialist(self) -> str:
        """The specialist shown."""
        return self.picker.currentText()

    def set_specialists(self, ids: Sequence[str]) -> None:
        """Fill the picker, keeping the current choice when it still exists."""
        current = self.picker.currentText()
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItems(list(ids))
        if current in ids:
            self.picker.setCurrentText(current)
        self.picker.blockSignals(False)
        if self.picker.currentText() != current:
            self._on_picked(self.picker.currentText())

    def set_variants(self, specialist: str, variants: Sequence[Any], decisions: Sequence[Any]) -> None:
        """Show ``variants`` (by version) and the ``decisions`` about them (newest first)."""
        if specialist != self.specialist:
            return  # an answer for a specialist the user has left
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        for variant in sorted(variants, key=lambda v: int(v.version)):
            card = _VariantCard(variant)
            self.strip_layout.insertWidget(len(self.cards), card, 0, Qt.AlignmentFlag.AlignTop)
            self.cards.append(card)
        tallest = max((c.sizeHint().height() for c in self.cards), default=120)
        self.scroll.setMinimumHeight(tallest + self.scroll.horizontalScrollBar().sizeHint().height() + 4)
        on_trial = sum(1 for c in self.cards if c.state == "candidate")
        live = next((v for v in variants if v.state == "incumbent"), None)
        self.summary.setText(
            f"{len(variants)} variant(s)"
            + (f" · live v{live.version}" if live else "")
            + (f" · {on_trial} on trial" if on_trial else "")
        )
        self.history.clear()
        for d in decisions:
            item = QListWidgetItem(f"{_ago(float(d.ts))} · {d.kind.replace('_', ' ')} — {d.reason}")
            item.setToolTip(d.reason)
            self.history.addItem(item)
        if not decisions:
            self.history.addItem(QListWidgetItem("No decisions about this specialist's variants yet."))

    def set_examples(self, specialist: str, counts: dict[str, int], growth: Sequence[Any]) -> None:
        """The example bank's size and the success of programs at each size (smallest first)."""
        if specialist != self.specialist:
            return
        head = (
            f"Examples: {counts.get('seed', 0) + counts.get('feedback', 0)} "
            f"({counts.get('seed', 0)} seed, {counts.get('feedback', 0)} from answers marked correct)"
        )
        steps = []
        for row in growth:
            parts = []
            if row.success_rate is not None:
                parts.append(f"{row.success_rate:.0%} of {row.tasks} tasks")
            if row.eval_accuracy is not None:
                parts.append(f"hold-out {row.eval_accuracy:.0%}")
            steps.append(f"{row.examples} examples → {', '.join(parts)}")
        self.examples_label.setText(head + ("  ·  " + "  ·  ".join(steps) if steps else "  ·  no programs run yet"))

    def _on_picked(self, specialist: str) -> None:
        if specialist:
            self.sig_specialist_selected.emit(specialist)
