"""The lifecycle controller over the fake runtime, on a clock that moves only when a test says so."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.engine.fleet.controller import FleetController
from app.engine.fleet.policies import make_policy
from tests.unit.fake_runtime import Rig


class FakeClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


def fake_controller(r: Rig, clock: FakeClock, policy: str = "adaptive") -> FleetController:
    """A controller over ``r`` with ``policy``, reading the dispatcher's backlog; its loop is not started."""
    controller = FleetController(r.settings, r.lifecycle, r.bus, policy=make_policy(policy), clock=clock)
    controller.backlog = r.dispatcher.backlog
    return controller


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` (real time) until it holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")
