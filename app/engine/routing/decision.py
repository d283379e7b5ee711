"""The outcome of routing one task, convertible to the facade's :class:`~app.engine.core.views.RouteView`."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.core.views import RouteView

__all__ = ["CLARIFY", "NONE", "ROUTERS", "RouteDecision"]

NONE = "none"
CLARIFY = "clarify"
ROUTERS = ("fast", "llm", "fallback", "override", "explicit", "guard")


@dataclass(frozen=True)
class RouteDecision:
    """Which specialist (or ``none`` / ``clarify``), which router decided, and why in one sentence.

    ``scores`` holds a calibrated probability for every specialist id and ``none``.
    ``complexity`` and ``timeout_factor`` come from the text and the inputs and let the
    dispatcher scale the timeout.
    """

    chosen: str
    scores: dict[str, float]
    router: str
    confidence: float
    latency_ms: float
    rationale: str
    question: str = ""
    schema_violation: bool = False
    fast_latency_ms: float = 0.0
    llm_latency_ms: float | None = None
    complexity: str = "low"
    timeout_factor: float = 1.0
    data: dict[str, object] = field(default_factory=dict)

    @property
    def is_refusal(self) -> bool:
        """True for ``none`` and ``clarify``: nothing will run."""
        return self.chosen in (NONE, CLARIFY)

    def to_view(self) -> RouteView:
        """The frozen view the CLI and GUI show (``guard`` decisions are shown as ``fast``)."""
        router = "fast" if self.router == "guard" else self.router
        return RouteView(
            chosen=self.chosen,
            scores=dict(self.scores),
            router=router,
            confidence=self.confidence,
            latency_ms=self.latency_ms,
            rationale=self.rationale,
            question=self.question,
            schema_violation=self.schema_violation,
        )
