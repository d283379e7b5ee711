"""Collect a task's output files from the container's /output tmpfs through the Docker API.

The archive comes from the container, so it is treated as hostile: only regular files are
extracted (no links, devices or paths leaving the folder), with caps on count and size.
"""

from __future__ import annotations

import io
import mimetypes
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from app.engine.core.errors import BadInput, EngineError, NotFound
from app.engine.core.views import ArtifactView
from app.engine.runtime.protocol import ContainerRuntime
from app.engine.store import BlobStore

__all__ = ["MAX_FILES", "collect_outputs"]

MAX_FILES = 200


def collect_outputs(
    runtime: ContainerRuntime, container: str, task_id: str, blobs: BlobStore, max_bytes: int
) -> list[tuple[ArtifactView, str]]:
    """Copy ``/output/<task_id>`` out of the container into the blob store.

    Returns (artifact view, sha256) pairs named relative to the task's folder.
    """
    try:
        data = runtime.read_dir(container, f"/output/{task_id}", max_bytes=max_bytes)
    except NotFound:
        return []  # nothing written: the folder does not exist
    except BadInput:
        raise  # over the size cap
    except EngineError:
        return []  # the container is gone
    found: list[tuple[ArtifactView, str]] = []
    with tarfile.open(fileobj=io.BytesIO(data)) as archive, tempfile.TemporaryDirectory(prefix="sb-out-") as tmp:
        for member in archive.getmembers():
            if not member.isreg():
                continue  # links, devices, folders: never followed or created
            parts = PurePosixPath(member.name).parts[1:]  # drop the top folder (<task_id>)
            if not parts or any(p in ("", ".", "..") for p in parts) or PurePosixPath(member.name).is_absolute():
                continue
            if len(found) >= MAX_FILES:
                break
            source = archive.extractfile(member)
            if source is None:
                continue
            rel = "/".join(parts)
            dest = Path(tmp) / f"{len(found)}.bin"
            with source, open(dest, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    out.write(chunk)
            ref = blobs.put_file(dest)
            mime = mimetypes.guess_type(rel)[0] or "application/octet-stream"
            found.append(
                (ArtifactView(name=rel, path=str(blobs.path(ref.sha256)), bytes=ref.bytes, mime=mime), ref.sha256)
            )
    return found
