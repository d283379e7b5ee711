"""Checks on dropped or attached files, so a bad drop gets a clear message, not a crash.

Pure Python (no Qt): the views call :func:`check_files` before asking for a task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FileCheck", "check_files"]


@dataclass
class FileCheck:
    """Files that can be sent, and one sentence per file (or batch) that cannot."""

    accepted: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file passed and at least one was given."""
        return bool(self.accepted) and not self.problems


def check_files(
    paths: Sequence[Path],
    *,
    accepted_inputs: Sequence[str] | None = None,
    max_files: int = 16,
    max_bytes: int | None = None,
    target: str = "this specialist",
) -> FileCheck:
    """Validate ``paths`` for one task.

    ``accepted_inputs`` is the specialist's list of lower-case extensions; ``None`` means
    "any type" (the router decides), an empty list means the specialist takes text only.
    """
    result = FileCheck()
    if len(paths) > max_files:
        result.problems.append(
            f"{len(paths)} files dropped at once; a task takes at most {max_files}. "
            "Drop fewer files, or zip them into one archive."
        )
        return result
    if accepted_inputs is not None and not accepted_inputs and paths:
        result.problems.append(f"{target} takes text only, not files.")
        return result
    for path in paths:
        name = path.name or str(path)
        if not path.exists():
            result.problems.append(f"{name}: the file no longer exists.")
        elif path.is_dir():
            result.problems.append(f"{name} is a folder; drop the files inside it (or a .zip).")
        elif not path.is_file():
            result.problems.append(f"{name} is not a regular file.")
        elif path.stat().st_size == 0:
            result.problems.append(f"{name} is empty (0 bytes).")
        elif max_bytes is not None and path.stat().st_size > max_bytes:
            result.problems.append(f"{name} is larger than the {max_bytes // (1024 * 1024)} MB limit.")
        elif accepted_inputs and path.suffix.lower() not in accepted_inputs:
            kinds = ", ".join(accepted_inputs)
            result.problems.append(
                f"{name}: {target} does not read {path.suffix or 'files without an extension'} (it accepts {kinds})."
            )
        else:
            result.accepted.append(path)
    return result
