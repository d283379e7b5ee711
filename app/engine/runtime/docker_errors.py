"""Translate docker SDK and requests exceptions into the engine's error hierarchy.

Callers above the runtime never import ``docker`` or ``requests``: every SDK call of
:class:`~app.engine.runtime.docker_runtime.DockerRuntime` runs inside :func:`docker_errors`,
so a stopped daemon becomes :class:`DockerUnavailable` with a fix, a missing object
:class:`NotFound`, and anything else an :class:`EngineError` naming the action that failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests.exceptions

from app.engine.core.errors import DockerUnavailable, EngineError, NotFound

__all__ = ["DOCKER_FIX", "docker_errors", "is_connection_problem"]

DOCKER_FIX = "start the engine: sudo dockerd, or run `make setup`"

_CONNECTION_WORDS = (
    "connection refused",
    "connection aborted",
    "no such file or directory",
    "filenotfounderror",
    "error while fetching server api version",
    "failed to establish a new connection",
    "max retries exceeded",
    "connection reset",
    "broken pipe",
)


def is_connection_problem(exc: BaseException) -> bool:
    """Whether ``exc`` means the daemon cannot be reached at all (rather than said no)."""
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError | FileNotFoundError):
        return True
    text = str(exc).lower()
    return any(word in text for word in _CONNECTION_WORDS)


def _explanation(exc: docker.errors.APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode("utf-8", "replace")
    return str(explanation or exc).strip()


@contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Run a block of SDK calls, re-raising failures as engine errors that name ``action``.

    Engine errors raised inside the block pass through untouched.
    """
    try:
        yield
    except EngineError:
        raise
    except docker.errors.NotFound as exc:
        raise NotFound(f"{action}: {_explanation(exc)}") from exc
    except docker.errors.APIError as exc:
        if exc.status_code == 404:
            raise NotFound(f"{action}: {_explanation(exc)}") from exc
        raise EngineError(f"{action}: Docker refused ({exc.status_code}): {_explanation(exc)}") from exc
    except requests.exceptions.Timeout as exc:
        raise DockerUnavailable(f"{action}: the Docker engine did not answer in time", hint=DOCKER_FIX) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as exc:
        if is_connection_problem(exc):
            raise DockerUnavailable(
                f"{action}: cannot reach the Docker engine ({type(exc).__name__})", hint=DOCKER_FIX
            ) from exc
        raise EngineError(f"{action}: {exc}") from exc
