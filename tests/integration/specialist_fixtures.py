"""Specialist containers started the engine's way, for tests that speak to them directly.

A :class:`Fleet` is the engine's own parts without the facade: :class:`ImageBuilder` builds (or
reuses, by content hash) the runtime and specialist images, :class:`Lifecycle` launches each
hardened container through :class:`DockerRuntime` with its exchange folders and ``/output``
tmpfs, and a :class:`Box` speaks to it with the engine's :class:`SocketClient` and wire models,
staging inputs and collecting outputs as the dispatcher does. No store, router, dispatcher or
fleet controller runs, so nothing pauses, reaps or plans behind a test's back.

Everything is created in a namespace of its own (the ``io.switchboard.namespace`` label) and
removed when the session ends; images are kept (tagged by content hash, shared with the
other engine tests).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import load_settings, repo_root
from app.engine.core.events import EventBus
from app.engine.core.specs import SpecialistSpec, load_catalogue
from app.engine.core.views import ArtifactView
from app.engine.evaluation.golden_checks import GoldenCase, load_golden
from app.engine.fleet.lifecycle import Lifecycle, Replica
from app.engine.fleet.outputs import collect_outputs
from app.engine.fleet.transport import MAX_LINE, parse_answer
from app.engine.fleet.wire import InputRef, Ping, TaskRequest, TaskResponse
from app.engine.runtime.docker_runtime import DockerRuntime
from app.engine.runtime.images import ImageBuilder
from app.engine.store import BlobStore
from app.engine.tasks.dispatch import answer_cap
from tests.conftest import require_service

__all__ = ["SPECIALISTS", "Box", "Fleet", "fleet", "golden_cases", "run_golden"]

# Beyond the task's own limit (which the container enforces) before the socket gives up.
SOCKET_GRACE_S = 30.0
SPECIALISTS = repo_root() / "specialists"


def golden_cases(specialist: str) -> list[GoldenCase]:
    """The specialist's golden suite (read at collection time, before any fixture runs)."""
    return load_golden(SPECIALISTS / specialist / "golden.jsonl")


class Box:
    """One running specialist container and the engine's channel to it."""

    def __init__(self, fleet: Fleet, replica: Replica) -> None:
        self.fleet = fleet
        self.replica = replica
        self.name = replica.name
        self.spec = fleet.spec(replica.specialist)
        self.outputs: dict[str, dict[str, ArtifactView]] = {}  # task id -> artifact name -> stored copy
        self.ping_response = self.request(Ping().model_dump())

    def request(self, message: dict[str, Any], timeout_s: float = 120.0) -> dict[str, Any]:
        """Send one message on a pooled connection and return the answer as it came."""
        return self.replica.client.call(message, timeout_s=timeout_s)

    def send_line(self, line: bytes, timeout_s: float = 30.0) -> dict[str, Any]:
        """Send raw bytes the engine never sends (a broken line) on a connection of their own."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout_s)
            conn.connect(str(self.replica.exchange.socket))
            conn.sendall(line)
            with conn.makefile("rb") as reader:
                return parse_answer(reader.readline(MAX_LINE), MAX_LINE)

    def task(
        self, text: str, files: Sequence[Path] = (), plan: dict[str, Any] | None = None, timeout_s: float = 60.0
    ) -> dict[str, Any]:
        """Run one task as the dispatcher does; the answer is returned as it came.

        Inputs go through the blob store and are linked into the exchange folder; the answer
        must parse as a :class:`TaskResponse` for this task; listed artifacts are copied out of
        the container's ``/output`` tmpfs into :attr:`outputs`, which a reused container then frees.
        """
        task_id = secrets.token_hex(8)
        exchange = self.replica.exchange
        limits = self.spec.limits
        if files:
            exchange.prepare_task(task_id)
        try:
            inputs = []
            for src in files:
                ref = self.fleet.blobs.put_file(src)
                self.fleet.blobs.link_into(ref.sha256, exchange.task_in(task_id) / src.name)
                inputs.append(
                    InputRef(name=src.name, path=f"/input/{task_id}/{src.name}", bytes=ref.bytes, sha256=ref.sha256)
                )
            request = TaskRequest(
                id=task_id,
                text=text,
                inputs=inputs,
                plan=plan,
                output_dir=f"/output/{task_id}",
                timeout_s=timeout_s,
                max_output_bytes=limits.max_output_bytes,
            )
            raw = self.replica.client.call(
                request.model_dump(),
                timeout_s=timeout_s + SOCKET_GRACE_S,
                max_bytes=answer_cap(limits.max_output_bytes),
            )
        finally:
            exchange.clear_task(task_id, had_inputs=bool(files))
        response = TaskResponse.model_validate(raw)
        assert response.id == task_id, f"answer for task {response.id}, not {task_id}"
        if response.artifacts:
            found = collect_outputs(
                self.fleet.runtime, self.name, task_id, self.fleet.blobs, max_bytes=limits.output_mb * 1024 * 1024
            )
            self.outputs[task_id] = {view.name: view for view, _sha in found}
            if not self.replica.fresh:
                self.request({"v": 1, "kind": "cleanup", "id": task_id}, timeout_s=10)
        return raw

    def processes(self) -> list[list[str]]:
        """``ps -o pid,comm`` rows of the processes in the container."""
        container = self.fleet.runtime.client.containers.get(self.name)
        rows: list[list[str]] = container.top(ps_args="-o pid,comm")["Processes"]
        return rows

    def close(self) -> None:
        """Remove the container and its exchange folders."""
        self.fleet.lifecycle.remove(self.name, reason="test finished")


def run_golden(box: Box, case: GoldenCase) -> dict[str, Any]:
    """Run one golden case (with its reference plan when it has one)."""
    return box.task(case.text, [box.spec.folder / f for f in case.files], plan=case.plan)


class Fleet:
    """Image builder, runtime and lifecycle of one test session, in a namespace of its own.

    It also offers what :class:`~app.engine.evaluation.testsite.TestSite` reads from an
    orchestrator (``spec``, ``settings``, ``runtime``, ``lifecycle``, ``instance_id``), so the
    web-scraping tests run the same test site as the golden runner.
    """

    def __init__(self, data_dir: Path) -> None:
        self.settings = load_settings(data_dir=data_dir, namespace="t" + secrets.token_hex(4), ollama_autostart=False)
        self.instance_id = secrets.token_hex(6)
        self.catalogue = load_catalogue(self.settings.specialists_dir)
        self.runtime = DockerRuntime(self.settings)
        self.images = ImageBuilder(self.settings, self.runtime)
        self.blobs = BlobStore(data_dir / "blobs")
        self.lifecycle = Lifecycle(
            self.settings, self.runtime, self.catalogue.specs, EventBus(), self._image_for, self.instance_id
        )
        self._tags: dict[str, str] = {}

    def spec(self, specialist: str) -> SpecialistSpec:
        """The manifest of ``specialist``."""
        return self.catalogue.specs[specialist]

    def _image_for(self, spec: SpecialistSpec) -> str:
        if spec.id not in self._tags:
            self._tags[spec.id] = self.images.ensure_specialist_image(spec)
        return self._tags[spec.id]

    def start(self, specialist: str) -> Box:
        """Start one container (building its image first if needed); it must pass every hardening check."""
        replica = self.lifecycle.start(specialist, reason="test")
        failed = [f"{c.item}: {c.detail}" for c in self.runtime.hardening(replica.name) if not c.passed]
        if failed:
            self.lifecycle.remove(replica.name, reason="not hardened")
            raise AssertionError(f"{replica.name} is not hardened: {failed}")
        return Box(self, replica)

    def close(self) -> None:
        """Remove every container this fleet started and close the Docker client."""
        try:
            self.lifecycle.close(remove_containers=True)
        finally:
            self.runtime.close()


@pytest.fixture(scope="session")
def fleet(docker_client: Any) -> Iterator[Fleet]:
    """The session's fleet; its containers, volumes and networks are removed at the end."""
    from tests.integration.engine_fixtures import purge_namespace

    # a short data dir: the socket path must fit in a Unix socket address for ``send_line``
    data_dir = Path(tempfile.mkdtemp(prefix="sb-fleet-"))
    parts = Fleet(data_dir)
    try:
        if not parts.runtime.image_exists(parts.settings.base_image):
            require_service("base image", f"{parts.settings.base_image} is missing (packaging/setup/base_image.sh)")
        yield parts
    finally:
        try:
            parts.close()
        finally:
            purge_namespace(docker_client, parts.settings.namespace)
            shutil.rmtree(data_dir, ignore_errors=True)
