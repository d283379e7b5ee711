"""Engine side of the wire protocol (see docs/ARCHITECTURE.md, "Wire protocol").

Requests and responses are newline-delimited JSON over a Unix socket; every message carries
``v``. The in-container runtime is stdlib-only and speaks the same shapes; a contract test
checks the two agree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "WIRE_VERSION",
    "Artifact",
    "ErrorInfo",
    "InputRef",
    "Operation",
    "Ping",
    "Pong",
    "TableData",
    "TaskRequest",
    "TaskResponse",
]

WIRE_VERSION = 1
ErrorKind = Literal[
    "bad_input",
    "needs_plan",
    "bad_plan",
    "timeout",
    "limit",
    "forbidden",
    "unsupported",
    "version",
    "internal",
    "container_died",
    "cancelled",
    "unavailable",
]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")

    v: int = WIRE_VERSION


class InputRef(BaseModel):
    """A task input as the container sees it."""

    name: str
    path: str
    bytes: int = Field(ge=0)
    sha256: str


class TaskRequest(_Msg):
    """Ask a specialist to run one task."""

    kind: Literal["task"] = "task"
    id: str
    text: str
    inputs: list[InputRef] = Field(default_factory=list)
    plan: dict[str, Any] | None = None
    program: str | None = None  # a model-written program run in a sandbox instead of the handler
    output_dir: str
    timeout_s: float = Field(gt=0)
    max_output_bytes: int = Field(ge=1)


class Ping(_Msg):
    """Health probe."""

    kind: Literal["ping"] = "ping"


class Pong(_Msg):
    """Answer to :class:`Ping`."""

    kind: Literal["pong"] = "pong"
    ok: bool = True
    specialist: str = ""
    pid: int = 0
    rss_kb: int = 0
    inflight: int = 0
    served: int = 0


class TableData(BaseModel):
    """A result table (rows of JSON-safe cells)."""

    name: str = "result"
    columns: list[str]
    rows: list[list[Any]]


class Artifact(BaseModel):
    """A file a task wrote under its output dir."""

    name: str
    path: str
    bytes: int = Field(ge=0)
    mime: str = "application/octet-stream"


class Operation(BaseModel):
    """The exact operation that ran (SQL, code, expression, pandas steps)."""

    kind: str = ""
    text: str = ""


class ErrorInfo(BaseModel):
    """Why a task failed, in one clear sentence."""

    kind: ErrorKind = "internal"
    message: str


class TaskResponse(_Msg):
    """What a specialist returned for a task."""

    kind: Literal["result"] = "result"
    id: str
    ok: bool
    path: Literal["explicit", "planned", "program"] = "explicit"
    answer: str = ""
    data: dict[str, Any] | None = None
    tables: list[TableData] = Field(default_factory=list)
    artifacts: list[Artifact] = Field(default_factory=list)
    operation: Operation = Field(default_factory=Operation)
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    error: ErrorInfo | None = None
    timings: dict[str, float] = Field(default_factory=dict)

    @field_validator("operation", "tables", "artifacts", "timings", "answer", "stdout", "stderr", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        """The runtime may send ``null`` for parts it has nothing for (error answers)."""
        if value is not None:
            return value
        return {"operation": {}, "tables": [], "artifacts": [], "timings": {}}.get(str(info.field_name), "")
