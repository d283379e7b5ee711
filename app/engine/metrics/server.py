"""A tiny HTTP endpoint for Prometheus: ``GET /metrics`` and ``GET /healthz``.

Standard library only (``http.server``). It binds to a loopback address unless the caller
passes ``allow_remote=True`` explicitly: the metrics name containers and specialists, which is
nobody else's business by default, and the endpoint has no authentication. Responses are
HTTP/1.0 (one request per connection), so :meth:`MetricsServer.stop` never waits on an idle
keep-alive connection; Nagle is off so a small response leaves at once.
"""

from __future__ import annotations

import gzip
import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from app.engine.core.errors import BadInput, EngineError
from app.engine.metrics.exposition import CONTENT_TYPE

__all__ = ["MetricsServer", "is_loopback"]

log = logging.getLogger(__name__)

_GZIP_MIN_BYTES = 1024


class _Renders(Protocol):
    def render(self) -> str: ...


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) means only this machine.

    A name counts when every address it resolves to is a loopback address; a name that does
    not resolve is not loopback.
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    registry: _Renders


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    disable_nagle_algorithm = True
    timeout = 10  # a client that connects and says nothing is dropped
    server_version = "switchboard-metrics"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = self.server.registry.render().encode("utf-8")
            except Exception as exc:
                log.exception("rendering metrics failed")
                self._reply(500, f"metrics failed: {exc}\n".encode(), "text/plain; charset=utf-8")
                return
            self._reply(200, body, CONTENT_TYPE)
        elif path == "/healthz":
            self._reply(200, b"ok\n", "text/plain; charset=utf-8")
        else:
            self._reply(404, b"not found: try /metrics or /healthz\n", "text/plain; charset=utf-8")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        accepts = self.headers.get("Accept-Encoding", "")
        gzipped = "gzip" in accepts and len(body) >= _GZIP_MIN_BYTES
        if gzipped:
            body = gzip.compress(body, compresslevel=5)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        log.debug("metrics %s: " + format, self.address_string(), *args)


class MetricsServer:
    """Serve ``registry.render()`` over HTTP on its own thread.

    Parameters
    ----------
    registry
        Anything with ``render() -> str`` (a :class:`~app.engine.metrics.registry.MetricsRegistry`).
    host
        Address to bind; must be loopback unless ``allow_remote`` is True.
    port
        TCP port; 0 picks a free one (read it back from :attr:`port` or :attr:`url`).
    allow_remote
        Permit a non-loopback ``host``; off by default on purpose.

    Raises
    ------
    BadInput
        ``host`` is not loopback and ``allow_remote`` is False, or ``port`` is out of range.
    """

    def __init__(
        self, registry: _Renders, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False
    ) -> None:
        if not 0 <= port <= 65535:
            raise BadInput(f"metrics port must be 0..65535, not {port}")
        if not allow_remote and not is_loopback(host):
            raise BadInput(
                f"metrics server would listen on {host!r}, which is not a loopback address; "
                "use 127.0.0.1 (or pass allow_remote=True on purpose)"
            )
        self.registry = registry
        self.host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        return self._server.server_address[1] if self._server is not None else self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9464`` (append ``/metrics``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MetricsServer:
        """Bind and serve on a daemon thread; ``EngineError`` when the port cannot be bound."""
        with self._lock:
            if self._server is not None:
                return self
            family = socket.AF_INET6 if ":" in self.host.strip("[]") else socket.AF_INET

            class Server(_Server):
                address_family = family

            try:
                server = Server((self.host.strip("[]"), self._port), _Handler)
            except OSError as exc:
                raise EngineError(
                    f"cannot serve metrics on {self.host}:{self._port}: {exc.strerror or exc}",
                    hint="set SWITCHBOARD_METRICS_PORT to a free port, or 0 to turn metrics off",
                ) from exc
            server.registry = self.registry
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="switchboard-metrics", daemon=True
            )
            self._thread.start()
        log.info("serving metrics at %s/metrics", self.url)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving, close the socket and join the thread; idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=timeout_s)

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
