"""Run a model-written program for one task, in the container the engine started for it alone.

The engine starts a fresh container per program (no network, no ``/data``, the task's inputs
only). Here the program runs as a child process with rlimits in a scratch folder that holds
links to the task's inputs; whatever it prints is the answer, files it writes there are
returned as artifacts (regular files only). A non-zero exit, a traceback or a limit is an
error whose message names what happened, so the engine can check and try again.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from switchboard_runtime.api import Result, SpecialistError, Table, Task

__all__ = ["run_program"]

MAX_PRINT = 64 * 1024
_MB = 1024 * 1024


def _limits(memory_mb: int, cpu_s: int, file_mb: int) -> object:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * _MB, memory_mb * _MB))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * _MB, file_mb * _MB))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.umask(0o077)

    return apply


def _env(cwd: Path) -> dict[str, str]:
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


def _read(path: Path) -> str:
    with open(path, "rb") as f:
        data = f.read(MAX_PRINT + 1)
    text = data[:MAX_PRINT].decode("utf-8", errors="replace")
    return text + ("\n… [output truncated]" if len(data) > MAX_PRINT else "")


_NUM = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _cell(text: str) -> object:
    """A CSV cell as a number when it is one (float noise such as 1278.6399999999999 rounded)."""
    if _NUM.fullmatch(text.strip() or "x"):
        value = float(text)
        if value.is_integer() and "." not in text and "e" not in text.lower():
            return int(value)
        return float(f"{value:.12g}")
    return text


_UNIT_POWER = re.compile(r"(?<=[A-Za-zµ°])\s*(?:\^|\*\*)\s*[-−]?\d+|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")  # cm^2, m**3, s^-1, m²


_REAL_COMPLEX = re.compile(r"\(?([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)[-+]0(?:\.0*)?j\)?\s*$")


def final_value(answer: str) -> float | None:
    """The last number on the last non-empty line: the answer's value by the prompt's convention.

    The power of a unit is not a number of the answer: "4800 cm^2" is 4800, not 2.
    """
    lines = [line for line in answer.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = _UNIT_POWER.sub("", lines[-1]).replace(",", "")
    real = _REAL_COMPLEX.search(last)  # (8+0j): a complex number with no imaginary part is its real part
    if real is not None:
        return float(f"{float(real.group(1)):.12g}")
    found = _NUM.findall(last)
    return float(f"{float(found[-1]):.12g}") if found else None


def _csv_table(path: Path) -> Table | None:
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [row for _, row in zip(range(201), csv.reader(f), strict=False)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if len(rows) < 2:
        return None
    return Table(name=path.name, columns=rows[0], rows=[[_cell(c) for c in row] for row in rows[1:]])


def _disk_full(folder: Path) -> bool:
    """True when the file system holding ``folder`` has less than 1 MiB free."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < _MB


def run_program(task: Task) -> Result:
    """Run ``task.program``; raise :class:`SpecialistError` when it fails, with the reason."""
    code = task.program or ""
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"program-{task.id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for item in task.inputs:
        link = work / item.name
        if not link.exists():
            link.symlink_to(item.path)
    script = work / ".program.py"
    script.write_text(code, encoding="utf-8")
    before = {p.name for p in work.iterdir()}
    wall = max(1.0, task.timeout_s - 1.0)
    memory_mb = int(os.environ.get("SWITCHBOARD_PROGRAM_MEMORY_MB", "1024"))
    out_path, err_path = work / ".stdout", work / ".stderr"
    started = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(  # noqa: S603 - the program is the task
            [sys.executable, "-E", "-s", "-B", "-X", "utf8", str(script)],
            cwd=work,
            env=_env(work),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limits(memory_mb, int(wall) + 1, 64),  # noqa: PLW1509
            close_fds=True,
        )
        timed_out = False
        try:
            child.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child.wait()
    wall_ms = (time.perf_counter() - started) * 1000.0
    stdout, stderr = _read(out_path), _read(err_path)
    if timed_out:
        raise SpecialistError("timeout", f"the program did not finish within {wall:g} s (wall-clock limit)")
    rc = child.returncode
    if rc != 0 and _disk_full(work):
        raise SpecialistError("limit", "the program filled the sandbox's temporary disk space (/tmp tmpfs limit)")
    if rc != 0:
        if rc in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in stderr:
            raise SpecialistError(
                "limit", f"the program was stopped by the sandbox (signal {-rc}: CPU or process limit)"
            )
        if "MemoryError" in stderr:
            raise SpecialistError("limit", f"the program ran out of memory (limit {memory_mb} MB)")
        last = [line for line in stderr.strip().splitlines() if line.strip()][-6:]
        raise SpecialistError("bad_input", "the program failed: " + " | ".join(last)[-900:])
    task.output_dir.mkdir(parents=True, exist_ok=True)
    artifacts: list[Path] = []
    tables: list[Table] = []
    for path in sorted(work.iterdir()):
        if path.name in before or path.is_symlink() or not path.is_file() or path.name.startswith("."):
            continue
        dest = task.output_dir / path.name
        shutil.copyfile(path, dest)
        artifacts.append(dest)
        if path.suffix.lower() in (".csv", ".tsv"):
            table = _csv_table(path)
            if table is not None:
                tables.append(table)
    shutil.rmtree(work, ignore_errors=True)
    answer = stdout.strip()
    if not answer and not artifacts:
        raise SpecialistError("bad_input", "the program printed nothing and wrote no file")
    return Result(
        answer=answer or "wrote " + ", ".join(p.name for p in artifacts),
        data={"program_ms": round(wall_ms, 1), **({"value": v} if (v := final_value(answer)) is not None else {})},
        tables=tables,
        artifacts=artifacts,
        operation_kind="python",
        operation_text=code,
        path="program",
        stdout=stdout,
        stderr=stderr,
    )
