"""Hostile programs for the code-execution sandbox (a fresh hardened container per task).

Fork, memory and disk bombs, a loop that ignores SIGTERM plus a daemon that leaves the run's
session, and one program that probes for host secrets, the Docker socket and API, the model
servers, the metadata address and the network, reporting what it reached (it must reach
nothing). Each limit hit must name the limit; no container may outlive its task.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]

BOMBS = [
    ("import os\nwhile True:\n    os.fork()", ("limit", "timeout"), ("process", "wall-clock")),
    ("x = []\nwhile True:\n    x.append(bytearray(64 * 2**20))", ("limit",), ("memory",)),
    (
        "i = 0\nwhile True:\n    open(f'/tmp/fill{i}', 'wb').write(b'x' * 2**24)\n    i += 1",
        ("limit",),
        ("disk space", "file-size"),
    ),
    (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)",
        ("timeout",),
        ("wall-clock",),
    ),
    (
        "import os, signal, time\nif os.fork() == 0:\n    os.setsid()\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    while True:\n        time.sleep(1)\nprint('parent done')",
        (),
        (),
    ),
]


def _sandboxes(engine: Orchestrator) -> list[str]:
    return [c.name for c in engine.containers() if c.specialist == "code-execution"]


@pytest.mark.parametrize(
    ("code", "kinds", "words"),
    BOMBS,
    ids=["fork-bomb", "memory-bomb", "disk-bomb", "ignores-sigterm", "escaped-daemon"],
)
def test_bombs_end_with_the_limit_named_and_leave_nothing_running(
    engine: Orchestrator, code: str, kinds: tuple[str, ...], words: tuple[str, ...], docker_client: Any
) -> None:
    started = time.monotonic()
    outcome = run_task(engine, f"```python\n{code}\n```", "code-execution", timeout_s=12)
    assert time.monotonic() - started < 60, "the limit took too long to bite"
    if kinds:
        assert outcome.view is not None and outcome.view.error_kind in kinds, outcome
        assert any(w in outcome.message.lower() for w in words), outcome
    else:
        assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    container = outcome.view.container
    assert container
    deadline = time.monotonic() + 20
    while container in _sandboxes(engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert container not in _sandboxes(engine), f"{container} outlived its task"
    assert not docker_client.containers.list(all=True, filters={"name": container}), f"{container} still exists"


PROBE = r"""
import json, os, socket, glob
reached = {}
def attempt(name, fn):
    try:
        value = fn()
        reached[name] = repr(value)[:80]
    except Exception as exc:
        pass
def connect(host, port):
    s = socket.create_connection((host, port), timeout=2)
    s.close()
    return "connected"
def read(path):
    with open(path, "rb") as f:
        return f.read(64)
for path in ["/etc/shadow", "/root/.ssh/id_rsa", "/root/.docker/config.json", "/run/secrets",
             "/var/run/docker.sock", "/run/docker.sock", "/proc/1/root/etc/shadow", "/host/etc/passwd"]:
    attempt("read " + path, lambda p=path: read(p) if not os.path.isdir(p) else os.listdir(p))
def unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
    return "connected"
for path in ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock"]:
    attempt("unix " + path, lambda p=path: unix(p))
for host, port in [("127.0.0.1", 11434), ("127.0.0.1", 11436), ("127.0.0.1", 2375), ("172.17.0.1", 2375),
                   ("172.17.0.1", 11434), ("169.254.169.254", 80), ("192.0.2.1", 80), ("1.1.1.1", 53)]:
    attempt(f"tcp {host}:{port}", lambda h=host, p=port: connect(h, p))
attempt("dns example.com", lambda: socket.getaddrinfo("example.com", 80))
attempt("dns host.docker.internal", lambda: socket.getaddrinfo("host.docker.internal", 80))
secrets = [k for k in os.environ if any(w in k.upper() for w in ("TOKEN", "SECRET", "PASSWORD", "KEY", "DOCKER", "OLLAMA"))]
if secrets:
    reached["env"] = secrets
attempt("write /etc", lambda: open("/etc/pwned", "w").write("x"))
attempt("write /opt", lambda: open("/opt/specialist/pwned", "w").write("x"))
print(json.dumps(reached))
"""  # noqa: E501 (program source: its lines are kept as they are)


def test_probes_for_secrets_the_docker_socket_and_the_network_reach_nothing(engine: Orchestrator) -> None:
    outcome = run_task(engine, f"```python\n{PROBE}\n```", "code-execution", timeout_s=25)
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    reached = json.loads(outcome.view.stdout.strip().splitlines()[-1])
    assert reached == {}, f"the sandbox reached: {reached}"


def test_a_symlinked_input_is_refused_and_host_files_stay_out(engine: Orchestrator, user_dir: Any) -> None:
    link = user_dir / "notes.txt"
    link.symlink_to("/etc/hostname")
    outcome = run_task(engine, "print(open('notes.txt').read())", "code-execution", [link])
    expect_refusal(outcome, "notes.txt", "symbolic link")
