"""Two app instances on one data folder, and a stale lock left by a dead process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app.engine.core.config import Settings
from app.engine.core.events import Decision
from app.engine.fleet.instance_lock import InstanceLock
from app.engine.orchestrator import Orchestrator

ROOT = Path(__file__).resolve().parents[2]


def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, ollama_autostart=False, llama_autostart=False, autoscale=False)


def test_a_second_instance_is_secondary_and_names_the_primarys_pid(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from app.engine.fleet.instance_lock import InstanceLock;"
            " lock = InstanceLock(Path(sys.argv[1])); assert lock.try_acquire();"
            " print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        orch = Orchestrator(settings(tmp_path))
        told: list[Decision] = []
        orch.bus.subscribe(Decision, lambda d: told.append(d) if d.kind == "secondary" else None)
        try:
            orch.start(docker=False, monitors=False).result(timeout=60)
            assert orch.primary is False
            assert f"pid {holder.pid}" in orch.secondary_reason and str(tmp_path) in orch.secondary_reason
            assert told and told[0].reason == orch.secondary_reason
        finally:
            orch.close()
    finally:
        holder.kill()
        holder.wait(10)
    # the holder died: its lock is gone with it, the next engine is primary
    orch = Orchestrator(settings(tmp_path))
    try:
        orch.start(docker=False, monitors=False).result(timeout=60)
        assert orch.primary is True
        assert InstanceLock(tmp_path).holder() == os.getpid()
    finally:
        orch.close()


def test_exactly_one_of_two_engines_in_one_folder_is_primary(tmp_path: Path) -> None:
    first, second = Orchestrator(settings(tmp_path)), Orchestrator(settings(tmp_path))
    try:
        first.start(docker=False, monitors=False).result(timeout=60)
        second.start(docker=False, monitors=False).result(timeout=60)
        assert [first.primary, second.primary] == [True, False]
        assert f"pid {os.getpid()}" in second.secondary_reason
    finally:
        first.close()
        second.close()


def test_a_stale_lock_file_from_a_dead_pid_does_not_block(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    (tmp_path / "engine.lock").write_text(str(dead.pid))
    time.sleep(0.1)
    lock = InstanceLock(tmp_path)
    try:
        assert lock.try_acquire() is True
        assert lock.holder() == os.getpid()
    finally:
        lock.release()
