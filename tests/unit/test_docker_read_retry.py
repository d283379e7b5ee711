"""A Docker read that times out once is asked again; twice, the engine is reported unavailable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from app.engine.core.config import Settings
from app.engine.core.errors import DockerUnavailable
from app.engine.runtime.docker_runtime import DockerRuntime


class _Images:
    def __init__(self, timeouts: int) -> None:
        self.timeouts, self.calls = timeouts, 0

    def get(self, tag: str) -> Any:
        self.calls += 1
        if self.calls <= self.timeouts:
            raise requests.exceptions.ReadTimeout("read timed out")
        return SimpleNamespace(id=f"sha256:{tag}")


def _runtime(tmp_path: Path, images: _Images) -> DockerRuntime:
    runtime = DockerRuntime(Settings(data_dir=tmp_path))
    runtime._client = SimpleNamespace(images=images)  # type: ignore[assignment]
    return runtime


def test_one_stalled_inspect_is_asked_again(tmp_path: Path) -> None:
    images = _Images(timeouts=1)
    assert _runtime(tmp_path, images).image_id("x") == "sha256:x" and images.calls == 2


def test_two_stalled_inspects_say_the_engine_did_not_answer(tmp_path: Path) -> None:
    images = _Images(timeouts=2)
    with pytest.raises(DockerUnavailable, match="did not answer in time"):
        _runtime(tmp_path, images).image_id("x")
    assert images.calls == 2
