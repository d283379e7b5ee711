"""The handler API every specialist's ``handler.py`` programs against.

A handler module defines ``handle(task: Task) -> Result`` and optionally ``warm() -> None``.
The runtime server builds the :class:`Task` from the wire request, calls ``handle`` and turns
the :class:`Result` (or a raised :class:`SpecialistError`) into the wire response, so handlers
never deal with framing, JSON safety, truncation or artifact listing themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ERROR_KINDS",
    "BadPlan",
    "InputFile",
    "NeedsPlan",
    "Result",
    "SpecialistError",
    "Table",
    "Task",
]

#: Error kinds allowed on the wire (see docs/ARCHITECTURE.md, "Wire protocol").
ERROR_KINDS = frozenset(
    {
        "bad_input",
        "needs_plan",
        "bad_plan",
        "timeout",
        "limit",
        "forbidden",
        "unsupported",
        "version",
        "internal",
    }
)


@dataclass(frozen=True)
class InputFile:
    """A file the engine placed under ``/input/<task id>/`` for this task."""

    name: str
    path: Path
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Task:
    """One task as the handler sees it; paths are container paths."""

    id: str
    text: str
    inputs: list[InputFile]
    plan: dict[str, Any] | None
    output_dir: Path
    timeout_s: float
    max_output_bytes: int
    data_dir: Path = Path("/data")
    program: str | None = None  # a model-written program to run instead of the handler


@dataclass
class Table:
    """A rectangular result; ``rows`` hold JSON-able cells (the runtime makes them safe)."""

    name: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Result:
    """What a handler returns on success.

    ``artifacts`` are files the handler wrote under ``task.output_dir``; the runtime also lists
    any other files found there, so handlers may leave this empty.
    """

    answer: str
    data: dict[str, Any] | None = None
    tables: list[Table] = field(default_factory=list)
    artifacts: list[Path] = field(default_factory=list)
    operation_kind: str = ""
    operation_text: str = ""
    path: str = "explicit"
    stdout: str = ""
    stderr: str = ""


class SpecialistError(Exception):
    """A failure with a wire error kind and a clear, specific message for the user.

    Raise as ``SpecialistError("bad_input", "sales.csv row 4: ...")``.
    """

    kind: str = "internal"

    def __init__(self, kind: str, message: str) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


class NeedsPlan(SpecialistError):
    """The text is natural language the handler cannot run directly; ask for a plan."""

    def __init__(self, message: str = "This request needs a plan.") -> None:
        super().__init__("needs_plan", message)


class BadPlan(SpecialistError):
    """The plan the engine sent failed validation; the message says which field and why."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_plan", message)
