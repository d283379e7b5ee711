"""CLI exit codes and JSON documents when the environment or the input is wrong (no services needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SWITCHBOARD_CONFIG_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SWITCHBOARD_DOCKER_URL", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_AUTOSTART", "false")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "numerical"],
        ["ps"],
        ["logs", "x"],
        ["down", "numerical"],
        ["inspect", "x"],
        ["specialists"],
        ["build", "numerical"],
        ["scale", "numerical", "2"],
        ["eval", "golden"],
    ],
)
def test_docker_down_is_exit_3_with_a_fix(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, doc = run(capsys, *argv)
    assert code == 3
    assert doc["ok"] is False and doc["exit_code"] == 3
    assert "Docker" in str(doc["error"]) or "docker" in str(doc["error"])


def test_submit_with_docker_down_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run(capsys, "submit", "2+2", "--specialist", "numerical", "--wait")
    assert code == 3, doc


def test_doctor_reports_each_problem_with_a_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run(capsys, "doctor")
    assert code == 3
    checks = {c["component"]: c for c in doc["checks"]}  # type: ignore[union-attr]
    assert checks["docker"]["ok"] is False and checks["docker"]["fix"]
    assert checks["ollama server"]["ok"] is False and checks["ollama server"]["fix"]
    assert checks["database"]["ok"] is True


def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str], isolated: Path) -> None:
    code, doc = run(capsys, "submit", "   ", "--specialist", "numerical")
    assert code == 2 and "empty" in str(doc["error"])
    code, doc = run(capsys, "submit", "2+2", "--specialist", "nope")
    assert code == 2 and "unknown specialist 'nope'" in str(doc["error"])
    code, doc = run(capsys, "submit", "2+2", "--specialist", "numerical", "--file", str(isolated / "missing.csv"))
    assert code == 2 and "does not exist" in str(doc["error"])
    code, doc = run(capsys, "task", "0123456789abcdef0123456789abcdef")
    assert code == 2 and "no task" in str(doc["error"])


def test_usage_error_is_exit_2_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--json", "scale", "numerical", "lots"])
    assert info.value.code == 2
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_bad_settings_are_exit_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_QUEUE_SIZE", "-4")
    code, doc = run(capsys, "tasks")
    assert code == 2 and "queue_size" in str(doc["error"])


def test_config_shows_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run(capsys, "config")
    assert code == 0
    rows = {r["name"]: r for r in doc["settings"]}  # type: ignore[union-attr]
    assert rows["docker_url"]["source"] == "env SWITCHBOARD_DOCKER_URL"
    assert rows["queue_size"]["source"] == "default"
