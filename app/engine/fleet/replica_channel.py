"""How the lifecycle reaches a replica: its exchange folder's socket, or the Swarm channel gateway.

The lifecycle asks :func:`channel_for` once; everything else about a replica (slots, budget,
crash guard) is the same on either channel. :class:`LocalChannel` is the single-node path (the
socket in the bind-mounted exchange folder). :class:`GatewayChannel` is the multi-node path:
the replica may run on any node, is reached through the namespace's gateway over kept-open
connections (:class:`~app.engine.fleet.channel_client.ChannelClient`), gets its inputs uploaded
over that channel, and a replica whose node is not ``ready`` is ``lost``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from app.engine.core.errors import EngineError
from app.engine.fleet.channel_client import ChannelClient
from app.engine.fleet.exchange import Exchange
from app.engine.fleet.transport import SocketClient, wait_for_socket

__all__ = ["GatewayChannel", "LocalChannel", "ReplicaChannel", "channel_for"]


class ReplicaChannel(Protocol):
    """What the lifecycle needs to talk to a replica."""

    def client(self, name: str, exchange: Exchange, max_idle: int) -> SocketClient:
        """The replica's connection pool."""
        ...

    def wait_ready(self, name: str, exchange: Exchange, timeout_s: float, alive: Callable[[], bool] | None) -> bool:
        """Whether the replica answers a ping within ``timeout_s`` (``alive()`` false stops early)."""
        ...

    def lost(self, name: str) -> bool:
        """Whether the replica's node went away (its death is not the image's fault)."""
        ...


class LocalChannel:
    """The replica's socket in its exchange folder on this host."""

    def client(self, name: str, exchange: Exchange, max_idle: int) -> SocketClient:
        """A pool on the exchange folder's socket."""
        return SocketClient(exchange.socket, max_idle=max_idle)

    def wait_ready(self, name: str, exchange: Exchange, timeout_s: float, alive: Callable[[], bool] | None) -> bool:
        """Poll the exchange folder's socket."""
        return wait_for_socket(exchange.socket, timeout_s=timeout_s, alive=alive)

    def lost(self, name: str) -> bool:
        """One node: a replica is never lost with its node (this engine answers from it)."""
        return False


class _Gateway(Protocol):
    def connect(self, replica: str) -> Any: ...

    def wait_ready(self, replica: str, timeout_s: float = 30.0) -> float: ...


class _MultiNode(Protocol):
    def gateway(self, timeout_s: float = 30.0) -> Any: ...

    def ensure(self, timeout_s: float = 60.0) -> str: ...


class _NodeAwareRuntime(Protocol):
    @property
    def multi_node(self) -> Any: ...

    def replica_lost(self, name: str) -> bool: ...


class GatewayChannel:
    """Replicas on any node, reached through the namespace's gateway (``swarm_multi_node``)."""

    def __init__(self, runtime: _NodeAwareRuntime, multi: _MultiNode) -> None:
        self.runtime = runtime
        self.multi = multi

    def client(self, name: str, exchange: Exchange, max_idle: int) -> SocketClient:
        """Kept-open gateway connections; a late answer asks whether the replica's node is lost."""
        return ChannelClient(name, self.multi.gateway(), lambda: self.runtime.replica_lost(name), max_idle=max_idle)

    def wait_ready(self, name: str, exchange: Exchange, timeout_s: float, alive: Callable[[], bool] | None) -> bool:
        """Ping through the gateway until the replica answers, in slices so ``alive()`` is asked too."""
        self.multi.ensure()  # a reattaching engine may find the gateway gone with its host's reboot
        deadline = time.monotonic() + timeout_s
        gateway: _Gateway = self.multi.gateway(timeout_s=5.0)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                gateway.wait_ready(name, timeout_s=min(1.0, remaining))
                return True
            except EngineError:
                pass
            if alive is not None and not alive():
                return False

    def lost(self, name: str) -> bool:
        """The manager sees the replica's node not ``ready`` (``False`` when that cannot be told)."""
        try:
            return self.runtime.replica_lost(name)
        except EngineError:
            return False


def channel_for(runtime: object, multi_node: bool) -> ReplicaChannel:
    """The gateway when ``multi_node`` (``swarm_multi_node`` on the Swarm backend), else local sockets.

    Asked on first use, not at construction: the Swarm runtime learns its node from the manager.
    """
    multi = getattr(runtime, "multi_node", None) if multi_node else None
    if multi is None:
        return LocalChannel()
    return GatewayChannel(runtime, multi)  # type: ignore[arg-type]
