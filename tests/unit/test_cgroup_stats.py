"""CgroupStatsReader on fake cgroup v1 and v2 trees."""

from __future__ import annotations

from pathlib import Path

from app.engine.runtime.cgroup_stats import CgroupSample, CgroupStatsReader, cpu_percent

CID = "d680b052f499"


def _files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_v1_reads_memory_limit_pids_and_cpu_delta(tmp_path: Path) -> None:
    _files(
        tmp_path,
        {
            f"memory/docker/{CID}/memory.usage_in_bytes": "5000000\n",
            f"memory/docker/{CID}/memory.limit_in_bytes": "536870912\n",
            f"memory/docker/{CID}/memory.stat": "cache 10\ntotal_inactive_file 1000000\n",
            f"cpuacct/docker/{CID}/cpuacct.usage": "1000000000\n",
            f"pids/docker/{CID}/pids.current": "3\n",
        },
    )
    reader = CgroupStatsReader(tmp_path)
    assert reader.version == "1"
    first = reader.stats(CID)
    assert first is not None
    assert (first.memory_bytes, first.memory_limit_bytes, first.pids) == (4_000_000, 536870912, 3)
    assert first.cpu_percent == 0.0 and first.cpu_seconds_total == 1.0
    (tmp_path / f"cpuacct/docker/{CID}/cpuacct.usage").write_text("1500000000\n")
    second = reader.stats(CID)
    assert second is not None and second.cpu_percent > 0
    assert reader.stats("other") is None


def test_v1_unlimited_memory_reads_as_zero(tmp_path: Path) -> None:
    _files(
        tmp_path,
        {
            f"memory/docker/{CID}/memory.usage_in_bytes": "100",
            f"memory/docker/{CID}/memory.limit_in_bytes": "9223372036854771712",
            f"cpuacct/docker/{CID}/cpuacct.usage": "1",
        },
    )
    stats = CgroupStatsReader(tmp_path).stats(CID)
    assert stats is not None and stats.memory_limit_bytes == 0 and stats.pids == 0


def test_v2_systemd_scope(tmp_path: Path) -> None:
    scope = f"system.slice/docker-{CID}.scope"
    _files(
        tmp_path,
        {
            "cgroup.controllers": "cpu memory pids",
            f"{scope}/memory.current": "8000",
            f"{scope}/memory.max": "max",
            f"{scope}/memory.stat": "anon 5000\ninactive_file 3000\n",
            f"{scope}/pids.current": "7",
            f"{scope}/cpu.stat": "usage_usec 2500000\nuser_usec 1\n",
        },
    )
    reader = CgroupStatsReader(tmp_path)
    assert reader.version == "2"
    stats = reader.stats(CID)
    assert stats is not None
    assert (stats.memory_bytes, stats.memory_limit_bytes, stats.pids, stats.cpu_seconds_total) == (5000, 0, 7, 2.5)


def test_cpu_percent_of_one_core() -> None:
    a = CgroupSample(0, 0, 0, cpu_ns=0, mono_s=10.0)
    b = CgroupSample(0, 0, 0, cpu_ns=1_500_000_000, mono_s=11.0)
    assert cpu_percent(None, b) == 0.0
    assert cpu_percent(a, b) == 150.0
    assert cpu_percent(b, a) == 0.0
