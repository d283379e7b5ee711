"""Retry a replica call once elsewhere when the replica's node went away.

With restart policy ``none`` (the lifecycle's crash guard decides restarts, not Swarm), Swarm
does not move a task off a lost node. A call to such a replica fails (the gateway cannot
connect, or the connection drops mid-task). :func:`retry_once_elsewhere` tells that failure
apart from the replica's own: only when the manager reports the replica's node not ``ready``
is the replica replaced (the caller's ``replace`` removes it and starts another, which Swarm
places on a ready node) and the call made once more. So a lost node costs at most the calls
that were in flight on it, each retried once; a failure on a healthy node is raised unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from app.engine.core.errors import EngineError

__all__ = ["NodeAware", "retry_once_elsewhere"]

T = TypeVar("T")


class NodeAware(Protocol):
    """What the retry needs of a runtime (``SwarmRuntime``)."""

    def replica_lost(self, name: str) -> bool:
        """Whether the replica's node is not ready."""
        ...


def retry_once_elsewhere(
    runtime: NodeAware,
    replica: str,
    call: Callable[[str], T],
    replace: Callable[[str], str],
) -> tuple[T, str]:
    """``call(replica)``; if it fails because the replica's node is lost, ``call(replace(replica))`` once.

    Returns the result and the name of the replica that produced it. ``replace`` gets the lost
    replica's name and returns its successor's (already running).
    """
    try:
        return call(replica), replica
    except (EngineError, OSError) as exc:
        try:
            lost = runtime.replica_lost(replica)
        except EngineError:
            lost = False
        if not lost:
            raise
        first_error = exc
    successor = replace(replica)
    try:
        return call(successor), successor
    except (EngineError, OSError) as exc:
        raise EngineError(
            f"replica {replica}'s node was lost ({first_error}); the retry on {successor} failed too: {exc}"
        ) from exc
