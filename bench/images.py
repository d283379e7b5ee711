"""Specialist image figures: size, cold build (no layer cache), cached build, idle memory.

Prints one JSON object. Cold builds download Python packages from the package registry, so
they depend on the network; the engine never rebuilds an image whose content hash exists.

    .venv/bin/python bench/images.py [--specialist ID ...] [--skip-cold]
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import load_settings  # noqa: E402
from app.engine.fleet.transport import SocketClient  # noqa: E402
from app.engine.orchestrator import Orchestrator  # noqa: E402
from app.engine.runtime.images import context_files  # noqa: E402

CA = Path("/etc/ssl/certs/ca-certificates.crt")


def docker_build(context: Path, tag: str, runtime_tag: str, no_cache: bool) -> float:
    args = ["docker", "build", "--force-rm", "-q", "-t", tag, "--build-arg", f"RUNTIME_IMAGE={runtime_tag}"]
    if no_cache:
        args.append("--no-cache")
    start = time.perf_counter()
    subprocess.run([*args, str(context)], check=True, capture_output=True)
    return time.perf_counter() - start


def build_times(orch: Orchestrator, sid: str, runtime_tag: str) -> dict[str, float]:
    spec = orch.spec(sid)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        for rel, path in context_files(spec.folder):
            dest = ctx / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        (ctx / "certs").mkdir(exist_ok=True)
        if CA.exists():
            shutil.copyfile(CA, ctx / "certs" / "ca.crt")
        tag = f"switchboard-bench/{sid}:{secrets.token_hex(3)}"
        cold = docker_build(ctx, tag, runtime_tag, no_cache=True)
        cached = docker_build(ctx, tag, runtime_tag, no_cache=False)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    return {"cold_build_s": round(cold, 1), "cached_build_s": round(cached, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--specialist", action="append")
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    namespace = "img" + secrets.token_hex(3)
    orch = Orchestrator(
        load_settings(data_dir=Path(tempfile.mkdtemp(prefix="sb-img-")), namespace=namespace, ollama_autostart=False)
    )
    orch.start(monitors=False).result(timeout=120)
    out: dict[str, dict[str, object]] = {}
    try:
        runtime_tag = orch.images.ensure_runtime_image()
        for sid in args.specialist or orch.catalogue.ids():
            t = time.perf_counter()
            tag = orch.build_sync(sid)
            ensure_s = time.perf_counter() - t
            size = int(
                subprocess.run(
                    ["docker", "image", "inspect", "-f", "{{.Size}}", tag], capture_output=True, text=True, check=True
                ).stdout
            )
            row: dict[str, object] = {
                "image": tag,
                "size_mb": round(size / 1e6, 1),
                "engine_ensure_s_when_present": round(ensure_s, 3),
            }
            if not args.skip_cold:
                row.update(build_times(orch, sid, runtime_tag))
            if not orch.spec(sid).scaling.fresh_per_task:
                replica = orch.lifecycle.start(sid)
                time.sleep(3)
                client = SocketClient(replica.exchange.socket)
                pong = client.call({"v": 1, "kind": "ping"}, 10)
                client.close()
                stats = orch.runtime.stats(replica.name)
                row["idle_rss_mb"] = round(int(pong.get("rss_kb", 0)) / 1024, 1)
                row["idle_container_memory_mb"] = round(stats.memory_bytes / 1e6, 1)
                orch.lifecycle.remove(replica.name)
            out[sid] = row
    finally:
        orch.close(remove_containers=True)
        subprocess.run(
            [
                "bash",
                "-c",
                f"docker volume ls -q --filter label=io.switchboard.namespace={namespace} "
                "| xargs -r docker volume rm -f; "
                f"docker network ls -q --filter label=io.switchboard.namespace={namespace} "
                "| xargs -r docker network rm",
            ],
            capture_output=True,
        )
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
