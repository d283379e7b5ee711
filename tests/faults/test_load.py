"""Hundreds of tasks at once, and many files at once, over the real dispatcher and store."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, Busy
from app.engine.store import BlobStore
from app.engine.tasks.dispatch import InputRecord
from app.engine.tasks.intake import check_files
from tests.faults.conftest import assert_sound
from tests.unit.fake_runtime import make_rig, make_spec
from widgets.file_checks import check_files as check_dropped

pytestmark = pytest.mark.faults


def test_hundreds_of_tasks_run_exactly_once_with_backpressure(tmp_path: Path) -> None:
    """500 submissions from 10 threads into a queue of 200: the rest are told "busy", nothing
    accepted is lost or run twice, and two specialists both make progress."""
    specs = [make_spec("alpha", concurrency=4, max_replicas=2), make_spec("beta", concurrency=2, max_replicas=1)]
    with make_rig(tmp_path, specs, queue_size=200) as rig:
        rig.runtime.gate.clear()
        accepted: list[str] = []
        refused: list[str] = []
        lock = threading.Lock()

        def submit(i: int) -> None:
            job = rig.job("wait", specialist="alpha" if i % 3 else "beta")
            try:
                rig.dispatcher.submit(job)
            except Busy as exc:
                assert "busy" in str(exc)
                rig.store.update_task(job.task_id, state="failed", error_kind="busy", error_message=str(exc))
                with lock:
                    refused.append(job.task_id)
                return
            with lock:
                accepted.append(job.task_id)

        with ThreadPoolExecutor(10) as pool:
            list(pool.map(submit, range(500)))
        assert len(accepted) + len(refused) == 500
        assert 200 <= len(accepted) < 500 and refused, "the bound must push back"
        rig.runtime.gate.set()
        deadline_ids = set(accepted)
        for _ in range(600):
            if rig.dispatcher.pending == 0:
                break
            threading.Event().wait(0.1)
        assert rig.dispatcher.pending == 0
        for task_id in accepted:
            assert rig.runtime.attempts_of(task_id) == 1, f"{task_id} ran {rig.runtime.attempts_of(task_id)} times"
        for task_id in refused:
            assert rig.runtime.attempts_of(task_id) == 0
        records = rig.store.list_tasks(limit=1000, with_result=False).result(timeout=30)
        assert {r.id for r in records if r.state == "succeeded"} == deadline_ids
        rows = [dataclasses.asdict(r) for r in records]
        assert rig.runtime.peak["alpha"] <= 8 and rig.runtime.peak["beta"] <= 2
        assert_sound(Path(str(rig.store.engine.url.database)), rows, accepted + refused)


def test_twenty_files_dropped_get_a_status_each(tmp_path: Path) -> None:
    """Twenty files, three of them bad: each bad one is named with its reason, good ones go on."""
    files = []
    for i in range(17):
        path = tmp_path / f"part{i:02d}.csv"
        path.write_text(f"x\n{i}\n")
        files.append(path)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    bad = [tmp_path / "empty.csv", tmp_path / "folder.csv", tmp_path / "notes.docx"]
    result = check_dropped([*files, *bad], accepted_inputs=[".csv"], max_files=20, max_bytes=10**6, target="Data")
    assert len(result.accepted) == 17
    assert len(result.problems) == 3
    for path, problem in zip(bad, result.problems, strict=True):
        assert path.name in problem
    # over the per-task limit: refused in one clear sentence naming the limit, nothing sent
    too_many = check_dropped(files + files[:5], max_files=16)
    assert not too_many.accepted and "at most 16" in too_many.problems[0]


def test_same_named_files_from_two_folders_never_overwrite_each_other(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "data.csv").write_text("from a\n")
    (b / "data.csv").write_text("from b\n")
    settings = Settings(data_dir=tmp_path / "d")
    # in one task: refused, naming the file, rather than one silently replacing the other
    with pytest.raises(BadInput, match="two input files are named 'data.csv'"):
        check_files([a / "data.csv", b / "data.csv"], settings)
    # in two tasks running at once: each container sees its own file
    with make_rig(tmp_path / "db", [make_spec(concurrency=2, max_replicas=1)]) as rig:
        blobs: BlobStore = rig.blobs
        jobs = []
        for folder in (a, b):
            ref = blobs.put_file(folder / "data.csv")
            jobs.append(rig.job("cat", inputs=[InputRecord("data.csv", ref.sha256, ref.bytes)]))
        futures = [rig.dispatcher.submit(j) for j in jobs]
        answers = [f.result(timeout=20).answer for f in futures]
    assert answers == ["from a\n", "from b\n"]
