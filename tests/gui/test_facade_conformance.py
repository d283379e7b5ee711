"""The real orchestrator and the GUI tests' fake both satisfy the one facade protocol.

mypy checks the assignments below statically (``make lint``); the test checks at run time that
every protocol method exists on both with the same parameter names, so the fake cannot drift.
"""

from __future__ import annotations

import inspect

from app.engine.core.facade import Facade
from app.engine.orchestrator import Orchestrator
from tests.gui.fake_orchestrator import FakeOrchestrator


def _as_facade(real: Orchestrator, fake: FakeOrchestrator) -> tuple[Facade, Facade]:
    return real, fake  # mypy: both must be structurally a Facade


def _protocol_methods() -> list[str]:
    return [n for n, v in vars(Facade).items() if inspect.isfunction(v) and not n.startswith("_")]


def test_real_and_fake_implement_every_facade_method_with_the_same_parameters() -> None:
    methods = _protocol_methods()
    assert "submit" in methods and "fix" in methods and len(methods) > 20
    for impl in (Orchestrator, FakeOrchestrator):
        for name in methods:
            assert hasattr(impl, name), f"{impl.__name__} lacks {name}"
            wanted = [p for p in inspect.signature(getattr(Facade, name)).parameters if p != "self"]
            got = list(inspect.signature(getattr(impl, name)).parameters)
            missing = [p for p in wanted if p not in got]
            assert not missing, f"{impl.__name__}.{name} lacks parameters {missing}"
