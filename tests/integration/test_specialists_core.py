"""Numerical, code-execution and database specialists as real hardened containers.

Images come from the engine's :class:`~app.engine.runtime.images.ImageBuilder` (tagged by
content hash, so a re-run reuses them) and containers from its lifecycle and Docker runtime,
with the hardening of docs/ARCHITECTURE.md (checked on each container); tasks go over the
engine's socket channel (``tests/integration/specialist_fixtures.py``). Every golden case
(explicit ones as text, planned ones with the plan they carry) must pass the checks of
``app.engine.evaluation``; hostile code must end with a specific error and leave the container
able to run the next task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.engine.evaluation import check
from tests.integration.specialist_fixtures import Box, Fleet, golden_cases, run_golden

CORE = ("numerical", "code-execution", "database")

pytestmark = pytest.mark.docker


@pytest.fixture
def specialist(fleet: Fleet) -> Iterator[Callable[[str], Box]]:
    """Factory for started specialists; every container is removed afterwards."""
    started: list[Box] = []

    def start(name: str) -> Box:
        box = fleet.start(name)
        started.append(box)
        return box

    yield start
    for box in started:
        box.close()


@pytest.mark.parametrize("name", CORE)
def test_golden_suite_passes(specialist: Callable[[str], Box], name: str) -> None:
    box = specialist(name)
    pong = box.request({"v": 1, "kind": "ping"})
    assert pong["ok"] and pong["specialist"] == name
    print(f"{name}: idle rss {pong['rss_kb']} KiB")
    assert pong["rss_kb"] < 40 * 1024, "an idle container should stay under 40 MB"
    cases = golden_cases(name)
    failures = []
    for case in cases:
        if case.path == "planned" and case.plan is None:
            continue  # needs the Ollama planner; covered by the engine chain tests
        outcome = check(case, run_golden(box, case))
        if not outcome.passed:
            failures.append(f"{case.id}: {outcome.detail}")
    print(f"{name}: {len(cases) - len(failures)}/{len(cases)} golden cases passed")
    assert not failures, "\n".join(failures)


def test_runtime_protocol_errors(specialist: Callable[[str], Box]) -> None:
    box = specialist("numerical")
    assert box.request({"v": 2, "kind": "ping"})["error"]["kind"] == "version"
    assert box.request({"v": 1, "kind": "dance"})["error"]["kind"] == "unsupported"
    assert box.send_line(b"{not json\n")["error"]["kind"] == "bad_input"
    bad = box.task("x", plan={"op": "teleport"})
    assert bad["error"]["kind"] == "bad_plan" and "op" in bad["error"]["message"]
    assert box.task("integrate x^2 from 0 to 3")["data"]["value"] == 9


HOSTILE = [
    ("while True:\n    pass", ("limit", "timeout"), ("cpu", "wall-clock")),
    ("import os\nwhile True:\n    os.fork()", ("limit", "timeout"), ("process", "wall-clock")),
    ("x = bytearray(10**10)", ("limit",), ("memory",)),
    (
        "with open('big.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'x' * 2**20)",
        ("limit",),
        ("file-size",),
    ),
    (
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('/var/run/docker.sock')",
        ("forbidden",),
        ("docker socket",),
    ),
    ("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=3)", ("forbidden",), ("network",)),
]


@pytest.mark.parametrize(
    ("code", "kinds", "words"),
    HOSTILE,
    ids=["busy-loop", "fork-bomb", "memory-bomb", "write-1gb", "docker-sock", "network"],
)
def test_code_execution_hostile_code_is_contained(
    specialist: Callable[[str], Box], code: str, kinds: tuple[str, ...], words: tuple[str, ...]
) -> None:
    box = specialist("code-execution")
    bad = box.task(code, timeout_s=8.0)
    assert not bad["ok"], bad["answer"]
    assert bad["error"]["kind"] in kinds, bad["error"]
    assert any(w in bad["error"]["message"].lower() for w in words), bad["error"]
    after = box.task("print(6 * 7)", timeout_s=20.0)
    assert after["ok"] and after["answer"] == "42", after
    survivors = box.processes()
    assert len(survivors) <= 3, f"processes left behind: {survivors}"


def test_code_execution_env_holds_no_secrets(specialist: Callable[[str], Box]) -> None:
    box = specialist("code-execution")
    own = box.task("import os\nprint(sorted(os.environ))")
    assert own["ok"]
    assert "SWITCHBOARD" not in own["answer"]
    init_env = box.task("print(open('/proc/1/environ').read().replace('\\0', '\\n'))")
    # PID 1 (docker-init) runs as the same uid, so its environment is readable; what matters
    # is that it holds only the non-secret SWITCHBOARD_* settings and image defaults.
    text = init_env["stdout"] if init_env["ok"] else ""
    for word in ("PASSWORD", "TOKEN", "SECRET", "API_KEY", "AWS_"):
        assert word not in text.upper()
