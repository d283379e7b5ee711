"""Fixtures of the hostile-input suite: one real engine per module, in a namespace of its own.

Every case runs through the real :class:`~app.engine.orchestrator.Orchestrator` (intake checks,
store, dispatch, hardened containers) and checks the three promises of issue 13: a clear
message naming the file and the problem, the user's files unchanged, nothing written outside
the task's folder. Containers, networks and volumes of the namespace are removed afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import load_settings
from app.engine.core.errors import BadInput
from app.engine.core.views import TaskView
from app.engine.orchestrator import Orchestrator
from tests.integration.conftest import docker_client  # noqa: F401 - session fixture
from tests.integration.engine_fixtures import purge_namespace


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Orchestrator]:  # noqa: F811
    """A started engine shared by the tests of one module."""
    namespace = "h" + secrets.token_hex(4)
    data_dir = tmp_path_factory.mktemp("hostile-data")
    settings = load_settings(data_dir=data_dir, namespace=namespace, ollama_autostart=False, stats_interval_s=5.0)
    orch = Orchestrator(settings)
    try:
        orch.start().result(timeout=180)
        yield orch
    finally:
        orch.close(remove_containers=True)
        purge_namespace(docker_client, namespace)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """The user's own folder of input files (checked unchanged by :class:`Files`)."""
    folder = tmp_path / "user files"
    folder.mkdir()
    return folder


def digest_tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 (or link target) of everything under ``folder``."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


class Outcome:
    """What a hostile task came to: refused at intake (``refused``) or a stored task (``view``)."""

    def __init__(self, refused: str | None = None, view: TaskView | None = None) -> None:
        self.refused = refused
        self.view = view

    @property
    def message(self) -> str:
        """The user-facing message: the intake refusal or the task's stored error."""
        if self.refused is not None:
            return self.refused
        assert self.view is not None
        return self.view.error or ""

    @property
    def failed(self) -> bool:
        """Refused, or ended in a failed state."""
        return self.refused is not None or (self.view is not None and self.view.state == "failed")

    def __repr__(self) -> str:
        if self.view is None:
            return f"Outcome(refused={self.refused!r})"
        v = self.view
        return f"Outcome(state={v.state}, kind={v.error_kind}, error={v.error!r}, answer={v.answer[:300]!r})"


def run_task(
    orch: Orchestrator,
    text: str,
    specialist: str | None,
    files: list[Path] | tuple[Path, ...] = (),
    user_folder: Path | None = None,
    timeout_s: float | None = None,
    planning: bool = False,
) -> Outcome:
    """Submit through the facade; the user's folder must be byte-for-byte unchanged afterwards."""
    folder = user_folder or (Path(files[0]).parent if files else None)
    before = digest_tree(folder) if folder is not None and folder.is_dir() else None
    try:
        handle = orch.submit(text, specialist=specialist, files=list(files), timeout_s=timeout_s, planning=planning)
    except BadInput as exc:
        outcome = Outcome(refused=str(exc))
    else:
        view = handle.future.result(timeout=300)
        assert view.state in ("succeeded", "failed", "cancelled"), view
        outcome = Outcome(view=view)
    if before is not None:
        assert folder is not None
        assert digest_tree(folder) == before, f"the user's folder {folder} changed: {outcome}"
    return outcome


def expect_refusal(outcome: Outcome, name: str, *words: str, kinds: tuple[str, ...] = ("bad_input",)) -> None:
    """Failed with a message naming ``name`` and containing each of ``words`` (case-insensitive)."""
    assert outcome.failed, f"expected a refusal, got {outcome}"
    if outcome.view is not None:
        assert outcome.view.error_kind in kinds, outcome
    text = outcome.message.lower()
    assert name.lower() in text, f"the message does not name {name!r}: {outcome}"
    for word in words:
        assert word.lower() in text, f"the message does not say {word!r}: {outcome}"
    assert "traceback" not in text, outcome


def exec_in(docker: Any, container: str, *argv: str) -> tuple[int, str]:
    """Run ``argv`` in ``container`` (as its user) and return (exit code, output)."""
    result = docker.containers.get(container).exec_run(list(argv), user="10001")
    return result.exit_code, result.output.decode("utf-8", "replace")
