"""The data folder's disk full: a real small tmpfs mounted as the database folder.

Needs root to mount; elsewhere it is skipped with the reason (CI runs as root here).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.errors import DatabaseUnavailable
from tests.faults.conftest import integrity
from tests.unit.fake_runtime import FakeContainer, make_rig, result, scripted

pytestmark = pytest.mark.faults


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full."""
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def big_answer(container: FakeContainer, request: dict[str, Any]) -> dict[str, Any] | None:
    if request.get("text") == "big":
        while not container.runtime.gate.wait(0.01):
            pass
        return result(request, "z" * 400_000)
    return scripted(container, request)


def test_disk_full_fails_clearly_keeps_earlier_results_and_recovers(small_disk: Path) -> None:
    with make_rig(small_disk, behaviour=big_answer) as rig:
        before = rig.dispatcher.submit(rig.job("kept")).result(timeout=10)
        assert before.state == "succeeded"
        # 1. the disk fills while a task runs: its result cannot be stored -> not shown as complete
        rig.runtime.gate.clear()
        running = rig.job("big")
        future = rig.dispatcher.submit(running)
        rig.runtime.wait_active("echo", 1)
        filler = fill(small_disk)
        rig.runtime.gate.set()
        view = future.result(timeout=30)
        assert view.state == "failed" and view.answer == "", view
        assert "could not be saved" in (view.error or "") and str(small_disk) in (view.error or ""), view.error
        assert "full" in (view.error or "")
        row = rig.stored(running.task_id)
        assert row.state != "succeeded" and not row.answer
        # 2. a new task on the full disk: refused at once, naming the database file
        with pytest.raises(DatabaseUnavailable, match="full") as info:
            rig.job("y" * 200_000)
        assert str(small_disk) in str(info.value)
        # 3. earlier results intact; space freed -> works again without a restart
        os.unlink(filler)
        assert rig.store.get_task(before.id).result(timeout=10).answer == before.answer
        after = rig.dispatcher.submit(rig.job("again")).result(timeout=10)
        assert after.state == "succeeded"
        assert rig.stored(after.id).state == "succeeded"
    assert integrity(small_disk / "switchboard.db") == "ok"
