"""ImageBuilder against the real engine: a real runtime build, cached re-use, a specialist on top.

The runtime sources are copied with one extra file holding a fresh id, so the content hash
(and the tag) is new and the first ensure really builds; every image made here is removed.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings, repo_root
from app.engine.core.events import ImageBuildProgress
from app.engine.core.specs import SpecialistSpec
from app.engine.runtime.docker_runtime import DockerRuntime
from app.engine.runtime.images import HOST_CA_BUNDLE, ImageBuilder
from app.engine.runtime.protocol import LaunchSpec

pytestmark = pytest.mark.docker

SPECIALIST_DOCKERFILE = """\
ARG RUNTIME_IMAGE
FROM ${RUNTIME_IMAGE}
USER root
COPY certs/ /tmp/certs/
RUN ls /tmp/certs > /opt/specialist/certs.txt && rm -rf /tmp/certs
COPY . /opt/specialist/
USER 10001
"""


class Built:
    """The module's builder, runtime, first-build log and every tag to remove afterwards."""

    def __init__(self, builder: ImageBuilder, runtime: DockerRuntime, root: Path) -> None:
        self.builder = builder
        self.runtime = runtime
        self.root = root
        self.first_lines: list[str] = []
        self.first_seconds = 0.0
        self.tag = ""
        self.tags: list[str] = []


@pytest.fixture(scope="module")
def built(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Build a runtime image with a unique hash once for this module."""
    root = tmp_path_factory.mktemp("specialists")
    shutil.copytree(
        repo_root() / "specialists" / "runtime", root / "runtime", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "runtime" / "test-build-id.txt").write_text(uuid.uuid4().hex)
    settings = Settings(specialists_dir=root)
    runtime = DockerRuntime(settings)
    box = Built(ImageBuilder(settings, runtime), runtime, root)
    try:
        started = time.monotonic()
        box.tag = box.builder.ensure_runtime_image(box.first_lines.append)
        box.first_seconds = time.monotonic() - started
        box.tags.append(box.tag)
        yield box
    finally:
        for tag in reversed(box.tags):
            runtime.remove_image(tag)
        runtime.close()


def test_runtime_image_built_once_then_instant(built: Built, docker_client: Any) -> None:
    assert built.tag.startswith("switchboard-runtime:")
    assert any(line.startswith("Step 1/") for line in built.first_lines)
    image = docker_client.images.get(built.tag)
    assert image.labels["io.switchboard.managed"] == "true"
    assert image.labels["io.switchboard.source-hash"].startswith(built.tag.split(":")[1])
    assert image.labels["io.switchboard.component"] == "runtime"

    lines: list[str] = []
    started = time.monotonic()
    again = built.builder.ensure_runtime_image(lines.append)
    elapsed = time.monotonic() - started
    assert again == built.tag
    assert lines == []
    assert elapsed < 0.5  # hashing and two inspects; no build ran (no lines)


def test_specialist_image_on_top_with_certs_and_without_golden(built: Built, docker_client: Any) -> None:
    folder = built.root / "tiny"
    (folder / "golden").mkdir(parents=True)
    (folder / "golden" / "data.csv").write_text("a\n1\n")
    (folder / "Dockerfile").write_text(SPECIALIST_DOCKERFILE)
    (folder / "handler.py").write_text("def handle(task):\n    return None\n")
    spec = SpecialistSpec(
        id="tiny",
        title="Tiny",
        description="A specialist made by a test.",
        capabilities=("nothing",),
        example_tasks=("nothing at all",),
        folder=folder,
    )
    tag, exists = built.builder.image_state(spec)
    assert not exists
    events: list[ImageBuildProgress] = []
    built_tag = built.builder.ensure_specialist_image(spec, events.append)
    built.tags.append(built_tag)
    assert built_tag == tag
    assert built.builder.image_state(spec) == (tag, True)
    assert docker_client.images.get(tag).labels["io.switchboard.specialist"] == "tiny"
    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and events[-1].done

    name = f"sb-tiny-{uuid.uuid4().hex[:8]}"
    labels = {"io.switchboard.managed": "true", "io.switchboard.role": "test", "io.switchboard.specialist": "tiny"}
    listing = (
        "import os; print(sorted(os.listdir('/opt/specialist'))); "
        "print(open('/opt/specialist/certs.txt').read().split())"
    )
    built.runtime.run(LaunchSpec(name=name, image=tag, labels=labels, command=("python3", "-c", listing)))
    try:
        deadline = time.monotonic() + 10
        while built.runtime.get(name).status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        out = built.runtime.logs(name).splitlines()
    finally:
        built.runtime.remove(name)
    assert out[0] == "['Dockerfile', 'certs', 'certs.txt', 'handler.py']"  # golden/ left out
    expected_certs = ["ca.crt"] if HOST_CA_BUNDLE.is_file() else []
    assert out[1] == str(expected_certs)
