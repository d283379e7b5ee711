"""Resource samples past their retention are pruned by the primary engine; tasks are kept."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from app.engine.core.config import load_settings
from app.engine.orchestrator import Orchestrator


def test_old_samples_are_pruned_at_start_and_tasks_are_kept(tmp_path: Path) -> None:
    def settings():  # noqa: ANN202
        return load_settings(
            data_dir=tmp_path,
            namespace="retention",
            ollama_autostart=False,
            samples_retention_days=1,
            docker_url=f"unix://{tmp_path}/none.sock",
        )

    now = time.time()
    first = Orchestrator(settings())
    first.start(docker=False, reconcile=False, monitors=False).result(timeout=60)
    store = first.wait_started()
    sample = {"container": "c1", "specialist": "numerical", "cpu_percent": 1.0, "memory_bytes": 5, "pids": 1}
    store.add_samples([{**sample, "ts": now - 3 * 86400}, {**sample, "ts": now - 60}]).result()
    old_task = uuid.uuid4().hex
    store.insert_task(
        {
            "id": old_task,
            "created_at": now - 30 * 86400,
            "updated_at": now - 30 * 86400,
            "state": "succeeded",
            "text": "2+2",
            "specialist": "numerical",
            "attempt": 1,
        }
    ).result()
    first.close()

    second = Orchestrator(settings())
    second.start(docker=False, reconcile=False).result(timeout=60)
    try:
        deadline = time.time() + 10
        points = second.series("memory_bytes", now - 5 * 86400)
        while len(points) != 1 and time.time() < deadline:
            time.sleep(0.1)
            points = second.series("memory_bytes", now - 5 * 86400)
        assert len(points) == 1 and points[0].ts > now - 3600
        assert second.task(old_task).state == "succeeded"
    finally:
        second.close()
