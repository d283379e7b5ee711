"""Benchmark of the engine's own cost (issue: engine foundation). Prints one JSON object.

Runs on the real Docker engine with the ``numerical`` specialist, in a namespace of its own
that is removed at the end. Bounded: every loop has a fixed count and the whole run a deadline.

    .venv/bin/python bench/dispatch.py [--warm 300] [--throughput 3000] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import load_settings  # noqa: E402
from app.engine.fleet.exchange import Exchange  # noqa: E402
from app.engine.fleet.transport import SocketClient, wait_for_socket  # noqa: E402
from app.engine.orchestrator import Orchestrator  # noqa: E402

TASK = "1+1"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def warm(orch: Orchestrator, n: int) -> dict[str, float]:
    replica = orch.lifecycle.replicas("numerical")[0]
    direct: list[float] = []
    client = SocketClient(replica.exchange.socket)
    request = {
        "v": 1,
        "kind": "task",
        "id": "bench",
        "text": TASK,
        "inputs": [],
        "plan": None,
        "output_dir": "/output/bench",
        "timeout_s": 30,
        "max_output_bytes": 65536,
    }
    for _ in range(n):
        t = time.perf_counter()
        assert client.call(request, 30)["ok"]
        direct.append((time.perf_counter() - t) * 1000)
    client.close()
    engine: list[float] = []
    for _ in range(n):
        t = time.perf_counter()
        view = orch.submit(TASK, specialist="numerical").future.result(timeout=60)
        engine.append((time.perf_counter() - t) * 1000)
        assert view.state == "succeeded", view.error
    d50, e50 = statistics.median(direct), statistics.median(engine)
    return {
        "direct_p50_ms": d50,
        "engine_p50_ms": e50,
        "engine_p99_ms": pct(engine, 0.99),
        "warm_ratio": e50 / d50,
        "warm_added_ms_p50": e50 - d50,
    }


def bare_start(orch: Orchestrator, image: str, sid: str = "numerical") -> float:
    """``docker run`` of the same image, hardened the same way, until its socket answers."""
    spec = orch.spec(sid)
    name = f"sb-bench-bare-{secrets.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix="sbb-", dir="/tmp"))
    ex = Exchange(root)
    ex.create()
    t = time.perf_counter()
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "io.switchboard.role=test",
            "--label",
            "io.switchboard.managed=true",
            "--user",
            "10001:10001",
            "--read-only",
            "--tmpfs",
            f"/tmp:size={spec.limits.tmpfs_mb}m",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges:true",
            "--memory",
            f"{spec.limits.memory_mb}m",
            "--pids-limit",
            str(spec.limits.pids),
            "--init",
            "--network",
            "none",
            "-v",
            f"{ex.sock_dir}:/run/switchboard",
            "-v",
            f"{ex.in_dir}:/input:ro",
            "--tmpfs",
            f"/output:size={spec.limits.output_mb}m,mode=0700,uid=10001,gid=10001",
            "-e",
            f"SWITCHBOARD_SPECIALIST={sid}",
            "-e",
            "SWITCHBOARD_SOCKET=/run/switchboard/specialist.sock",
            "-e",
            "SWITCHBOARD_HANDLER=/opt/specialist/handler.py",
            image,
        ],
        check=True,
        capture_output=True,
    )
    ok = wait_for_socket(ex.socket, timeout_s=60)
    elapsed = (time.perf_counter() - t) * 1000
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    ex.remove()
    assert ok, "bare container never answered"
    return elapsed


def cold(orch: Orchestrator, n: int, sid: str = "numerical", task: str = TASK, key: str = "") -> dict[str, float]:
    """Engine: no container -> first result; bare: ``docker run`` -> socket answers.

    The engine's figure includes the specialist's first task (for numerical, importing
    sympy, about 0.2 s), which the bare figure does not; ``database`` has no heavy import.
    """
    image = orch.build_sync(sid)
    engine: list[float] = []
    bare: list[float] = []
    for _ in range(n):
        orch.scale(sid, 0).result(timeout=120)
        t = time.perf_counter()
        view = orch.submit(task, specialist=sid).future.result(timeout=120)
        engine.append((time.perf_counter() - t) * 1000)
        assert view.state == "succeeded", view.error
        bare.append(bare_start(orch, image, sid))
    e50, b50 = statistics.median(engine), statistics.median(bare)
    return {f"cold{key}_engine_p50_ms": e50, f"cold{key}_bare_p50_ms": b50, f"cold{key}_ratio": e50 / b50}


def throughput(orch: Orchestrator, total: int, submitters: int = 16) -> dict[str, float]:
    orch.scale("numerical", orch.spec("numerical").scaling.max_replicas).result(timeout=300)
    per = total // submitters
    futures = []
    lock = threading.Lock()
    busy = 0

    def submit_many() -> None:
        nonlocal busy
        for _ in range(per):
            while True:
                try:
                    handle = orch.submit(TASK, specialist="numerical")
                    break
                except Exception as exc:  # Busy: back off and retry (nothing accepted is lost)
                    if "busy" not in str(exc).lower():
                        raise
                    with lock:
                        busy += 1
                    time.sleep(0.005)
            with lock:
                futures.append(handle)

    t = time.perf_counter()
    threads = [threading.Thread(target=submit_many) for _ in range(submitters)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    views = [h.future.result(timeout=300) for h in futures]
    elapsed = time.perf_counter() - t
    ok = sum(v.state == "succeeded" for v in views)
    stored = {v.id for v in orch.tasks(limit=total * 3) if v.state == "succeeded"}
    lost = len([h for h in futures if h.id not in stored])
    return {
        "throughput_tasks_per_s": ok / elapsed,
        "throughput_tasks": len(futures),
        "throughput_succeeded": ok,
        "tasks_lost": lost + (per * submitters - len(futures)),
        "busy_retries": busy,
    }


def idle(orch: Orchestrator, seconds: float) -> dict[str, float]:
    persistent = [sid for sid in orch.catalogue.ids() if not orch.spec(sid).scaling.fresh_per_task]
    for sid in persistent:
        orch.scale(sid, 0).result(timeout=120)
    i = 0
    while len(orch.lifecycle.replicas()) < 6:
        sid = persistent[i % len(persistent)]
        orch.scale(sid, len(orch.lifecycle.replicas(sid)) + 1).result(timeout=900)
        i += 1
    running = len(orch.lifecycle.replicas())
    time.sleep(2)
    c0, t0 = os.times(), time.perf_counter()
    time.sleep(seconds)
    c1, t1 = os.times(), time.perf_counter()
    cpu = (c1.user - c0.user + c1.system - c0.system) / (t1 - t0) * 100
    return {"engine_rss_mb": rss_mb(), "idle_cpu_percent": cpu, "idle_containers": running}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--throughput", type=int, default=3000)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="sb-bench-"))
    namespace = "bench" + secrets.token_hex(3)
    settings = load_settings(
        data_dir=data, namespace=namespace, queue_size=2000, stats_interval_s=2.0, ollama_autostart=False
    )
    orch = Orchestrator(settings)
    orch.start().result(timeout=120)
    result: dict[str, object] = {"machine_cores": os.cpu_count()}
    try:
        orch.up("numerical").result(timeout=900)
        orch.submit(TASK, specialist="numerical").future.result(timeout=60)
        result.update(warm(orch, args.warm))
        result.update(cold(orch, args.cold))
        result.update(cold(orch, args.cold, "database", "select 1 + 1", key="_database"))
        result.update(throughput(orch, args.throughput))
        result.update(idle(orch, args.idle_seconds))
    finally:
        orch.close(remove_containers=True)
        subprocess.run(
            [
                "bash",
                "-c",
                f"docker volume ls -q --filter label=io.switchboard.namespace={namespace} "
                "| xargs -r docker volume rm -f",
            ],
            capture_output=True,
        )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
