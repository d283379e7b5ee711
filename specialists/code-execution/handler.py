"""Code-execution specialist: run the user's Python in a limited child process.

The code comes from the plan (``{"code": ...}``), a fenced Python block, a dropped ``.py``
file, or the whole text when it parses as a Python program. Ordinary exceptions in user code
are a normal result (exit code + traceback); hitting a sandbox limit is an error whose kind
and message say which limit.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

from sandbox import Limits, RunOutcome, run_python
from switchboard_runtime.api import BadPlan, NeedsPlan, Result, SpecialistError, Task
from switchboard_runtime.files import check_input, read_text

__all__ = ["extract_code", "handle"]

MAX_CODE_BYTES = 256 * 1024
MAX_ARTIFACT_BYTES = 16 * 1024 * 1024
MAX_ARTIFACTS_TOTAL = 64 * 1024 * 1024
_FENCE = re.compile(r"```(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def _looks_like_program(text: str) -> bool:
    """True when ``text`` compiles and is more than a bare name or constant (i.e. not prose)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    if not tree.body:
        return False
    trivial = all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant)
        for node in tree.body
    )
    return not trivial


def extract_code(task: Task) -> tuple[str, str]:
    """Return ``(code, source)`` for the task or raise NeedsPlan/BadPlan/bad_input."""
    if task.plan is not None:
        code = task.plan.get("code") if isinstance(task.plan, dict) else None
        if not isinstance(code, str) or not code.strip():
            raise BadPlan("The plan needs a non-empty 'code' string.")
        return code, "plan"
    match = _FENCE.search(task.text)
    if match:
        return match.group(1), "fenced block"
    for item in task.inputs:
        if item.name.lower().endswith(".py"):
            text, _ = read_text(item, max_bytes=MAX_CODE_BYTES)
            return text, item.name
    if _looks_like_program(task.text.strip()):
        return task.text, "task text"
    raise NeedsPlan("The task is not Python code; a plan with the code to run is needed.")


def _limits(task: Task) -> Limits:
    """CPU seconds below the wall limit, so a busy loop is reported as a CPU limit hit."""
    wall = max(1.0, min(task.timeout_s - 2.0, 120.0))
    return Limits(cpu_s=max(1, int(min(wall * 0.75, 60.0))), wall_s=wall)


def _classify(outcome: RunOutcome, limits: Limits) -> SpecialistError | None:
    """Turn a limit hit into an error that names the limit; None for a normal run."""
    err = outcome.stderr.decode("utf-8", "replace")
    if "BlockingIOError" in err or "Resource temporarily unavailable" in err:
        return SpecialistError(
            "limit", "The code hit the process limit (too many processes or threads; fork bomb?)."
        )
    if outcome.signal == signal.SIGXCPU or (outcome.signal == signal.SIGKILL and not outcome.timed_out
                                           and "CPU" in err):
        return SpecialistError("limit", f"The code used more than the CPU time limit of {limits.cpu_s} s.")
    if outcome.signal == signal.SIGXFSZ or "File too large" in err:
        return SpecialistError(
            "limit", f"The code wrote a file (or output) larger than the {limits.file_mb} MB file-size limit."
        )
    if "MemoryError" in err or "Cannot allocate memory" in err:
        return SpecialistError("limit", f"The code exceeded the memory limit of {limits.memory_mb} MB.")
    if outcome.signal == signal.SIGKILL and not outcome.timed_out:
        return SpecialistError("limit", "The code was killed, most likely by the container's memory limit.")
    if "No space left on device" in err:
        return SpecialistError("limit", "The code filled the sandbox's temporary disk space.")
    if outcome.timed_out:
        return SpecialistError("timeout", f"The code ran longer than the wall-clock limit of {limits.wall_s:g} s.")
    if "docker.sock" in err and ("FileNotFoundError" in err or "PermissionError" in err):
        return SpecialistError("forbidden", "The Docker socket is not available inside the sandbox.")
    if re.search(r"Network is unreachable|gaierror|Temporary failure in name resolution|"
                 r"Name or service not known|No route to host", err):
        return SpecialistError("forbidden", "Network access is disabled in the code-execution sandbox.")
    if "Too many open files" in err:
        return SpecialistError("limit", f"The code exceeded the open-files limit of {limits.open_files}.")
    return None


def _collect(cwd: Path, skip: set[str], output_dir: Path) -> list[Path]:
    """Copy regular files the code wrote in its folder into ``output_dir`` (size-capped)."""
    copied: list[Path] = []
    total = 0
    for dirpath, _dirs, files in os.walk(cwd):
        for name in sorted(files):
            src = Path(dirpath) / name
            rel = src.relative_to(cwd)
            if str(rel) in skip or src.is_symlink() or not src.is_file():
                continue
            size = src.stat().st_size
            if size > MAX_ARTIFACT_BYTES or total + size > MAX_ARTIFACTS_TOTAL:
                continue
            dest = output_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            total += size
            copied.append(dest)
    return copied


def handle(task: Task) -> Result:
    """Run the task's Python code and report stdout, stderr, exit code and written files."""
    code, source = extract_code(task)
    if len(code.encode("utf-8")) > MAX_CODE_BYTES:
        raise SpecialistError("limit", f"The code is larger than {MAX_CODE_BYTES // 1024} KB.")
    limits = _limits(task)
    run_root = Path(tempfile.mkdtemp(prefix="run-", dir="/tmp"))
    try:
        cwd, logs = run_root / "work", run_root / "logs"
        cwd.mkdir()
        logs.mkdir()
        skip = {"main.py"}
        for item in task.inputs:
            if item.name.lower().endswith(".py") and source == item.name:
                continue
            path = check_input(item)
            shutil.copyfile(path, cwd / Path(item.name).name)
            skip.add(Path(item.name).name)
        script = cwd / "main.py"
        script.write_text(code, encoding="utf-8")
        cap = max(1024, task.max_output_bytes // 4)
        outcome = run_python(script, cwd, logs, limits, cap)
        problem = _classify(outcome, limits)
        if problem is not None:
            raise problem
        task.output_dir.mkdir(parents=True, exist_ok=True)
        artifacts = _collect(cwd, skip, task.output_dir)
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
    stdout = outcome.stdout.decode("utf-8", "replace")
    stderr = outcome.stderr.decode("utf-8", "replace")
    code_no = outcome.exit_code
    if code_no == 0:
        answer = stdout.strip() or "(the code ran without printing anything)"
    else:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        answer = f"exit code {code_no}: {last}"
    return Result(
        answer=answer,
        data={"exit_code": code_no, "wall_ms": round(outcome.wall_ms, 1), "source": source,
              "files": [p.name for p in artifacts]},
        artifacts=artifacts,
        operation_kind="python",
        operation_text=code if len(code) < 2000 else code[:2000] + "\n...",
        stdout=stdout,
        stderr=stderr,
    )
