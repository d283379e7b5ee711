"""Settings sources and the checks every task input goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.engine.core.config import describe, load_settings
from app.engine.core.errors import BadInput
from app.engine.tasks.intake import check_files, check_text


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("SWITCHBOARD_CONFIG_FILE", str(path))
    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_") and key != "SWITCHBOARD_CONFIG_FILE":
            monkeypatch.delenv(key)
    return path


def test_env_beats_file_beats_default(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text("queue_size = 77\nworkers = 5\n", encoding="utf-8")
    monkeypatch.setenv("SWITCHBOARD_WORKERS", "9")
    settings = load_settings()
    assert settings.queue_size == 77 and settings.workers == 9
    sources = {row["name"]: row["source"] for row in describe(settings)}
    assert sources["workers"] == "env SWITCHBOARD_WORKERS"
    assert sources["queue_size"].startswith("file ")
    assert sources["task_timeout_s"] == "default"


def test_bad_values_name_the_field(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_QUEUE_SIZE", "0")
    with pytest.raises(BadInput, match="queue_size"):
        load_settings()


def test_broken_config_file_is_named(config_file: Path) -> None:
    config_file.write_text("queue_size = = 3\n", encoding="utf-8")
    with pytest.raises(BadInput, match="not valid TOML"):
        load_settings()


def test_default_database_is_sqlite_in_data_dir(config_file: Path, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'd' / 'switchboard.db'}"


def test_text_checks() -> None:
    assert check_text("  hi there ") == "hi there"
    with pytest.raises(BadInput, match="empty"):
        check_text("   \n ")
    with pytest.raises(BadInput, match="NUL"):
        check_text("a\x00b")


def test_file_checks(tmp_path: Path, config_file: Path) -> None:
    settings = load_settings(max_input_bytes=10, max_inputs_per_task=2)
    good = tmp_path / "a.csv"
    good.write_text("x,y\n")
    assert check_files([good], settings) == [good]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    big = tmp_path / "big.csv"
    big.write_text("x" * 11)
    link = tmp_path / "link.csv"
    link.symlink_to(good)
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = {
        tmp_path / "missing.csv": "does not exist",
        folder: "is a folder",
        link: "symbolic link",
        empty: "empty",
        big: "limit",
    }
    for path, message in cases.items():
        with pytest.raises(BadInput, match=message):
            check_files([path], settings)
    with pytest.raises(BadInput, match="at most 2"):
        check_files([good, good, good], settings)
