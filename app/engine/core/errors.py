"""One exception hierarchy at the engine boundary.

The UI and the CLI catch :class:`EngineError` and show ``str(error)``; the CLI maps
``exit_code`` to its documented exit codes (1 task failed, 2 bad input, 3 environment).
Docker, Ollama and SQLAlchemy errors are wrapped here so callers never import those libraries.
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "BuildFailed",
    "Busy",
    "DatabaseUnavailable",
    "DockerUnavailable",
    "EngineError",
    "EnvironmentUnavailable",
    "ManifestError",
    "NotFound",
    "OllamaUnavailable",
    "OverBudget",
    "Quarantined",
    "TaskFailed",
]


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class BadInput(EngineError):
    """The user's request is wrong: unknown specialist, empty text, unusable file."""

    exit_code = 2


class NotFound(BadInput):
    """A named thing (task, container, specialist) does not exist."""


class ManifestError(BadInput):
    """A ``specialist.toml`` is malformed; the message names file, field and problem."""

    def __init__(self, path: str, field: str, problem: str) -> None:
        super().__init__(f"{path}: {field}: {problem}")
        self.path = path
        self.field = field
        self.problem = problem


class Busy(EngineError):
    """The queue is full; nothing accepted earlier was dropped. Try again later."""

    exit_code = 1


class OverBudget(Busy):
    """Starting one more container would exceed the container or memory budget, and nothing idle could be evicted."""


class Quarantined(EngineError):
    """A specialist crashed repeatedly and starts nothing until the user releases it."""

    exit_code = 1


class TaskFailed(EngineError):
    """A task ended in ``failed``; ``kind`` is the specialist's error kind."""

    def __init__(self, message: str, *, kind: str = "internal", task_id: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.task_id = task_id


class BuildFailed(EngineError):
    """An image build failed; ``log_tail`` holds its last lines."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        super().__init__(message + (f"\n--- build log tail ---\n{log_tail}" if log_tail else ""))
        self.log_tail = log_tail


class EnvironmentUnavailable(EngineError):
    """A service the engine needs is missing or down."""

    exit_code = 3


class DockerUnavailable(EnvironmentUnavailable):
    """The Docker engine does not answer."""


class OllamaUnavailable(EnvironmentUnavailable):
    """The Ollama server or model does not answer."""


class DatabaseUnavailable(EnvironmentUnavailable):
    """The database cannot be opened or migrated."""
