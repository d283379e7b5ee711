"""Test-wide setup: offscreen Qt, and real services that must exist under CI.

Under ``CI=true`` a test that needs Docker, Ollama or PostgreSQL fails when the service is
missing; on a developer machine it is skipped with the reason.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


def require_service(name: str, problem: str | None) -> None:
    """Fail under CI, skip elsewhere, when ``problem`` says a service is missing."""
    if problem is None:
        return
    message = f"{name} is required but unavailable: {problem}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + " (CI=true: a missing service is a failure)")
    pytest.skip(message)
