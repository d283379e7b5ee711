"""Data-analytics and machine-learning specialists, built and run as real hardened containers.

The images are built on the runtime image with the docker SDK (tagged by a hash of their
build context, so re-runs reuse them), started with the hardening of docs/ARCHITECTURE.md and
driven over the Unix socket in a temporary exchange folder. Every explicit golden case must
pass; broken inputs must fail with ``bad_input`` and a specific message.

The helpers here (``SpecialistContainer``, ``build_specialist``, ``golden_cases``) are also used by
``test_web_scraping.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.evaluation.golden_checks import GoldenCase, check, load_golden
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
SPECIALISTS = ROOT / "specialists"
BASE_IMAGE = os.environ.get("SWITCHBOARD_BASE_IMAGE", "switchboard-base:bookworm-py311-1")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
LABELS = {"io.switchboard.managed": "true", "io.switchboard.role": "test"}

pytestmark = pytest.mark.docker


# -- golden checks: the engine's own (app.engine.evaluation.golden_checks) -------------------
def golden_cases(specialist: str) -> list[GoldenCase]:
    """The specialist's golden suite."""
    return load_golden(SPECIALISTS / specialist / "golden.jsonl")


# -- images ---------------------------------------------------------------------------------
def _docker() -> Any:
    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # any failure means "no usable daemon"
        require_service("Docker", f"{type(exc).__name__}: {exc}")
    return client


def _context(folder: Path) -> tuple[Path, str]:
    """Copy ``folder`` plus ``certs/`` into a temp build context; return it and its hash."""
    ctx = Path(tempfile.mkdtemp(prefix="sb-test-ctx-"))
    shutil.copytree(folder, ctx, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (ctx / "certs").mkdir(exist_ok=True)
    if HOST_CA.exists():
        shutil.copy(HOST_CA, ctx / "certs" / "ca.crt")
    digest = hashlib.sha256()
    for path in sorted(p for p in ctx.rglob("*") if p.is_file() and "certs" not in p.parts):
        digest.update(str(path.relative_to(ctx)).encode() + b"\0" + path.read_bytes() + b"\0")
    return ctx, digest.hexdigest()


def build_image(client: Any, folder: Path, repo: str, buildargs: dict[str, str],
                labels: dict[str, str]) -> tuple[str, float]:
    """Build ``folder`` as ``repo:<hash12>`` unless that tag exists; returns (tag, seconds).

    The hash covers the context files and the parent image id, so a changed source rebuilds
    and an unchanged one is reused (0 s).
    """
    ctx, digest = _context(folder)
    try:
        parent = next(iter(buildargs.values()))
        digest = hashlib.sha256((digest + client.images.get(parent).id).encode()).hexdigest()
        tag = f"{repo}:{digest[:12]}"
        try:
            client.images.get(tag)
            return tag, 0.0
        except Exception:
            pass
        started = time.monotonic()
        log: list[str] = []
        for chunk in client.api.build(path=str(ctx), tag=tag, buildargs=buildargs, rm=True,
                                      forcerm=True, decode=True,
                                      labels={**labels, "io.switchboard.source-hash": digest}):
            if "stream" in chunk:
                log.append(chunk["stream"])
            if "error" in chunk:
                raise AssertionError(f"build of {folder.name} failed: {chunk['error']}\n"
                                     + "".join(log[-30:]))
        return tag, time.monotonic() - started
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


def runtime_image(client: Any) -> str:
    """The shared runtime image, built from ``specialists/runtime`` on the base image."""
    try:
        client.images.get(BASE_IMAGE)
    except Exception:
        require_service("base image", f"{BASE_IMAGE} is missing (packaging/setup/base_image.sh)")
    tag, _ = build_image(client, SPECIALISTS / "runtime", "switchboard-runtime",
                         {"BASE_IMAGE": BASE_IMAGE}, {"io.switchboard.managed": "true"})
    return tag


def build_specialist(client: Any, specialist: str) -> tuple[str, float]:
    """Build (or reuse) ``switchboard/<id>:<hash12>`` on the runtime image."""
    return build_image(client, SPECIALISTS / specialist, f"switchboard/{specialist}",
                       {"RUNTIME_IMAGE": runtime_image(client)},
                       {"io.switchboard.managed": "true", "io.switchboard.specialist": specialist})


# -- containers -----------------------------------------------------------------------------
class SpecialistContainer:
    """One hardened specialist container with its exchange folder, spoken to over the socket."""

    def __init__(self, client: Any, specialist: str, image: str, network: str | None = None) -> None:
        import tomllib

        manifest = tomllib.loads((SPECIALISTS / specialist / "specialist.toml").read_text())
        limits = manifest.get("limits", {})
        self.client = client
        self.specialist = specialist
        self.name = f"sb-{specialist}-{uuid.uuid4().hex[:8]}"
        self.exchange = Path(tempfile.mkdtemp(prefix="sb-test-exchange-"))
        for sub in ("sock", "in", "out"):
            (self.exchange / sub).mkdir()
        for sub in ("sock", "out"):
            os.chown(self.exchange / sub, 10001, 10001)
        os.chmod(self.exchange / "sock", 0o700)
        os.chmod(self.exchange / "in", 0o755)
        self.volume = client.volumes.create(name=f"switchboard-data-test-{uuid.uuid4().hex[:8]}",
                                            labels=LABELS)
        mem = f"{limits.get('memory_mb', 512)}m"
        self.container = client.containers.run(
            image, detach=True, name=self.name, user="10001:10001", read_only=True,
            tmpfs={"/tmp": f"size={limits.get('tmpfs_mb', 64)}m,mode=1777"},
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"], mem_limit=mem,
            memswap_limit=mem, nano_cpus=int(float(limits.get("cpus", 1.0)) * 1e9),
            pids_limit=int(limits.get("pids", 64)), init=True,
            network_mode=network or "none",
            labels={**LABELS, "io.switchboard.specialist": specialist},
            environment={"SWITCHBOARD_SPECIALIST": specialist,
                         "SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock",
                         "SWITCHBOARD_HANDLER": "/opt/specialist/handler.py"},
            volumes={str(self.exchange / "sock"): {"bind": "/run/switchboard", "mode": "rw"},
                     str(self.exchange / "in"): {"bind": "/input", "mode": "ro"},
                     str(self.exchange / "out"): {"bind": "/output", "mode": "rw"},
                     self.volume.name: {"bind": "/data", "mode": "rw"}},
        )
        self.sock_path = self.exchange / "sock" / "specialist.sock"
        self.ping_response = self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sock_path.exists():
                try:
                    return self.request({"v": 1, "kind": "ping"}, timeout=5)
                except OSError:
                    pass
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.1)
        logs = self.container.logs().decode(errors="replace")[-2000:]
        raise AssertionError(f"{self.name} did not answer ping: {logs}")

    def request(self, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """Send one JSON line on a new connection and return the JSON reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(self.sock_path))
            conn.sendall(json.dumps(message).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def task(self, text: str, files: list[Path] = (), plan: dict[str, Any] | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        """Run one task: copy ``files`` into the exchange folder and send the request."""
        task_id = uuid.uuid4().hex
        in_dir = self.exchange / "in" / task_id
        in_dir.mkdir(mode=0o755)
        inputs = []
        for src in files:
            dst = in_dir / src.name
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o644)
            inputs.append({"name": src.name, "path": f"/input/{task_id}/{src.name}",
                           "bytes": dst.stat().st_size,
                           "sha256": hashlib.sha256(dst.read_bytes()).hexdigest()})
        out_dir = self.exchange / "out" / task_id
        out_dir.mkdir()
        os.chown(out_dir, 10001, 10001)
        return self.request({"v": 1, "kind": "task", "id": task_id, "text": text,
                             "inputs": inputs, "plan": plan, "output_dir": f"/output/{task_id}",
                             "timeout_s": timeout_s, "max_output_bytes": 4 * 1024 * 1024},
                            timeout=timeout_s + 30)

    def host_output(self, container_path: str) -> Path:
        """Where an artifact path written in the container lies on the host."""
        return self.exchange / "out" / Path(container_path).relative_to("/output")

    def close(self) -> None:
        """Remove the container, its volume and its exchange folder."""
        try:
            self.container.remove(force=True)
        finally:
            try:
                self.volume.remove(force=True)
            finally:
                shutil.rmtree(self.exchange, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker SDK client, or skip/fail when no daemon answers."""
    client = _docker()
    yield client
    client.close()


def run_golden(box: SpecialistContainer, specialist: str, case: GoldenCase) -> dict[str, Any]:
    """Run one golden case (with its reference plan when it has one)."""
    files = [SPECIALISTS / specialist / f for f in case.files]
    return box.task(case.text, files, plan=case.plan)


# -- data-analytics -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analytics(docker_client: Any) -> Iterator[SpecialistContainer]:
    """A running data-analytics container for this module."""
    image, _ = build_specialist(docker_client, "data-analytics")
    box = SpecialistContainer(docker_client, "data-analytics", image)
    try:
        yield box
    finally:
        box.close()


def test_analytics_idle_ping(analytics: SpecialistContainer) -> None:
    """The idle server answers ping with its identity and a small resident set."""
    pong = analytics.ping_response
    assert pong["ok"] and pong["kind"] == "pong" and pong["specialist"] == "data-analytics"
    assert 0 < pong["rss_kb"] < 60_000, "pandas must be imported lazily"


@pytest.mark.parametrize("case", golden_cases("data-analytics"), ids=lambda c: c.id)
def test_analytics_golden(analytics: SpecialistContainer, case: GoldenCase) -> None:
    """Every golden case passes (planned cases run with their reference plan)."""
    response = run_golden(analytics, "data-analytics", case)
    outcome = check(case, response)
    assert outcome.passed, f"{case.id}: {outcome.detail}"
    if response.get("ok"):
        assert response["path"] == case.path


def test_analytics_chart_is_png(analytics: SpecialistContainer) -> None:
    """``plot`` writes a real PNG under the task's output folder and lists it."""
    response = analytics.task("plot amount by month as bar",
                              [SPECIALISTS / "data-analytics" / "golden" / "sales.csv"])
    assert response["ok"], response
    (artifact,) = [a for a in response["artifacts"] if a["name"] == "chart.png"]
    assert artifact["mime"] == "image/png"
    assert analytics.host_output(artifact["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "groupby('month')" in response["operation"]["text"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5,6,7\n", r"ragged\.csv row 3 has 4 fields .* header has 3"),
        ("bad.csv", b"a,b\n1,2\n\x00\x00\x01,\xff\n", r"bad\.csv: line 3 contains a NUL byte"),
        ("book.xlsx", None, r"book\.xlsx is not a readable Excel workbook"),
        ("evil.zip", None, r"evil\.zip.*'\.\./escape\.csv'.*escape"),
        ("rows.jsonl", b'{"a": 1}\n{"a": 2,}\n', r"rows\.jsonl line 2, column \d+"),
    ],
)
def test_analytics_broken_inputs(analytics: SpecialistContainer, tmp_path: Path, name: str,
                                 content: bytes | None, message: str) -> None:
    """Broken files fail with ``bad_input`` and a message naming the file and the place."""
    golden = SPECIALISTS / "data-analytics" / "golden"
    path = tmp_path / name
    if content is None:
        source = {"book.xlsx": "truncated.xlsx", "evil.zip": "evil.zip"}[name]
        content = (golden / source).read_bytes()
    path.write_bytes(content)
    response = analytics.task("describe", [path])
    assert not response["ok"]
    assert response["error"]["kind"] == "bad_input", response["error"]
    assert re.search(message, response["error"]["message"]), response["error"]["message"]


def test_analytics_natural_language_needs_plan(analytics: SpecialistContainer) -> None:
    """Free text asks for a plan; a plan naming a missing column is a ``bad_plan``."""
    sales = SPECIALISTS / "data-analytics" / "golden" / "sales.csv"
    response = analytics.task("what is the best region, roughly?", [sales])
    assert response["error"]["kind"] == "needs_plan"
    response = analytics.task("x", [sales], plan={"steps": [{"op": "aggregate", "agg": "sum",
                                                             "column": "revenue"}]})
    assert response["error"]["kind"] == "bad_plan"
    assert "revenue" in response["error"]["message"] and "amount" in response["error"]["message"]


# -- machine-learning -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def learner(docker_client: Any) -> Iterator[SpecialistContainer]:
    """A running machine-learning container with its own empty ``/data`` volume."""
    image, _ = build_specialist(docker_client, "machine-learning")
    box = SpecialistContainer(docker_client, "machine-learning", image)
    try:
        yield box
    finally:
        box.close()


def test_learner_golden_in_order(learner: SpecialistContainer) -> None:
    """The golden suite runs in file order (later cases use models saved by earlier ones)."""
    failures = []
    for case in golden_cases("machine-learning"):
        outcome = check(case, run_golden(learner, "machine-learning", case))
        if not outcome.passed:
            failures.append(f"{case.id}: {outcome.detail}")
    assert not failures, failures
    assert 0 < learner.ping_response["rss_kb"] < 60_000, "scikit-learn must load lazily"


def test_learner_is_deterministic_and_persists(learner: SpecialistContainer) -> None:
    """Training twice gives identical metrics; the saved model survives in the volume."""
    iris = SPECIALISTS / "machine-learning" / "golden" / "iris.csv"
    text = "train gradient boosting on iris.csv target species save as det_gb"
    first, second = learner.task(text, [iris]), learner.task(text, [iris])
    assert first["ok"] and second["ok"], (first, second)
    assert first["data"]["metrics"] == second["data"]["metrics"]
    assert first["data"]["cv"] == second["data"]["cv"]
    assert "Replaced as model det_gb" in second["answer"]
    listed = learner.task("list models")
    assert "det_gb" in listed["data"]["items"]
    gone = learner.task("delete model det_gb")
    assert gone["ok"] and "det_gb" not in learner.task("list models")["data"]["items"]


def test_learner_needs_plan_and_bad_plan(learner: SpecialistContainer) -> None:
    """Free text asks for a plan; a plan without a target is refused as ``bad_plan``."""
    iris = SPECIALISTS / "machine-learning" / "golden" / "iris.csv"
    assert learner.task("can you figure out the flower types?", [iris])["error"]["kind"] == "needs_plan"
    response = learner.task("x", [iris], plan={"action": "train"})
    assert response["error"]["kind"] == "bad_plan" and "target" in response["error"]["message"]
