"""Measure engine -> container transports with real hardened containers; print one JSON object.

Options, each 1,000 small JSON request/response round trips (after 50 warm-up ones):

* ``unix_socket``: newline-delimited JSON over one persistent connection to a Unix socket in a
  bind-mounted folder; the container has no network at all (the app's transport).
* ``http_keepalive``: HTTP/1.1 keep-alive to ``http.server`` on a port published on 127.0.0.1.
* ``tcp_per_request``: the same server, a new TCP connection for every request.

The echo servers are stdlib code written inline below (not the specialist runtime), run in the
base image with the same hardening the engine applies. Run: ``python bench/transport.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import Settings  # noqa: E402
from app.engine.runtime.docker_runtime import DockerRuntime  # noqa: E402
from app.engine.runtime.protocol import LaunchSpec, Mount  # noqa: E402

N = 1000
WARMUP = 50
LABELS = {"io.switchboard.managed": "true", "io.switchboard.role": "test", "io.switchboard.specialist": "bench"}

UNIX_SERVER = """
import json, os, socketserver
class H(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            req = json.loads(line)
            self.wfile.write((json.dumps({"v": 1, "ok": True, "id": req.get("id"), "echo": req}) + "\\n").encode())
            self.wfile.flush()
path = "/run/switchboard/bench.sock"
srv = socketserver.ThreadingUnixStreamServer(path, H)
os.chmod(path, 0o666)
srv.serve_forever()
"""

HTTP_SERVER = """
import json, http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"v": 1, "ok": True, "id": req.get("id"), "echo": req}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


def _request(i: int) -> dict[str, Any]:
    return {"v": 1, "kind": "task", "id": f"t{i}", "text": "integrate x^2 from 0 to 3", "timeout_s": 60.0}


def _wait_for(connect: Callable[[], None], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connect()
            return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _summary(samples_ns: list[int]) -> dict[str, float]:
    us = sorted(s / 1000 for s in samples_ns)
    return {
        "median_us": round(statistics.median(us), 1),
        "p99_us": round(us[int(len(us) * 0.99) - 1], 1),
        "mean_us": round(statistics.fmean(us), 1),
        "n": len(us),
    }


def bench_unix(path: Path) -> dict[str, float]:
    """One persistent connection, newline-delimited JSON."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _wait_for(lambda: sock.connect(str(path)))
    reader = sock.makefile("rb")
    samples: list[int] = []
    for i in range(WARMUP + N):
        start = time.perf_counter_ns()
        sock.sendall((json.dumps(_request(i)) + "\n").encode())
        reply = json.loads(reader.readline())
        elapsed = time.perf_counter_ns() - start
        assert reply["id"] == f"t{i}"
        if i >= WARMUP:
            samples.append(elapsed)
    reader.close()
    sock.close()
    return _summary(samples)


def _post(conn: http.client.HTTPConnection, i: int) -> None:
    body = json.dumps(_request(i))
    conn.request("POST", "/task", body=body, headers={"Content-Type": "application/json"})
    reply = json.loads(conn.getresponse().read())
    assert reply["id"] == f"t{i}"


def bench_http(port: int, keep_alive: bool) -> dict[str, float]:
    """HTTP to 127.0.0.1:port, one connection reused or a new one per request."""

    def probe() -> None:
        # docker-proxy accepts before the server listens: probe with throwaway connections.
        first = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            _post(first, -1)
        finally:
            first.close()

    _wait_for(probe)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    samples: list[int] = []
    for i in range(WARMUP + N):
        start = time.perf_counter_ns()
        if not keep_alive:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        _post(conn, i)
        if not keep_alive:
            conn.close()
        elapsed = time.perf_counter_ns() - start
        if i >= WARMUP:
            samples.append(elapsed)
    conn.close()
    return _summary(samples)


def main() -> None:
    """Start both containers, measure, clean up, print the figures as JSON."""
    settings = Settings()
    runtime = DockerRuntime(settings)
    info = runtime.ping()
    tag = uuid.uuid4().hex[:8]
    unix_name, http_name, net = f"sb-bench-unix-{tag}", f"sb-bench-http-{tag}", f"switchboard-bench-{tag}"
    folder = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    sock_dir = folder / "sock"
    sock_dir.mkdir()
    os.chown(sock_dir, 10001, 10001)
    sock_dir.chmod(0o700)
    results: dict[str, Any] = {}
    try:
        runtime.run(
            LaunchSpec(
                name=unix_name,
                image=settings.base_image,
                labels=LABELS,
                mounts=(Mount(str(sock_dir), "/run/switchboard"),),
                command=("python3", "-c", UNIX_SERVER),
            )
        )
        runtime.ensure_network(net, internal=False, labels=LABELS)
        runtime.run(
            LaunchSpec(
                name=http_name,
                image=settings.base_image,
                labels=LABELS,
                network=net,
                publish={8080: 0},
                command=("python3", "-c", HTTP_SERVER),
            )
        )
        port = runtime.published_port(http_name, 8080)
        assert port is not None, "no port published"
        results["unix_socket"] = bench_unix(sock_dir / "bench.sock")
        results["http_keepalive"] = bench_http(port, keep_alive=True)
        results["tcp_per_request"] = bench_http(port, keep_alive=False)
    finally:
        runtime.remove(unix_name)
        runtime.remove(http_name)
        runtime.remove_network(net)
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if not path.is_dir() else path.rmdir()
        folder.rmdir()
        runtime.close()
    print(
        json.dumps(
            {
                "bench": "transport",
                "requests": N,
                "docker": info.version,
                "cpus": os.cpu_count(),
                "results": results,
                "choice": "unix_socket",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
