"""The Unix-socket server every specialist container runs (``python -m switchboard_runtime``).

One thread per connection, one request in flight per connection, newline-delimited JSON as
``docs/ARCHITECTURE.md`` ("Wire protocol") specifies. The handler module is loaded from
``$SWITCHBOARD_HANDLER``; nothing heavy is imported here so an idle container stays small.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from switchboard_runtime.api import InputFile, SpecialistError, Task
from switchboard_runtime.downloads import list_outputs, send_outputs
from switchboard_runtime.jsonsafe import dumps
from switchboard_runtime.results import error_message, result_message
from switchboard_runtime.uploads import check_put, receive, remove_inputs

__all__ = ["Server", "load_handler", "main"]

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 8 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_OUTPUT = 1024 * 1024


def load_handler(path: str) -> ModuleType:
    """Import the handler file as module ``handler``; its folder joins ``sys.path``.

    The folder goes on the path so a handler split into sibling modules can import them.
    """
    file = Path(path)
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("handler", file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load handler from {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "handle", None)):
        raise ImportError(f"{file} defines no handle(task) function")
    return module


def rss_kb() -> int:
    """Resident set size of this process in KiB, read from /proc (0 when unavailable)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """Serve ping and task requests for one handler module on one Unix socket."""

    def __init__(self, socket_path: str, handler: ModuleType, specialist: str) -> None:
        self.socket_path = socket_path
        self.handler = handler
        self.specialist = specialist
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.inflight = 0
        self.served = 0
        self._listener: socket.socket | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def bind(self) -> None:
        """Bind the socket, replacing a stale socket file left by a previous run."""
        path = Path(self.socket_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o666)
        listener.listen(64)
        listener.settimeout(0.5)
        self._listener = listener

    def serve_forever(self) -> None:
        """Accept connections until :attr:`stop_event` is set (SIGTERM/SIGINT)."""
        assert self._listener is not None, "bind() first"
        while not self.stop_event.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.stop_event.is_set():
                    break
                raise
            conn.settimeout(None)
            threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()
        self.close()

    def close(self) -> None:
        """Stop listening and remove the socket file so the next start is clean."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass

    # -- connections -----------------------------------------------------------------------
    def _serve_connection(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while not self.stop_event.is_set():
                line = reader.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                if len(line) > MAX_LINE_BYTES:
                    conn.sendall(dumps(error_message(None, "bad_input", "Request line too long.")))
                    return
                if not line.strip():
                    continue
                streamed = stream_request(line)
                try:
                    if streamed is not None and streamed["kind"] == "get_outputs":
                        self._send_outputs(conn, streamed)
                        continue
                    if streamed is not None:
                        if not self._receive(conn, reader, streamed):
                            return
                        continue
                    conn.sendall(self.safe_respond(line))
                except OSError:
                    return

    def _receive(self, conn: socket.socket, reader: Any, request: dict[str, Any]) -> bool:
        """A streamed input (``uploads``); ``False`` when the connection must close (it ended short)."""
        task_id = request.get("id")
        refused = check_put(request)
        if refused:
            conn.sendall(dumps(error_message(task_id, "bad_input", refused)))
            return True
        conn.sendall(dumps({"v": PROTOCOL_VERSION, "ok": True, "kind": "ready", "id": task_id}))
        try:
            path, problem = receive(request, reader)
        except EOFError:
            return False
        if problem:
            conn.sendall(dumps(error_message(task_id, "limit", problem)))
        else:
            conn.sendall(dumps({"v": PROTOCOL_VERSION, "ok": True, "kind": "stored", "id": task_id, "path": path}))
        return True

    def _send_outputs(self, conn: socket.socket, request: dict[str, Any]) -> None:
        """A task's output files (``downloads``): one header line, then exactly the bytes it lists."""
        task_id = request.get("id")
        try:
            listing, kind, problem = list_outputs(request)
        except OSError as exc:  # a folder that cannot be read: answered, the connection stays in step
            listing, kind, problem = None, "internal", f"Cannot list the outputs: {exc.strerror or exc}."
        if listing is None:
            conn.sendall(dumps(error_message(task_id if isinstance(task_id, str) else None, kind, problem)))
            return
        try:
            head = {"v": PROTOCOL_VERSION, "ok": True, "kind": "outputs", "id": task_id}
            head.update({"files": listing.files, "bytes": listing.total, "skipped": listing.skipped})
            conn.sendall(dumps(head))
            send_outputs(conn.sendall, listing)
        finally:
            listing.close()

    def safe_respond(self, line: bytes) -> bytes:
        """:meth:`respond`, with anything it raises (RecursionError, MemoryError) answered too.

        The connection thread must always send one line per request, or the engine would wait
        for an answer that never comes and count a healthy container as dead.
        """
        try:
            return dumps(self.respond(line))  # encoding is inside: an unencodable result is an error too
        except RecursionError:
            return dumps(
                error_message(
                    None,
                    "bad_input",
                    f"The request or its result is nested too deeply (more than {sys.getrecursionlimit()} levels).",
                )
            )
        except MemoryError:
            return dumps(error_message(None, "limit", "The request or its result did not fit in memory."))
        except Exception as exc:  # noqa: BLE001 - the server keeps answering whatever happened
            return dumps(error_message(None, "internal", f"{type(exc).__name__}: {str(exc)[:300]}"))

    def respond(self, line: bytes) -> dict[str, Any]:
        """Answer one request line; never raises."""
        import json

        try:
            request = json.loads(line)
        except ValueError as exc:
            return error_message(None, "bad_input", f"Request is not valid JSON: {exc}.")
        except RecursionError:
            return error_message(None, "bad_input", "Request JSON is nested too deeply to parse.")
        if not isinstance(request, dict):
            return error_message(None, "bad_input", "Request must be a JSON object.")
        version = request.get("v")
        if version != PROTOCOL_VERSION:
            return error_message(
                request.get("id"),
                "version",
                f"Protocol version {version!r} is not supported; this runtime speaks v1.",
            )
        kind = request.get("kind")
        if kind == "ping":
            return self.pong()
        if kind == "task":
            return self.run_task(request)
        if kind == "cleanup":
            return self.cleanup(request)
        return error_message(request.get("id"), "unsupported", f"Unknown request kind {kind!r}.")

    def cleanup(self, request: dict[str, Any]) -> dict[str, Any]:
        """Remove ``/output/<id>`` once the engine has copied the task's files out."""
        import shutil

        task_id = str(request.get("id") or "")
        if not task_id or "/" in task_id or task_id in (".", ".."):
            return error_message(task_id, "bad_input", "cleanup needs a plain task id.")
        root = Path(os.environ.get("SWITCHBOARD_OUTPUT_ROOT", "/output"))
        shutil.rmtree(root / task_id, ignore_errors=True)
        if request.get("inputs") is True:  # uploaded inputs (a replica with no shared input folder)
            remove_inputs(task_id)
        return {"v": PROTOCOL_VERSION, "ok": True, "kind": "cleaned", "id": task_id}

    def pong(self) -> dict[str, Any]:
        """The readiness and health answer."""
        return {
            "v": PROTOCOL_VERSION,
            "ok": True,
            "kind": "pong",
            "specialist": self.specialist,
            "pid": os.getpid(),
            "rss_kb": rss_kb(),
            "inflight": self.inflight,
            "served": self.served,
        }

    # -- tasks -----------------------------------------------------------------------------
    def run_task(self, request: dict[str, Any]) -> dict[str, Any]:
        """Build a :class:`Task`, run the handler under a wall-clock timeout, wrap the result."""
        started = time.perf_counter()
        task_id = str(request.get("id") or "")
        try:
            task = build_task(request)
        except (TypeError, ValueError, KeyError) as exc:
            return error_message(task_id, "bad_input", f"Malformed task request: {exc}.")
        try:  # the engine leaves creating the task's output folder to us (saves it two syscalls' round trips)
            task.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        with self._lock:
            self.inflight += 1
        try:
            outcome = self._call_with_timeout(task)
        finally:
            with self._lock:
                self.inflight -= 1
                self.served += 1
        handler_ms = (time.perf_counter() - started) * 1000.0
        if isinstance(outcome, dict):  # an error message already
            outcome["timings"] = {"handler_ms": round(handler_ms, 3)}
            return outcome
        message = result_message(task, outcome)
        message["timings"] = {
            "handler_ms": round(handler_ms, 3),
            "total_ms": round((time.perf_counter() - started) * 1000.0, 3),
        }
        return message

    def _call_with_timeout(self, task: Task) -> Any:
        """Run ``handle(task)`` in a worker thread; give up waiting after ``timeout_s``.

        Python cannot kill a thread, so a handler that may run away must also bound its own
        work (code-execution runs user code in a subprocess with rlimits).
        """
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                if task.program is not None:
                    from switchboard_runtime.program import run_program

                    box["result"] = run_program(task)
                else:
                    box["result"] = self.handler.handle(task)
            except BaseException as exc:  # noqa: BLE001 - mapped to an error kind below
                box["error"] = exc

        worker = threading.Thread(target=work, name=f"task-{task.id}", daemon=True)
        worker.start()
        worker.join(task.timeout_s)
        if worker.is_alive():
            return error_message(task.id, "timeout", f"The task did not finish within {task.timeout_s:g} s.")
        if "error" in box:
            return map_exception(task.id, box["error"])
        return box.get("result")


def stream_request(line: bytes) -> dict[str, Any] | None:
    """A ``put`` (streamed input) or ``get_outputs`` (streamed files) request when ``line`` is one.

    Short lines only, so a task line is not parsed twice.
    """
    if len(line) > 4096 or (b'"put"' not in line and b'"get_outputs"' not in line):
        return None
    import json

    try:
        request = json.loads(line)
    except ValueError:
        return None
    if (
        isinstance(request, dict)
        and request.get("kind") in ("put", "get_outputs")
        and request.get("v") == PROTOCOL_VERSION
    ):
        return request
    return None


def build_task(request: dict[str, Any]) -> Task:
    """Turn a wire ``task`` request into the handler's :class:`Task`."""
    inputs = [
        InputFile(
            name=str(item["name"]),
            path=Path(item["path"]),
            bytes=int(item.get("bytes") or 0),
            sha256=str(item.get("sha256") or ""),
        )
        for item in request.get("inputs") or []
    ]
    plan = request.get("plan")
    if plan is not None and not isinstance(plan, dict):
        raise ValueError("plan must be an object or null")
    task_id = str(request.get("id") or "task")
    return Task(
        id=task_id,
        text=str(request.get("text") or ""),
        inputs=inputs,
        plan=plan,
        output_dir=Path(request.get("output_dir") or f"/tmp/out/{task_id}"),
        timeout_s=float(request.get("timeout_s") or DEFAULT_TIMEOUT_S),
        max_output_bytes=int(request.get("max_output_bytes") or DEFAULT_MAX_OUTPUT),
        data_dir=Path(os.environ.get("SWITCHBOARD_DATA_DIR", "/data")),
        program=str(request["program"]) if request.get("program") is not None else None,
    )


def map_exception(task_id: str, exc: BaseException) -> dict[str, Any]:
    """Map a handler exception to a wire error with a short message (no traceback)."""
    if isinstance(exc, SpecialistError):
        return error_message(task_id, exc.kind, exc.message)
    if isinstance(exc, MemoryError):
        return error_message(task_id, "limit", "The task ran out of memory.")
    if isinstance(exc, RecursionError):
        return error_message(task_id, "limit", "The task recursed too deeply.")
    if isinstance(exc, TimeoutError):
        return error_message(task_id, "timeout", f"The task timed out: {exc}".rstrip(": "))
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    print(f"task {task_id}: {type(exc).__name__}: {exc}{where}", file=sys.stderr, flush=True)
    text = str(exc)[:300] or "no message"
    return error_message(task_id, "internal", f"{type(exc).__name__}: {text}{where}")


def _start_warm(handler: ModuleType) -> None:
    warm = getattr(handler, "warm", None)
    if not callable(warm):
        return

    def run() -> None:
        try:
            warm()
        except Exception as exc:  # noqa: BLE001 - warming is best effort
            print(f"warm() failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    threading.Thread(target=run, name="warm", daemon=True).start()


def main() -> int:
    """Entry point: load the handler, listen, print ``READY <specialist>``, serve until TERM."""
    socket_path = os.environ.get("SWITCHBOARD_SOCKET", "/run/switchboard/specialist.sock")
    handler_path = os.environ.get("SWITCHBOARD_HANDLER", "/opt/specialist/handler.py")
    specialist = os.environ.get("SWITCHBOARD_SPECIALIST", "unknown")
    try:
        handler = load_handler(handler_path)
    except Exception as exc:  # noqa: BLE001 - reported once, then exit non-zero
        print(f"cannot load handler {handler_path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    server = Server(socket_path, handler, specialist)

    def on_signal(signum: int, _frame: object) -> None:
        server.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.bind()
    _start_warm(handler)
    print(f"READY {specialist}", flush=True)
    server.serve_forever()
    return 0
