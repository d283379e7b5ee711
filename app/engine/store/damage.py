"""Opening the store when its SQLite file is damaged: keep the file aside, start empty, say so.

A damaged database (``PRAGMA quick_check`` fails, or the engine's own file has lost its
header) is never repaired in place: repairing rewrites pages and can lose what a restore
would have kept. The file and its ``-wal``/``-shm`` companions are renamed to
``<name>.damaged-<UTC time>`` (nothing is deleted or rewritten), a fresh database is created
under the original name, and :attr:`Store.notice` says which file was kept where, so the
status bar and ``doctor`` can tell the user. The next start finds a healthy file: no crash
loop. Foreign or newer databases are still refused untouched (``check_database``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from app.engine.core.errors import DatabaseUnavailable
from app.engine.store.engine import DatabaseDamaged
from app.engine.store.store import Store

__all__ = ["keep_aside", "open_store"]

log = logging.getLogger(__name__)
COMPANIONS = ("", "-wal", "-shm", "-journal")


def keep_aside(path: Path) -> Path:
    """Rename ``path`` and its journal files to ``<name>.damaged-<UTC time>``; return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in COMPANIONS:
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(target.with_name(target.name + suffix))
    return target


def _is_own_unreadable(exc: DatabaseUnavailable, own_file: Path | None) -> bool:
    return own_file is not None and own_file.exists() and "is not a SQLite database" in exc.message


def open_store(url: str, *, data_dir: Path, own_file: Path | None = None) -> Store:
    """A :class:`Store` for ``url``; a damaged database is kept aside and replaced by an empty one.

    ``own_file`` is the engine's default database file (``database_url`` unset): only for it
    does "not a SQLite database" mean a destroyed header rather than someone else's file.
    """
    try:
        return Store(url, data_dir=data_dir)
    except DatabaseDamaged as exc:
        damaged, detail = exc.path, exc.detail
    except DatabaseUnavailable as exc:
        if not _is_own_unreadable(exc, own_file):
            raise
        assert own_file is not None
        damaged, detail = own_file, "the file header is destroyed (not a SQLite database any more)"
    kept = keep_aside(damaged)
    log.error("database %s is damaged (%s); kept as %s, starting with an empty database", damaged, detail, kept)
    store = Store(url, data_dir=data_dir)
    store.notice = (
        f"The database {damaged} was damaged ({detail}). It was kept unchanged as {kept} and the app "
        "started with an empty database. To restore it, quit the app and put a backup (or that file) "
        f"back at {damaged}."
    )
    return store
