"""Numerical, code-execution and database specialists as real hardened containers.

Images are built with the docker SDK on the runtime image and tagged by a hash of their build
context plus the parent image id, so a re-run reuses them. Each container runs with the
hardening of docs/ARCHITECTURE.md and is driven over its Unix socket in a temporary exchange
folder. Every golden case (explicit ones as text, planned ones with the plan they carry) must
pass the checks of ``app.engine.evaluation``; hostile code must end with a specific error and
leave the container able to run the next task.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.evaluation import check, load_golden
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
SPECIALISTS = ROOT / "specialists"
BASE_IMAGE = os.environ.get("SWITCHBOARD_BASE_IMAGE", "switchboard-base:bookworm-py311-1")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
OWNER = "specialists-core"
LABELS = {"io.switchboard.managed": "true", "io.switchboard.role": "test",
          "io.switchboard.test-owner": OWNER}
CORE = ("numerical", "code-execution", "database")

pytestmark = pytest.mark.docker


def _client() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=900)
        client.ping()
    except Exception as exc:  # any failure means no usable engine
        require_service("Docker", f"{type(exc).__name__}: {exc}")
    return client


def _build(client: Any, folder: Path, repo: str, arg: str, parent: str, specialist: str) -> str:
    """Build ``folder`` as ``repo:<hash12>`` unless that tag already exists."""
    ctx = Path(tempfile.mkdtemp(prefix="sb-core-ctx-"))
    try:
        shutil.copytree(folder, ctx, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (ctx / "certs").mkdir(exist_ok=True)
        digest = hashlib.sha256(client.images.get(parent).id.encode())
        for path in sorted(p for p in ctx.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(ctx)).encode() + b"\0" + path.read_bytes())
        if HOST_CA.exists():
            shutil.copy(HOST_CA, ctx / "certs" / "ca.crt")
        tag = f"{repo}:{digest.hexdigest()[:12]}"
        try:
            client.images.get(tag)
            return tag
        except Exception:  # not built yet
            pass
        started = time.monotonic()
        for chunk in client.api.build(
            path=str(ctx), tag=tag, buildargs={arg: parent}, rm=True, forcerm=True, decode=True,
            labels={"io.switchboard.managed": "true", "io.switchboard.specialist": specialist,
                    "io.switchboard.source-hash": digest.hexdigest()},
        ):
            if "error" in chunk:
                raise AssertionError(f"build of {folder.name} failed: {chunk['error']}")
        print(f"built {tag} in {time.monotonic() - started:.1f} s")
        return tag
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


@pytest.fixture(scope="session")
def core_images() -> dict[str, str]:
    """Runtime plus the three core images, built once per session (reused by tag)."""
    client = _client()
    runtime = _build(client, SPECIALISTS / "runtime", "switchboard-runtime", "BASE_IMAGE",
                     BASE_IMAGE, "runtime")
    images = {"runtime": runtime}
    for name in CORE:
        images[name] = _build(client, SPECIALISTS / name, f"switchboard/{name}", "RUNTIME_IMAGE",
                              runtime, name)
    return images


class Specialist:
    """A hardened container of one specialist and a socket connection to it."""

    def __init__(self, client: Any, image: str, specialist: str, memory_mb: int = 512) -> None:
        self.client = client
        self.specialist = specialist
        self.exchange = Path(tempfile.mkdtemp(prefix="sb-core-ex-"))
        for sub in ("sock", "in", "out", "data"):
            (self.exchange / sub).mkdir()
            os.chown(self.exchange / sub, 10001, 10001)
        (self.exchange / "sock").chmod(0o700)
        self.container = client.containers.run(
            image, detach=True, name=f"sb-test-{specialist}-{uuid.uuid4().hex[:8]}",
            user="10001:10001", read_only=True, tmpfs={"/tmp": "size=128m,mode=1777"},
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"],
            mem_limit=f"{memory_mb}m", memswap_limit=f"{memory_mb}m", nano_cpus=1_000_000_000,
            pids_limit=64, init=True, network_mode="none",
            environment={"SWITCHBOARD_SPECIALIST": specialist,
                         "SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock",
                         "SWITCHBOARD_HANDLER": "/opt/specialist/handler.py"},
            volumes={str(self.exchange / "sock"): {"bind": "/run/switchboard", "mode": "rw"},
                     str(self.exchange / "in"): {"bind": "/input", "mode": "ro"},
                     str(self.exchange / "out"): {"bind": "/output", "mode": "rw"},
                     str(self.exchange / "data"): {"bind": "/data", "mode": "rw"}},
            labels={**LABELS, "io.switchboard.specialist": specialist},
        )
        self.sock = self._connect()
        self.reader = self.sock.makefile("rb")

    def _connect(self) -> socket.socket:
        path = str(self.exchange / "sock" / "specialist.sock")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(path)
                conn.settimeout(180)
                return conn
            except OSError:
                conn.close()
                time.sleep(0.05)
        raise AssertionError(f"{self.specialist} never listened: {self.container.logs()!r}")

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        line = self.reader.readline()
        assert line, f"connection closed; logs: {self.container.logs()[-2000:]!r}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def task(self, text: str, files: list[Path] = (), plan: dict[str, Any] | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        task_id = uuid.uuid4().hex[:12]
        folder = self.exchange / "in" / task_id
        folder.mkdir()
        inputs = []
        for file in files:
            shutil.copy(file, folder / file.name)
            inputs.append({"name": file.name, "path": f"/input/{task_id}/{file.name}",
                           "bytes": file.stat().st_size,
                           "sha256": hashlib.sha256(file.read_bytes()).hexdigest()})
        return self.request({"v": 1, "kind": "task", "id": task_id, "text": text,
                             "inputs": inputs, "plan": plan, "output_dir": f"/output/{task_id}",
                             "timeout_s": timeout_s, "max_output_bytes": 1048576})

    def close(self) -> None:
        try:
            self.sock.close()
            self.container.remove(force=True, v=True)
        finally:
            subprocess_free_rmtree(self.exchange)


def subprocess_free_rmtree(path: Path) -> None:
    """Remove the exchange folder (files in it belong to uid 10001; the tests run as root)."""
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def specialist(core_images: dict[str, str]) -> Iterator[Any]:
    """Factory for started specialists; every container is removed afterwards."""
    client = _client()
    started: list[Specialist] = []

    def start(name: str) -> Specialist:
        spec = Specialist(client, core_images[name], name)
        started.append(spec)
        return spec

    yield start
    for spec in started:
        spec.close()
    for leftover in client.containers.list(all=True, filters={"label": f"io.switchboard.test-owner={OWNER}"}):
        leftover.remove(force=True, v=True)


@pytest.mark.parametrize("name", CORE)
def test_golden_suite_passes(specialist: Any, name: str) -> None:
    spec = specialist(name)
    pong = spec.request({"v": 1, "kind": "ping"})
    assert pong["ok"] and pong["specialist"] == name
    print(f"{name}: idle rss {pong['rss_kb']} KiB")
    assert pong["rss_kb"] < 40 * 1024, "an idle container should stay under 40 MB"
    cases = load_golden(SPECIALISTS / name / "golden.jsonl")
    failures = []
    for case in cases:
        if case.path == "planned" and case.plan is None:
            continue  # needs the Ollama planner; covered by the engine chain tests
        files = [SPECIALISTS / name / f for f in case.files]
        response = spec.task(case.text, files, plan=case.plan)
        outcome = check(case, response)
        if not outcome.passed:
            failures.append(f"{case.id}: {outcome.detail}")
    print(f"{name}: {len(cases) - len(failures)}/{len(cases)} golden cases passed")
    assert not failures, "\n".join(failures)


def test_runtime_protocol_errors(specialist: Any) -> None:
    spec = specialist("numerical")
    assert spec.request({"v": 2, "kind": "ping"})["error"]["kind"] == "version"
    assert spec.request({"v": 1, "kind": "dance"})["error"]["kind"] == "unsupported"
    spec.sock.sendall(b"{not json\n")
    assert json.loads(spec.reader.readline())["error"]["kind"] == "bad_input"
    bad = spec.task("x", plan={"op": "teleport"})
    assert bad["error"]["kind"] == "bad_plan" and "op" in bad["error"]["message"]
    assert spec.task("integrate x^2 from 0 to 3")["data"]["value"] == 9


HOSTILE = [
    ("while True:\n    pass", ("limit", "timeout"), ("cpu", "wall-clock")),
    ("import os\nwhile True:\n    os.fork()", ("limit", "timeout"), ("process", "wall-clock")),
    ("x = bytearray(10**10)", ("limit",), ("memory",)),
    ("with open('big.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'x' * 2**20)",
     ("limit",), ("file-size",)),
    ("import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('/var/run/docker.sock')",
     ("forbidden",), ("docker socket",)),
    ("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=3)",
     ("forbidden",), ("network",)),
]


@pytest.mark.parametrize(("code", "kinds", "words"), HOSTILE,
                         ids=["busy-loop", "fork-bomb", "memory-bomb", "write-1gb", "docker-sock", "network"])
def test_code_execution_hostile_code_is_contained(specialist: Any, code: str, kinds: tuple[str, ...],
                                                  words: tuple[str, ...]) -> None:
    spec = specialist("code-execution")
    bad = spec.task(code, timeout_s=8.0)
    assert not bad["ok"], bad["answer"]
    assert bad["error"]["kind"] in kinds, bad["error"]
    assert any(w in bad["error"]["message"].lower() for w in words), bad["error"]
    after = spec.task("print(6 * 7)", timeout_s=20.0)
    assert after["ok"] and after["answer"] == "42", after
    survivors = spec.container.top(ps_args="-o pid,comm")["Processes"]
    assert len(survivors) <= 3, f"processes left behind: {survivors}"


def test_code_execution_env_holds_no_secrets(specialist: Any) -> None:
    spec = specialist("code-execution")
    own = spec.task("import os\nprint(sorted(os.environ))")
    assert own["ok"]
    assert "SWITCHBOARD" not in own["answer"]
    init_env = spec.task("print(open('/proc/1/environ').read().replace('\\0', '\\n'))")
    # PID 1 (docker-init) runs as the same uid, so its environment is readable; what matters
    # is that it holds only the non-secret SWITCHBOARD_* settings and image defaults.
    text = init_env["stdout"] if init_env["ok"] else ""
    for word in ("PASSWORD", "TOKEN", "SECRET", "API_KEY", "AWS_"):
        assert word not in text.upper()
