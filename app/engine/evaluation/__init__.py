"""Evaluation of specialists: golden suites and their checks."""

from app.engine.evaluation.golden_checks import (
    CheckOutcome,
    GoldenCase,
    GoldenCheck,
    GoldenError,
    check,
    load_golden,
)

__all__ = ["CheckOutcome", "GoldenCase", "GoldenCheck", "GoldenError", "check", "load_golden"]
