"""Container resource samples read straight from the host's cgroup files.

``container.stats(stream=False)`` takes 1-2 s per call because the daemon waits for its next
sampling tick; the same numbers sit in a handful of cgroup files that read in ~120 µs. The
reader supports cgroup v1 (``/sys/fs/cgroup/{memory,cpuacct,pids}/docker/<id>``) and v2
(``/sys/fs/cgroup/docker/<id>`` or ``system.slice/docker-<id>.scope``), and answers ``None``
when the files are not there (remote engine, another cgroup layout) so the caller can fall
back to the API. CPU % needs two readings: :class:`CgroupStatsReader` keeps the previous
reading per container and reports 0.0 for the very first one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from app.engine.runtime.protocol import ContainerStats

__all__ = ["CgroupSample", "CgroupStatsReader", "cpu_percent"]

# cgroup v1 reports "no limit" as a page-aligned huge number.
_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class CgroupSample:
    """Raw counters of one container at one moment."""

    memory_bytes: int
    memory_limit_bytes: int
    pids: int
    cpu_ns: int
    mono_s: float


def cpu_percent(previous: CgroupSample | None, current: CgroupSample) -> float:
    """CPU use between two samples, in percent of one core (200.0 = two busy cores)."""
    if previous is None:
        return 0.0
    wall = current.mono_s - previous.mono_s
    used = current.cpu_ns - previous.cpu_ns
    if wall <= 0 or used < 0:
        return 0.0
    return round(used / 1e9 / wall * 100.0, 2)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return 0
    try:
        return int(text)
    except ValueError:
        return None


def _stat_value(path: Path, key: str) -> int:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        name, _, value = line.partition(" ")
        if name == key:
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class CgroupStatsReader:
    """Read samples from ``root`` (``/sys/fs/cgroup``); thread-safe.

    Parameters
    ----------
    root
        The cgroup mount point; tests point it at a fake tree.
    """

    def __init__(self, root: Path = Path("/sys/fs/cgroup")) -> None:
        self._root = root
        self._v2 = (root / "cgroup.controllers").exists()
        self._lock = threading.Lock()
        self._previous: dict[str, CgroupSample] = {}

    @property
    def version(self) -> str:
        """``"2"`` on the unified hierarchy, else ``"1"``."""
        return "2" if self._v2 else "1"

    def sample(self, container_id: str) -> CgroupSample | None:
        """Read the raw counters, or ``None`` when this container's files are not visible."""
        return self._sample_v2(container_id) if self._v2 else self._sample_v1(container_id)

    def stats(self, container_id: str) -> ContainerStats | None:
        """A :class:`ContainerStats` with CPU % since the previous call for this container."""
        current = self.sample(container_id)
        if current is None:
            return None
        with self._lock:
            previous = self._previous.get(container_id)
            self._previous[container_id] = current
        return ContainerStats(
            cpu_percent=cpu_percent(previous, current),
            memory_bytes=current.memory_bytes,
            memory_limit_bytes=current.memory_limit_bytes,
            pids=current.pids,
            cpu_seconds_total=current.cpu_ns / 1e9,
        )

    def forget(self, container_id: str) -> None:
        """Drop the kept reading of a removed container."""
        with self._lock:
            self._previous.pop(container_id, None)

    def _v1_dir(self, controller: str, container_id: str) -> Path | None:
        for rel in (f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"):
            path = self._root / controller / rel
            if path.is_dir():
                return path
        return None

    def _sample_v1(self, container_id: str) -> CgroupSample | None:
        memory = self._v1_dir("memory", container_id)
        cpuacct = self._v1_dir("cpuacct", container_id) or self._v1_dir("cpu,cpuacct", container_id)
        if memory is None or cpuacct is None:
            return None
        usage = _read_int(memory / "memory.usage_in_bytes")
        cpu_ns = _read_int(cpuacct / "cpuacct.usage")
        if usage is None or cpu_ns is None:
            return None
        limit = _read_int(memory / "memory.limit_in_bytes") or 0
        # Like `docker stats`: page cache that can be dropped is not the container's memory.
        inactive = _stat_value(memory / "memory.stat", "total_inactive_file")
        pids_dir = self._v1_dir("pids", container_id)
        pids = _read_int(pids_dir / "pids.current") if pids_dir else None
        return CgroupSample(
            memory_bytes=max(usage - inactive, 0),
            memory_limit_bytes=0 if limit >= _UNLIMITED else limit,
            pids=pids or 0,
            cpu_ns=cpu_ns,
            mono_s=time.monotonic(),
        )

    def _sample_v2(self, container_id: str) -> CgroupSample | None:
        folder = None
        for rel in (f"system.slice/docker-{container_id}.scope", f"docker/{container_id}"):
            if (self._root / rel).is_dir():
                folder = self._root / rel
                break
        if folder is None:
            return None
        usage = _read_int(folder / "memory.current")
        if usage is None:
            return None
        inactive = _stat_value(folder / "memory.stat", "inactive_file")
        return CgroupSample(
            memory_bytes=max(usage - inactive, 0),
            memory_limit_bytes=_read_int(folder / "memory.max") or 0,
            pids=_read_int(folder / "pids.current") or 0,
            cpu_ns=_stat_value(folder / "cpu.stat", "usage_usec") * 1000,
            mono_s=time.monotonic(),
        )
