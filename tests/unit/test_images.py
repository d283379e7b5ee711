"""ImageBuilder against a recording fake runtime: contexts, hashes, tags, locking, progress."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import BuildFailed, EngineError, EnvironmentUnavailable
from app.engine.core.events import ImageBuildProgress
from app.engine.core.specs import SpecialistSpec
from app.engine.runtime.images import ImageBuilder, build_fraction, content_hash, context_files
from app.engine.runtime.protocol import BuildRequest

BASE = "switchboard-base:bookworm-py311-1"


class FakeRuntime:
    """Just the image half of a runtime; records every build with its context listing."""

    def __init__(self, images: dict[str, str] | None = None, build_seconds: float = 0.0) -> None:
        self.images = dict(images) if images is not None else {BASE: "sha256:base"}
        self.builds: list[tuple[BuildRequest, dict[str, bytes]]] = []
        self.pulls: list[str] = []
        self.build_seconds = build_seconds
        self.fail_with: str | None = None
        self.pull_error: EngineError | None = None
        self._lock = threading.Lock()

    def image_exists(self, tag: str) -> bool:
        return tag in self.images

    def image_id(self, tag: str) -> str | None:
        return self.images.get(tag)

    def pull_image(self, tag: str) -> str:
        self.pulls.append(tag)
        if self.pull_error:
            raise self.pull_error
        self.images[tag] = "sha256:pulled"
        return "sha256:pulled"

    def build_image(self, request: BuildRequest, on_line: Callable[[str], None]) -> str:
        listing = {
            p.relative_to(request.context).as_posix(): p.read_bytes()
            for p in sorted(request.context.rglob("*"))
            if p.is_file()
        }
        listing.update(
            {p.relative_to(request.context).as_posix() + "/": b"" for p in request.context.rglob("*") if p.is_dir()}
        )
        with self._lock:
            self.builds.append((request, listing))
        on_line("Step 1/2 : FROM something")
        time.sleep(self.build_seconds)
        if self.fail_with:
            raise BuildFailed(self.fail_with, log_tail="Step 2/2 : RUN false")
        on_line("Step 2/2 : RUN true")
        image_id = "sha256:" + hashlib.sha256(request.tag.encode()).hexdigest()
        self.images[request.tag] = image_id
        return image_id


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A specialists folder with a runtime and one specialist (with golden data and caches)."""
    root = tmp_path / "specialists"
    _write(root / "runtime" / "Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    _write(root / "runtime" / "switchboard_runtime" / "server.py", "print('hi')\n")
    _write(root / "runtime" / "switchboard_runtime" / "__pycache__" / "server.cpython-311.pyc", "x")
    spec_dir = root / "numerical"
    _write(spec_dir / "Dockerfile", "ARG RUNTIME_IMAGE\nFROM ${RUNTIME_IMAGE}\n")
    _write(spec_dir / "handler.py", "def handle(task): ...\n")
    _write(spec_dir / "golden" / "big.csv", "a,b\n1,2\n")
    _write(spec_dir / "lib" / "helper.py", "X = 1\n")
    _write(spec_dir / "stale.pyc", "x")
    os.symlink("/etc/hostname", spec_dir / "link.txt")
    return root


def _spec(root: Path) -> SpecialistSpec:
    return SpecialistSpec(
        id="numerical",
        title="Numerical",
        description="Equations and integrals.",
        capabilities=("integrals",),
        example_tasks=("integrate x",),
        folder=root / "numerical",
    )


def _builder(root: Path, runtime: FakeRuntime, ca: Path | None, **settings: object) -> ImageBuilder:
    config = Settings(specialists_dir=root, base_image=settings.pop("base_image", BASE), **settings)  # type: ignore[arg-type]
    return ImageBuilder(config, runtime, host_ca=ca or Path("/nonexistent/ca.crt"))  # type: ignore[arg-type]


def test_context_files_skip_golden_caches_and_links(tree: Path) -> None:
    names = [rel for rel, _ in context_files(tree / "numerical")]
    assert names == ["Dockerfile", "handler.py", "lib/helper.py"]


def test_content_hash_covers_bytes_paths_parent_and_base(tree: Path) -> None:
    files = context_files(tree / "numerical")
    first = content_hash(files, "sha256:p", BASE)
    assert first == content_hash(files, "sha256:p", BASE)
    assert first != content_hash(files, "sha256:q", BASE)
    assert first != content_hash(files, "sha256:p", "python:3.12-slim")
    (tree / "numerical" / "handler.py").write_text("def handle(task): return 1\n")
    assert first != content_hash(context_files(tree / "numerical"), "sha256:p", BASE)
    (tree / "numerical" / "golden" / "big.csv").write_text("changed")
    edited = content_hash(context_files(tree / "numerical"), "sha256:p", BASE)
    assert edited == content_hash(context_files(tree / "numerical"), "sha256:p", BASE)
    (tree / "numerical" / "lib" / "helper.py").rename(tree / "numerical" / "lib" / "other.py")
    assert edited != content_hash(context_files(tree / "numerical"), "sha256:p", BASE)


@pytest.mark.parametrize(
    ("line", "fraction"),
    [("Step 1/4 : FROM x", 0.0), ("Step 3/4 : RUN y", 0.5), (" ---> Running in abc", None), ("Step 2/0 : x", None)],
)
def test_build_fraction(line: str, fraction: float | None) -> None:
    assert build_fraction(line) == fraction


def test_specialist_build_context_args_labels_and_ca(tree: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    runtime = FakeRuntime()
    builder = _builder(tree, runtime, ca)
    events: list[ImageBuildProgress] = []
    tag = builder.ensure_specialist_image(_spec(tree), events.append)

    assert [r.tag for r, _ in runtime.builds] == [builder.runtime_tag(), tag]
    (rt_req, rt_files), (sp_req, sp_files) = runtime.builds
    assert rt_req.tag.startswith("switchboard-runtime:") and len(rt_req.tag.split(":")[1]) == 12
    assert rt_req.build_args == {"BASE_IMAGE": BASE}
    assert "switchboard_runtime/server.py" in rt_files
    assert not any("__pycache__" in name for name in rt_files)
    assert tag.startswith("switchboard/numerical:")
    assert sp_req.build_args == {"RUNTIME_IMAGE": rt_req.tag}
    assert sp_req.labels["io.switchboard.specialist"] == "numerical"
    assert sp_req.labels["io.switchboard.managed"] == "true"
    assert sp_req.labels["io.switchboard.source-hash"].startswith(tag.split(":")[1])
    assert sp_files["certs/ca.crt"] == ca.read_bytes()
    assert sorted(n for n in sp_files if not n.endswith("/")) == [
        "Dockerfile",
        "certs/ca.crt",
        "handler.py",
        "lib/helper.py",
    ]

    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] and fractions[-1] == 1.0
    assert events[-1].done and events[-1].error is None
    assert builder.image_state(_spec(tree)) == (tag, True)
    assert builder.current_tag(_spec(tree)) == tag


def test_certs_folder_empty_without_trust(tree: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    runtime = FakeRuntime()
    _builder(tree, runtime, ca, pip_trust_host_ca=False).ensure_specialist_image(_spec(tree))
    files = runtime.builds[-1][1]
    assert "certs/" in files and "certs/ca.crt" not in files


def test_second_ensure_builds_nothing_and_edit_rebuilds(tree: Path) -> None:
    runtime = FakeRuntime()
    builder = _builder(tree, runtime, None)
    first = builder.ensure_specialist_image(_spec(tree))
    events: list[ImageBuildProgress] = []
    assert builder.ensure_specialist_image(_spec(tree), events.append) == first
    assert len(runtime.builds) == 2
    assert [e.line for e in events] == [f"up to date: {first}"]
    (tree / "numerical" / "handler.py").write_text("changed\n")
    assert builder.image_state(_spec(tree)) == (builder.current_tag(_spec(tree)), False)
    second = builder.ensure_specialist_image(_spec(tree))
    assert second != first and len(runtime.builds) == 3


def test_concurrent_ensure_builds_once(tree: Path) -> None:
    runtime = FakeRuntime(build_seconds=0.3)
    builder = _builder(tree, runtime, None)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(builder.ensure_runtime_image())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(set(results)) == 1 and len(results) == 4
    assert len(runtime.builds) == 1


def test_missing_offline_base_says_how_to_fix(tree: Path) -> None:
    runtime = FakeRuntime(images={})
    with pytest.raises(EnvironmentUnavailable) as info:
        _builder(tree, runtime, None).ensure_runtime_image()
    assert "base_image.sh" in str(info.value) and "make setup" in str(info.value)
    assert runtime.builds == [] and runtime.pulls == []


def test_registry_base_is_pulled_and_failure_wrapped(tree: Path) -> None:
    runtime = FakeRuntime(images={})
    _builder(tree, runtime, None, base_image="python:3.12-slim").ensure_runtime_image()
    assert runtime.pulls == ["python:3.12-slim"] and len(runtime.builds) == 1

    failing = FakeRuntime(images={})
    failing.pull_error = EngineError("pull image python:3.12-slim: no route")
    with pytest.raises(EnvironmentUnavailable, match="pulling it failed"):
        _builder(tree, failing, None, base_image="python:3.12-slim").ensure_runtime_image()


def test_build_failure_reports_error_event(tree: Path) -> None:
    runtime = FakeRuntime()
    runtime.fail_with = "building failed: exit 1"
    events: list[ImageBuildProgress] = []
    with pytest.raises(BuildFailed):
        _builder(tree, runtime, None).ensure_specialist_image(_spec(tree), events.append)
    assert events[-1].done and events[-1].error and "exit 1" in events[-1].error


def test_folder_without_dockerfile_is_refused(tree: Path) -> None:
    (tree / "numerical" / "Dockerfile").unlink()
    with pytest.raises(BuildFailed, match="no Dockerfile"):
        _builder(tree, FakeRuntime(), None).ensure_specialist_image(_spec(tree))
