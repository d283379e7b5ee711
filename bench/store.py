"""Store throughput benchmark: the dispatcher's per-task database pattern, printed as JSON.

Each simulated worker thread does, per task, what the dispatcher does: ``insert_task`` (waits),
two ``update_task`` (fire and forget), ``finish_task`` with one artifact (waits) = 4 store ops.

Run: ``python -m app.engine.store.bench [--url URL] [--seconds 5] [--workers 1 8 32]``
(default: a fresh SQLite file in a temporary folder).
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.engine.core.states import TaskState
from app.engine.store.store import Store

__all__ = ["main", "run_scenario"]

OPS_PER_TASK = 4


def run_scenario(store: Store, workers: int, seconds: float) -> dict[str, Any]:
    """Hammer ``store`` from ``workers`` threads for ``seconds``; return the figures."""
    counter = itertools.count()
    stop = threading.Event()
    done = [0] * workers
    batches0, items0 = store.writer.batches, store.writer.items

    def worker(slot: int) -> None:
        while not stop.is_set():
            task_id = f"b{next(counter):010d}"
            now = time.time()
            store.insert_task({"id": task_id, "text": "bench task", "requested_specialist": None}).result()
            store.update_task(task_id, state=TaskState.ROUTED, specialist="numerical", router="fast")
            store.update_task(task_id, state=TaskState.RUNNING, container="sb-numerical-0", started_at=now)
            store.finish_task(
                task_id,
                {
                    "state": TaskState.SUCCEEDED,
                    "finished_at": time.time(),
                    "duration_ms": 1.0,
                    "answer": "42",
                    "result": {"data": {"value": 42}},
                },
                [{"name": "out.txt", "sha256": "a" * 64, "bytes": 2, "mime": "text/plain"}],
            ).result()
            done[slot] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    tasks = sum(done)
    batches = store.writer.batches - batches0
    items = store.writer.items - items0
    return {
        "workers": workers,
        "seconds": round(elapsed, 2),
        "tasks": tasks,
        "tasks_per_s": round(tasks / elapsed, 1),
        "ops_per_s": round(tasks * OPS_PER_TASK / elapsed, 1),
        "commits": batches,
        "mean_batch": round(items / batches, 1) if batches else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run each scenario on a fresh store, print one JSON document."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="", help="database URL (default: temporary SQLite)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.workers:
            url = args.url or f"sqlite:///{Path(tmp) / f'bench-{n}.db'}"
            with Store(url, data_dir=Path(tmp)) as store:
                results.append(run_scenario(store, n, args.seconds))
                store.run(lambda c: c.exec_driver_sql("DELETE FROM artifacts")).result()
                store.run(lambda c: c.exec_driver_sql("DELETE FROM blobs")).result()
                store.run(lambda c: c.exec_driver_sql("DELETE FROM tasks")).result()
            dialect = url.split(":", 1)[0]
    print(
        json.dumps(
            {
                "benchmark": "store",
                "dialect": dialect,
                "ops_per_task": OPS_PER_TASK,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
