"""Build the runtime and specialist images, tagged by a hash of what goes into them.

A tag is ``<repo>:<first 12 hex of the content hash>``, the hash covering every context file
(relative path and bytes), the parent image id and the base image name. So an unchanged
specialist never rebuilds (the tag exists: instant), and any edit, or a rebuilt parent,
gives a new tag. The host CA bundle that lets pip through a re-signing proxy goes into the
context (``certs/ca.crt``) but not into the hash: trusting a proxy changes how packages are
fetched, not what the image holds, and a CA update must not rebuild every image.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from app.engine.core.config import Settings
from app.engine.core.errors import BuildFailed, EngineError, EnvironmentUnavailable
from app.engine.core.events import ImageBuildProgress
from app.engine.core.specs import SpecialistSpec
from app.engine.runtime.protocol import (
    LABEL_MANAGED,
    LABEL_SOURCE_HASH,
    LABEL_SPECIALIST,
    BuildRequest,
    ContainerRuntime,
)

__all__ = ["HOST_CA_BUNDLE", "ImageBuilder", "build_fraction", "content_hash", "context_files"]

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RUNTIME_REPO = "switchboard-runtime"
OFFLINE_BASE_PREFIX = "switchboard-base:"
SETUP_FIX = "run packaging/setup/base_image.sh, or `make setup`"

_SKIP_TOP = {"golden", "certs", "natural", "natural.jsonl", "examples.jsonl"}
_SKIP_ANY = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"}
_SKIP_SUFFIX = (".pyc", ".pyo")
_STEP = re.compile(r"^Step (\d+)/(\d+)\s*:")
# Share of the progress bar given to the runtime image when a specialist build needs it too.
_RUNTIME_SHARE = 0.3


def context_files(folder: Path) -> list[tuple[str, Path]]:
    """``(relative posix path, path)`` of every file that goes into a build context, sorted.

    Skips ``golden/`` (test data, never in an image), caches and byte-code, and symlinks (a
    link could pull a host file into an image).
    """
    found: list[tuple[str, Path]] = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        parts = rel.parts
        if parts[0] in _SKIP_TOP or any(p in _SKIP_ANY for p in parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix in _SKIP_SUFFIX:
            continue
        found.append((rel.as_posix(), path))
    return sorted(found)


def content_hash(files: list[tuple[str, Path]], parent_id: str, base_image: str) -> str:
    """sha256 over each file's relative path and bytes, then the parent id and base name."""
    digest = hashlib.sha256()
    for rel, path in files:
        data = path.read_bytes()
        digest.update(f"file\0{rel}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(f"parent\0{parent_id}\0base\0{base_image}\0".encode())
    return digest.hexdigest()


def build_fraction(line: str) -> float | None:
    """Fraction done from a legacy-builder ``Step N/M :`` line (``None`` for other lines)."""
    match = _STEP.match(line.strip())
    if not match:
        return None
    step, total = int(match.group(1)), int(match.group(2))
    return (step - 1) / total if total else None


class ImageBuilder:
    """Ensure the runtime and specialist images exist, building each at most once at a time.

    Parameters
    ----------
    settings
        ``base_image``, ``specialists_dir`` and ``pip_trust_host_ca`` are used.
    runtime
        The container runtime that builds and inspects images.
    host_ca
        The CA bundle copied to ``certs/ca.crt``; tests point it elsewhere.
    """

    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: Settings, runtime: ContainerRuntime, host_ca: Path = HOST_CA_BUNDLE) -> None:
        self._settings = settings
        self._runtime = runtime
        self._host_ca = host_ca

    @property
    def runtime_dir(self) -> Path:
        """Folder of the shared in-container server (``specialists/runtime``)."""
        return self._settings.specialists_dir / "runtime"

    # -- tags -----------------------------------------------------------------------------

    def runtime_hash(self) -> str:
        """Content hash of the runtime image as it would be built now."""
        base = self._settings.base_image
        return content_hash(context_files(self.runtime_dir), self._runtime.image_id(base) or "", base)

    def runtime_tag(self) -> str:
        """``switchboard-runtime:<hash12>`` for the current sources and base image."""
        return f"{RUNTIME_REPO}:{self.runtime_hash()[:12]}"

    def _spec_hash(self, spec: SpecialistSpec, runtime_tag: str) -> str:
        parent = self._runtime.image_id(runtime_tag) or f"missing:{runtime_tag}"
        return content_hash(context_files(spec.folder), parent, self._settings.base_image)

    def current_tag(self, spec: SpecialistSpec) -> str:
        """``switchboard/<id>:<hash12>`` for the current sources (without building anything).

        While the runtime image is missing the tag cannot be final (its id is part of the
        hash); the answer then names an image that does not exist, which is the truth.
        """
        return f"{spec.image_repo}:{self._spec_hash(spec, self.runtime_tag())[:12]}"

    def image_state(self, spec: SpecialistSpec) -> tuple[str, bool]:
        """The current tag and whether that image is present."""
        tag = self.current_tag(spec)
        return tag, self._runtime.image_exists(tag)

    # -- building -------------------------------------------------------------------------

    def ensure_base_image(self) -> str:
        """Make sure the base image is present (pulling a registry image); return its id."""
        base = self._settings.base_image
        found = self._runtime.image_id(base)
        if found:
            return found
        if base.startswith(OFFLINE_BASE_PREFIX):
            raise EnvironmentUnavailable(f"the offline base image {base} is missing", hint=SETUP_FIX)
        pull: Callable[[str], str] | None = getattr(self._runtime, "pull_image", None)
        if pull is None:
            raise EnvironmentUnavailable(f"base image {base} is missing and this runtime cannot pull")
        try:
            return pull(base)
        except EngineError as exc:
            raise EnvironmentUnavailable(
                f"base image {base} is missing and pulling it failed: {exc}",
                hint=f"no registry reachable? set base_image to the offline image and {SETUP_FIX}",
            ) from exc

    def ensure_runtime_image(self, on_line: Callable[[str], None] | None = None) -> str:
        """Build ``switchboard-runtime:<hash12>`` unless present; return the tag."""
        self.ensure_base_image()
        full = self.runtime_hash()
        tag = f"{RUNTIME_REPO}:{full[:12]}"
        labels = {LABEL_MANAGED: "true", LABEL_SPECIALIST: "runtime", LABEL_SOURCE_HASH: full}
        self._build_once(tag, self.runtime_dir, {"BASE_IMAGE": self._settings.base_image}, labels, on_line)
        return tag

    def ensure_specialist_image(
        self, spec: SpecialistSpec, on_progress: Callable[[ImageBuildProgress], None] | None = None
    ) -> str:
        """Build ``switchboard/<id>:<hash12>`` (and the runtime first) unless present.

        ``on_progress`` receives :class:`ImageBuildProgress` for every build line, with a
        fraction from the ``Step N/M`` lines, and a final one with ``done=True`` (and
        ``error`` when the build failed).
        """
        # While the runtime image builds, its steps fill the first part of the bar.
        phase = {"start": 0.0, "span": _RUNTIME_SHARE}

        def report(line: str) -> None:
            if on_progress is None:
                return
            fraction = build_fraction(line)
            if fraction is not None:
                fraction = phase["start"] + phase["span"] * fraction
            on_progress(ImageBuildProgress(specialist=spec.id, line=line, fraction=fraction))

        try:
            runtime_built = not self._runtime.image_exists(self.runtime_tag())
            runtime_tag = self.ensure_runtime_image(report)
            if runtime_built:
                phase["start"], phase["span"] = _RUNTIME_SHARE, 1.0 - _RUNTIME_SHARE
            else:
                phase["start"], phase["span"] = 0.0, 1.0
            full = self._spec_hash(spec, runtime_tag)
            tag = f"{spec.image_repo}:{full[:12]}"
            labels = {LABEL_MANAGED: "true", LABEL_SPECIALIST: spec.id, LABEL_SOURCE_HASH: full}
            built = self._build_once(tag, spec.folder, {"RUNTIME_IMAGE": runtime_tag}, labels, report)
        except EngineError as exc:
            if on_progress is not None:
                on_progress(
                    ImageBuildProgress(specialist=spec.id, line=str(exc).splitlines()[0], done=True, error=str(exc))
                )
            raise
        if on_progress is not None:
            verb = "built" if built else "up to date:"
            on_progress(ImageBuildProgress(specialist=spec.id, line=f"{verb} {tag}", fraction=1.0, done=True))
        return tag

    @classmethod
    def _lock(cls, tag: str) -> threading.Lock:
        with cls._locks_guard:
            return cls._locks.setdefault(tag, threading.Lock())

    def _build_once(
        self,
        tag: str,
        folder: Path,
        build_args: dict[str, str],
        labels: dict[str, str],
        on_line: Callable[[str], None] | None,
    ) -> bool:
        """Build ``tag`` from ``folder`` unless it exists; True when a build ran."""
        if not (folder / "Dockerfile").is_file():
            raise BuildFailed(f"{folder} has no Dockerfile")
        with self._lock(tag):
            if self._runtime.image_exists(tag):
                return False
            with tempfile.TemporaryDirectory(prefix="switchboard-build-") as tmp:
                context = Path(tmp)
                self._assemble(folder, context)
                request = BuildRequest(tag=tag, context=context, build_args=build_args, labels=labels)
                self._runtime.build_image(request, on_line or (lambda _line: None))
        return True

    def _assemble(self, folder: Path, context: Path) -> None:
        """Copy the context files and ``certs/`` (with the host CA bundle when trusted)."""
        for rel, path in context_files(folder):
            target = context / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            shutil.copymode(path, target)
        certs = context / "certs"
        certs.mkdir(exist_ok=True)
        if self._settings.pip_trust_host_ca and self._host_ca.is_file():
            shutil.copyfile(self._host_ca, certs / "ca.crt")
