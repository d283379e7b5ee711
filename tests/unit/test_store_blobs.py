"""Content-addressed blob store: layout, dedupe, read-only files, refusals, linking."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest

from app.engine.core.errors import BadInput
from app.engine.store import BlobRef, BlobStore


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def _stored_files(store: BlobStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


def test_put_file_layout_readonly_and_dedupe(blobs: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several read chunks
    digest = hashlib.sha256(data).hexdigest()
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(data)
    second.write_bytes(data)

    ref = blobs.put_file(first)
    assert ref == BlobRef(digest, len(data))
    stored = blobs.path(digest)
    assert stored == blobs.root / digest[:2] / digest[2:]
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    mtime = stored.stat().st_mtime_ns

    assert blobs.put_file(second) == ref
    assert blobs.put_bytes(data) == ref
    assert _stored_files(blobs) == [stored]  # stored once, no temp files left
    assert stored.stat().st_mtime_ns == mtime
    assert blobs.exists(digest)
    assert not blobs.exists("0" * 64)

    other = blobs.put_bytes(b"")
    assert other == BlobRef(hashlib.sha256(b"").hexdigest(), 0)
    assert len(_stored_files(blobs)) == 2


def test_refuses_symlinks_folders_fifos_and_missing(blobs: BlobStore, tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("data")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(BadInput, match="symbolic link"):
        blobs.put_file(link)
    with pytest.raises(BadInput, match="not a regular file"):
        blobs.put_file(tmp_path)
    with pytest.raises(BadInput, match="not a regular file"):  # must not block on open
        blobs.put_file(fifo)
    with pytest.raises(BadInput, match="no such file"):
        blobs.put_file(tmp_path / "missing")
    assert _stored_files(blobs) == []


def test_size_limit_leaves_nothing_behind(blobs: BlobStore, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(BadInput, match="larger than the limit of 4096 bytes"):
        blobs.put_file(big, max_bytes=4096)
    assert _stored_files(blobs) == []
    assert blobs.put_file(big, max_bytes=5000).bytes == 5000


def test_bad_digests_are_refused(blobs: BlobStore, tmp_path: Path) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "ab", "g" * 64):
        with pytest.raises(BadInput, match="not a sha256"):
            blobs.path(bad)
    with pytest.raises(BadInput, match="not stored"):
        blobs.link_into("0" * 64, tmp_path / "x")


def test_link_into_hardlinks_and_replaces(blobs: BlobStore, tmp_path: Path) -> None:
    ref = blobs.put_bytes(b"a,b\n1,2\n")
    dest = tmp_path / "exchange" / "in" / "task1" / "sales.csv"
    assert blobs.link_into(ref.sha256, dest) == dest
    assert dest.read_bytes() == b"a,b\n1,2\n"
    assert os.path.samefile(dest, blobs.path(ref.sha256))
    blobs.link_into(ref.sha256, dest)  # a retry links again over the old one
    assert os.path.samefile(dest, blobs.path(ref.sha256))
    assert sorted(p.name for p in dest.parent.iterdir()) == ["sales.csv"]


def test_link_into_copies_across_devices(blobs: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = blobs.put_bytes(b"payload")

    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    dest = tmp_path / "elsewhere" / "payload.bin"
    blobs.link_into(ref.sha256, dest)
    assert dest.read_bytes() == b"payload"
    assert not os.path.samefile(dest, blobs.path(ref.sha256))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o444
