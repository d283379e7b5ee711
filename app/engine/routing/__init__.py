"""Task routing: embedded fast router, Ollama LLM router, Thompson-sampling history, eval harness."""

from app.engine.routing.bandit import ThompsonBandit
from app.engine.routing.decision import CLARIFY, NONE, RouteDecision
from app.engine.routing.evaluate import evaluate, load_cases
from app.engine.routing.fast import FastRouter
from app.engine.routing.router import DEFAULT_THRESHOLD, Router

__all__ = [
    "CLARIFY",
    "DEFAULT_THRESHOLD",
    "NONE",
    "FastRouter",
    "RouteDecision",
    "Router",
    "ThompsonBandit",
    "evaluate",
    "load_cases",
]
