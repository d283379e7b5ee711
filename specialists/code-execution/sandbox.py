"""Run untrusted Python in a child process with resource limits and a wall-clock timeout.

The container is already hardened (read-only root, no network, no capabilities, pids and
memory cgroup limits); these rlimits make each failure specific and keep the server usable:
CPU seconds (SIGXCPU), address space (MemoryError), file size (SIGXFSZ), open files, and a
process cap. Every process of the run shares one session, so all of them are killed at the end.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "RunOutcome", "kill_session", "python_command", "run_python"]


@dataclass(frozen=True)
class Limits:
    """Per-run limits; sizes in MiB."""

    cpu_s: int = 20
    wall_s: float = 30.0
    memory_mb: int = 384
    file_mb: int = 32
    open_files: int = 128
    nproc: int = 256


@dataclass
class RunOutcome:
    """What happened to the child process."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    stdout: bytes
    stderr: bytes
    wall_ms: float


def _scrubbed_env(cwd: Path) -> dict[str, str]:
    """A minimal environment: nothing from the server's own environment reaches user code."""
    return {
        "PATH": "/opt/venv/bin:/usr/bin:/bin",
        "HOME": str(cwd),
        "TMPDIR": str(cwd),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def _limiter(limits: Limits):  # type: ignore[no-untyped-def]
    """Return the function the child runs between fork and exec to apply its rlimits."""

    def apply() -> None:
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mb, limits.file_mb * mb))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.umask(0o077)

    return apply


def kill_session(sid: int) -> int:
    """SIGKILL every process in session ``sid`` (the run's child and anything it forked).

    Forked children keep the session even when their parent dies, so the /proc scan finds
    a fork bomb's survivors that a single ``killpg`` could miss. Returns how many it killed.
    """
    killed = 0
    for _ in range(50):
        found = 0
        try:
            os.killpg(sid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if len(fields) > 4 and int(fields[3]) == sid and fields[0] != "Z":
                found += 1
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        killed += found
        if not found:
            break
        time.sleep(0.02)
    return killed


def _read_capped(path: Path, cap: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return b""
    if len(data) > cap:
        size = path.stat().st_size
        return data[:cap] + f"\n... [truncated, {size} bytes in total]".encode()
    return data


def python_command(target: Path | Sequence[str]) -> list[str]:
    """The child's argv: the interpreter, fixed flags, then ``target``.

    ``target`` is a script path or the words after ``python`` (``["stats.py", "--n", "5"]``,
    ``["-m", "unittest", "test_x"]``, ``["-c", code]``). ``-E -s`` ignore the environment and
    the user site like ``-I`` does, but keep the script's folder (or, with ``-m``, the working
    folder) on ``sys.path`` so dropped helper modules import as they would on the user's
    machine; ``-B`` stops those imports leaving ``__pycache__`` among the returned files.
    """
    words = [str(target)] if isinstance(target, Path) else [str(w) for w in target]
    return [sys.executable, "-E", "-s", "-B", "-X", "utf8", *words]


def run_python(target: Path | Sequence[str], cwd: Path, logs: Path, limits: Limits, cap: int) -> RunOutcome:
    """Run ``target`` (see :func:`python_command`) in ``cwd``; output goes to files in ``logs``."""
    out_path, err_path = logs / "stdout", logs / "stderr"
    started = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(  # noqa: S603 - the point of this specialist
            python_command(target),
            cwd=cwd,
            env=_scrubbed_env(cwd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limiter(limits),  # noqa: PLW1509 - rlimits must be set in the child
            close_fds=True,
        )
        timed_out = False
        try:
            child.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        kill_session(child.pid)
        child.wait()
    code = child.returncode
    return RunOutcome(
        exit_code=code if code is not None and code >= 0 else None,
        signal=-code if code is not None and code < 0 else None,
        timed_out=timed_out,
        stdout=_read_capped(out_path, cap),
        stderr=_read_capped(err_path, cap),
        wall_ms=(time.perf_counter() - started) * 1000.0,
    )
