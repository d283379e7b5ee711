"""Hostile files refused by the engine's intake before any container sees them.

Content sniffing (a .csv that is really a PNG, an ELF binary or a pickle), empty files,
pickles, symlinks to host files, folders and devices, and client-supplied names: CLI paths
with ``..``, names with control characters, drag-and-drop data whose URLs are not local files.
The one case that runs shows where a traversal-looking name lands: in the task's own folder.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(32)
ELF = b"\x7fELF\x02\x01\x01" + bytes(57)


class Evil:
    """Unpickling this would run ``os.system``."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch /tmp/pwned-by-pickle",))


@pytest.mark.parametrize(
    ("name", "content", "specialist", "words"),
    [
        ("sales.csv", PNG, "data-analytics", ("png image",)),
        ("report.txt", ELF, "numerical", ("elf executable",)),
        ("data.json", b"PK\x03\x04" + bytes(60), "data-analytics", ("zip archive",)),
        ("iris.csv", pickle.dumps(Evil(), protocol=4), "machine-learning", ("pickle",)),
        ("shop.sqlite", b"id,name\n1,a\n", "database", ("sqlite database",)),
        ("book.xlsx", b"a,b\n1,2\n", "data-analytics", ("zip archive",)),
        ("empty.csv", b"", "numerical", ("empty", "0 bytes")),
    ],
    ids=["png-as-csv", "elf-as-txt", "zip-as-json", "pickle-as-csv", "csv-as-sqlite", "csv-as-xlsx", "empty"],
)
def test_mistyped_and_empty_files_are_refused(
    engine: Orchestrator, user_dir: Path, name: str, content: bytes, specialist: str, words: tuple[str, ...]
) -> None:
    path = user_dir / name
    path.write_bytes(content)
    outcome = run_task(engine, "describe", specialist, [path])
    assert outcome.refused is not None, outcome
    expect_refusal(outcome, name, *words)


@pytest.mark.parametrize("suffix", [".pkl", ".joblib", ".pickle"])
def test_pickles_from_outside_the_model_store_are_refused_with_the_reason(
    engine: Orchestrator, user_dir: Path, suffix: str
) -> None:
    path = user_dir / f"model{suffix}"
    path.write_bytes(pickle.dumps(Evil()))
    for specialist in ("machine-learning", None):
        outcome = run_task(engine, f"predict with model{suffix} on iris.csv", specialist, [path])
        assert outcome.refused is not None, outcome
        expect_refusal(outcome, path.name, "pickle", "runs", "model store")
    assert not Path("/tmp/pwned-by-pickle").exists()


def test_symlinks_folders_and_devices_are_refused(engine: Orchestrator, user_dir: Path) -> None:
    good = user_dir / "good.csv"
    good.write_text("x\n1\n2\n", encoding="utf-8")
    link = user_dir / "passwd.csv"
    link.symlink_to("/etc/passwd")
    outcome = run_task(engine, "mean of column x in good.csv", "numerical", [good, link])
    expect_refusal(outcome, "passwd.csv", "symbolic link")
    expect_refusal(run_task(engine, "describe", "numerical", [user_dir]), str(user_dir), "folder")
    expect_refusal(
        run_task(engine, "describe", "numerical", [Path("/dev/zero")], user_folder=user_dir),
        "/dev/zero",
        "not a regular file",
    )


def test_client_supplied_names_never_leave_the_task_folder(
    engine: Orchestrator, user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CLI arguments with ``..`` name a real file; only its base name travels, into /input/<task>/."""
    (user_dir / "sub").mkdir()
    target = user_dir / "values.csv"
    target.write_text("x\n1\n2\n3\n", encoding="utf-8")
    monkeypatch.chdir(user_dir / "sub")
    code = "import os, glob\nprint(sorted(os.listdir('.')))\nprint(glob.glob('/input/*/*'))\n"
    outcome = run_task(
        engine, f"```python\n{code}```", "code-execution", [Path("../sub/../values.csv")], user_folder=user_dir
    )
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    assert [i["name"] for i in outcome.view.inputs] == ["values.csv"]
    lines = outcome.view.stdout.splitlines()
    assert "'values.csv'" in lines[0] and ".." not in lines[0], lines
    assert all(p.startswith("/input/") and p.endswith("/values.csv") and ".." not in p for p in eval(lines[1])), lines  # noqa: S307 - a printed list of our own


@pytest.mark.parametrize(
    "name",
    ["line\nbreak.csv", "tab\there.csv", "bell\x07.csv", "x" * 251 + ".csv"],
    ids=["newline", "tab", "control", "too-long"],
)
def test_names_with_control_characters_or_absurd_length_are_refused(
    engine: Orchestrator, user_dir: Path, name: str
) -> None:
    try:
        path = user_dir / name
        path.write_text("x\n1\n", encoding="utf-8")
    except OSError as exc:  # a file system that refuses the name itself is fine too
        pytest.skip(f"the file system refuses this name: {exc}")
    outcome = run_task(engine, "mean of column x", "numerical", [path])
    assert outcome.refused is not None, outcome
    assert "rename" in outcome.message or "limit" in outcome.message, outcome


def test_drag_data_keeps_only_local_files(user_dir: Path) -> None:
    """Dropped URLs that are not local files (http:, smb:, data:) never become inputs."""
    from PySide6.QtCore import QMimeData, QUrl

    from widgets.specialist_card import local_paths

    real = user_dir / "sales.csv"
    real.write_text("a\n1\n", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls(
        [
            QUrl("http://169.254.169.254/latest/meta-data/x.csv"),
            QUrl("smb://host/share/x.csv"),
            QUrl("data:text/csv,a%0A1"),
            QUrl.fromLocalFile(str(real)),
        ]
    )
    assert local_paths(mime) == [real]
