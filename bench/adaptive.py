"""The lifecycle controller against reference policies, replaying one bursty trace on real containers.

Usage::

    .venv/bin/python bench/adaptive.py [--policies adaptive knative ray always_on per_task warm]
                                       [--trace bench/traces/bursty.json] [--speed 1.0]

Each policy gets a fresh engine (its own namespace and data folder) and the same recorded
trace of real tasks (``bench/traces/bursty.json``: quiet, a burst of dozens, quiet, a steady
stream, quiet). ``warm`` is the reference: every specialist held at ``max_replicas`` from
the start, so its p95 is the "warm p95". Figures per policy:

- latency p50/p95 (submit → result) and the ratio to the warm p95; p95 of the tasks submitted in
  the burst and in the steady segment;
- container-seconds over the trace: running, paused and held (= running + paused), integrated
  exactly from the containers' state events (starting counts as running), not sampled;
- stability: ticks from the first to the last scale-up decision after the burst's step change,
  and changes of scaling direction during the steady segment, of the replica count a
  specialist holds (running + paused: ``steady_direction_changes``) and, for comparison, of
  the running count alone (``steady_running_flips``: every pause and resume moves it);
- tier changes (pauses + resumes) per minute, over the trace and in the steady segment;
- cold starts and resumes, of which woken ahead of an expected task, and the replicas paused
  again because that task was overdue; failed tasks with their reasons (error kind and first line).

Bounded: at most the trace's length plus two minutes per policy; loopback only.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.engine.core.config import load_settings
from app.engine.core.events import ContainerStateChanged, Decision, TaskStateChanged
from app.engine.core.states import ContainerState
from app.engine.orchestrator import Orchestrator

HERE = Path(__file__).parent
TICK_S = 2.0


def make_orders(path: Path, rows: int = 60_000) -> None:
    """A seeded orders table big enough that a task costs real container time."""
    rng = random.Random(7)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["order_id", "region", "customer", "amount", "discount"])
        for i in range(rows):
            out.writerow(
                [
                    i,
                    rng.choice(["East", "West", "North", "South"]),
                    f"c{rng.randint(1, 900)}",
                    round(rng.lognormvariate(4, 0.8), 2),
                    rng.choice([0, 0, 0.05, 0.1]),
                ]
            )


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


def run_policy(policy: str, trace: dict[str, Any], orders: Path, speed: float) -> dict[str, Any]:
    """Replay the trace against a fresh engine running ``policy``; return its figures."""
    with tempfile.TemporaryDirectory(prefix="sb-adaptive-") as tmp:
        engine_policy = "always_on" if policy == "warm" else policy
        settings = load_settings(
            data_dir=Path(tmp),
            namespace=f"bench-ad-{policy.replace('_', '-')}",
            autoscale=True,
            autoscale_policy=engine_policy,
            autoscale_tick_s=TICK_S,
            ollama_autostart=False,
            llama_autostart=False,
        )
        orch = Orchestrator(settings)
        orch.start().result(timeout=300)
        specialists = sorted({e["specialist"] for e in trace["events"]})
        decisions: list[tuple[float, Decision]] = []
        cold = resumed = woken = overdue = 0
        lock = threading.Lock()
        t0 = 0.0

        def on_decision(d: Decision) -> None:
            with lock:
                decisions.append((time.monotonic() - t0, d))

        finished: dict[str, float] = {}
        paused_now: set[str] = set()
        states: list[tuple[float, str, str]] = []  # (t, container, state) from t0

        def on_task(e: TaskStateChanged) -> None:
            if e.state in ("succeeded", "failed", "cancelled"):
                with lock:
                    finished[e.task_id] = time.monotonic()

        def on_state(e: ContainerStateChanged) -> None:
            nonlocal cold, resumed, woken, overdue
            with lock:
                states.append((time.monotonic() - t0, e.container, e.state))
                if e.state == ContainerState.STARTING:
                    cold += 1
                elif e.state == ContainerState.PAUSED:
                    paused_now.add(e.container)
                    overdue += e.reason.startswith("the expected task is overdue")
                elif e.state == ContainerState.RUNNING and e.container in paused_now:
                    paused_now.discard(e.container)
                    resumed += 1
                    woken += e.reason.startswith("woken")

        try:
            for sid in specialists:
                orch.build(sid).result(timeout=1800)
            if policy == "always_on":
                for sid in specialists:
                    orch.up(sid, 1).result(timeout=120)
            if policy == "warm":
                for sid in specialists:
                    orch.scale(sid, orch.spec(sid).scaling.max_replicas).result(timeout=300)
            orch.bus.subscribe(Decision, on_decision)
            orch.bus.subscribe(ContainerStateChanged, on_state)
            orch.bus.subscribe(TaskStateChanged, on_task)
            cold = resumed = woken = overdue = 0
            samples: list[tuple[float, dict[str, tuple[int, int]]]] = []
            stop = threading.Event()
            with lock:
                t0 = time.monotonic()
                states.clear()
                for r in orch.lifecycle.replicas():
                    if not r.sandbox:
                        states.append((0.0, r.name, ContainerState.PAUSED if r.paused else ContainerState.RUNNING))

            def sample() -> None:
                while not stop.wait(0.5):
                    now = time.monotonic() - t0
                    snap = {}
                    for sid in specialists:
                        reps = [r for r in orch.lifecycle.replicas(sid) if not r.sandbox]
                        snap[sid] = (sum(1 for r in reps if not r.paused), sum(1 for r in reps if r.paused))
                    samples.append((now, snap))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            handles = []
            names: list[str] = []
            for event in trace["events"]:
                delay = event["t"] / speed - (time.monotonic() - t0)
                if delay > 0:
                    time.sleep(delay)
                files = [orders] if event.get("files") else []
                handles.append(
                    (time.monotonic(), orch.submit(event["text"], specialist=event["specialist"], files=files))
                )
                names.append(event["specialist"])
            failed = 0
            reasons: dict[str, int] = {}
            for _, handle in handles:
                view = handle.future.result(timeout=300)
                if view.state != "succeeded":
                    failed += 1
                    why = f"{view.error_kind}: {(view.error or '').splitlines()[0] if view.error else ''}"[:160]
                    reasons[why] = reasons.get(why, 0) + 1
            with lock:
                timed = [(submitted - t0, finished[h.id] - submitted) for submitted, h in handles if h.id in finished]
                tasks_detail = [
                    {"t": round(at - t0, 3), "specialist": sid, "latency_s": round(finished[h.id] - at, 4)}
                    for (at, h), sid in zip(handles, names, strict=True)
                    if h.id in finished
                ]
            latencies = [lat for _, lat in timed]
            end = trace["end_s"] / speed
            remaining = end - (time.monotonic() - t0)
            if remaining > 0:
                time.sleep(remaining)
            stop.set()
            sampler.join()
            with lock:
                timeline = list(states)
            horizon = time.monotonic() - t0
        finally:
            orch.close(remove_containers=True)
    result = summarise(policy, trace, samples, decisions, latencies, failed, cold, resumed, speed)
    result.update(tier_figures(timeline, horizon, trace, speed))
    for segment in ("burst", "steady"):
        lo, hi = (x / speed for x in trace["segments"][segment])
        result[f"p95_{segment}_s"] = round(pct([lat for t, lat in timed if lo <= t <= hi], 0.95) or 0.0, 3)
    result["failure_reasons"] = reasons
    result["woken_ahead"], result["overdue_repauses"] = woken, overdue
    result["tasks_detail"] = tasks_detail
    return result


def tier_figures(
    timeline: list[tuple[float, str, str]], horizon: float, trace: dict[str, Any], speed: float
) -> dict[str, Any]:
    """Running and paused container-seconds integrated from state events, and tier changes per minute."""
    running_s = paused_s = 0.0
    state: dict[str, tuple[str, float]] = {}  # container -> (running | paused, since)
    tiers: list[float] = []

    def close(name: str, t: float) -> None:
        nonlocal running_s, paused_s
        if name in state:
            kind, since = state.pop(name)
            if kind == "running":
                running_s += t - since
            else:
                paused_s += t - since

    for t, name, new in sorted(timeline, key=lambda x: x[0]):
        before = state.get(name, ("", 0.0))[0]
        if new in (ContainerState.STARTING, ContainerState.RUNNING):
            if before == "paused":
                tiers.append(t)
            if before != "running":
                close(name, t)
                state[name] = ("running", t)
        elif new == ContainerState.PAUSED:
            if before == "running":
                tiers.append(t)
            close(name, t)
            state[name] = ("paused", t)
        else:  # removed, failed, exited
            close(name, t)
    for name in list(state):
        close(name, horizon)
    steady_lo, steady_hi = (x / speed for x in trace["segments"]["steady"])
    in_steady = sum(1 for t in tiers if steady_lo <= t <= steady_hi)
    return {
        "running_container_s": round(running_s, 1),
        "paused_container_s": round(paused_s, 1),
        "held_container_s": round(running_s + paused_s, 1),
        "tier_changes": len(tiers),
        "tier_changes_per_min": round(len(tiers) / (horizon / 60), 1) if horizon > 0 else 0.0,
        "steady_tier_changes_per_min": round(in_steady / ((steady_hi - steady_lo) / 60), 1),
    }


def summarise(
    policy: str,
    trace: dict[str, Any],
    samples: list[tuple[float, dict[str, tuple[int, int]]]],
    decisions: list[tuple[float, Decision]],
    latencies: list[float],
    failed: int,
    cold: int,
    resumed: int,
    speed: float,
) -> dict[str, Any]:
    """Figures of one run."""
    burst_lo, burst_hi = (x / speed for x in trace["segments"]["burst"])
    ups = [t for t, d in decisions if d.kind == "scale_up" and burst_lo <= t <= burst_hi]
    steady_lo, steady_hi = (x / speed for x in trace["segments"]["steady"])

    def flips(count: Any) -> int:
        total = 0
        for sid in samples[0][1] if samples else {}:
            series = [count(snap[sid]) for t, snap in samples if steady_lo <= t <= steady_hi]
            moves = [b - a for a, b in zip(series, series[1:], strict=False) if b != a]
            total += sum(1 for a, b in zip(moves, moves[1:], strict=False) if (a > 0) != (b > 0))
        return total

    return {
        "policy": policy,
        "tasks": len(latencies),
        "failed": failed,
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(pct(latencies, 0.95) or 0.0, 3),
        "burst_scale_ups": len(ups),
        "burst_settle_ticks": round((max(ups) - min(ups)) / TICK_S, 1) if ups else 0.0,
        "steady_direction_changes": flips(lambda rp: rp[0] + rp[1]),  # the held count
        "steady_running_flips": flips(lambda rp: rp[0]),
        "cold_starts": cold,
        "resumes": resumed,
        "peak_running": max((sum(r for r, _ in snap.values()) for _, snap in samples), default=0),
        "peak_held": max((sum(r + p for r, p in snap.values()) for _, snap in samples), default=0),
    }


def across_rounds(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per policy over the rounds: the median and the range of p95, p95 per segment and container-seconds."""
    rows = []
    for policy in dict.fromkeys(r["policy"] for r in results):
        mine = [r for r in results if r["policy"] == policy]
        row: dict[str, Any] = {"policy": policy, "rounds": len(mine), "failed": sum(r["failed"] for r in mine)}
        for key in ("p50_s", "p95_s", "p95_burst_s", "p95_steady_s", "running_container_s", "held_container_s"):
            values = [r[key] for r in mine if r.get(key) is not None]
            if values:
                row[key] = {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}
        rows.append(row)
    return rows


def pooled_comparison(rows: list[dict[str, Any]], base: str = "adaptive", draws: int = 4000) -> dict[str, Any]:
    """p95 of every round's tasks pooled per policy, and ``base`` minus each other's p95 with a 95 % bootstrap CI.

    A CI that holds 0 means the rounds cannot tell the two p95s apart; one wholly above 0 means
    ``base`` is slower. Seeded, so the same tasks give the same interval.
    """
    pooled: dict[str, list[float]] = {}
    for row in rows:
        pooled.setdefault(row["policy"], []).append(row["latency_s"])
    out: dict[str, Any] = {"p95_pooled_s": {k: round(pct(v, 0.95) or 0.0, 4) for k, v in pooled.items()}}
    mine = pooled.get(base)
    if not mine:
        return out
    rng = random.Random(0)
    for other, theirs in pooled.items():
        if other == base:
            continue
        diffs = sorted(
            (pct(rng.choices(mine, k=len(mine)), 0.95) or 0.0) - (pct(rng.choices(theirs, k=len(theirs)), 0.95) or 0.0)
            for _ in range(draws)
        )
        low, high = diffs[int(0.025 * draws)], diffs[int(0.975 * draws) - 1]
        observed = (pct(mine, 0.95) or 0.0) - (pct(theirs, 0.95) or 0.0)
        out[f"{base}_minus_{other}_p95_s"] = {
            "observed": round(observed, 4),
            "ci95": [round(low, 4), round(high, 4)],
            "tasks": [len(mine), len(theirs)],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--policies", nargs="*", default=["warm", "adaptive", "knative", "ray", "always_on", "per_task"]
    )
    parser.add_argument("--trace", type=Path, default=HERE / "traces" / "bursty.json")
    parser.add_argument("--speed", type=float, default=1.0, help="replay faster (>1) or slower; windows are not scaled")
    parser.add_argument("--tasks-out", type=Path, help="also write every task's submit time and latency (JSON lines)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the policies this many rounds (interleaved); report each round's"
    )
    parser.add_argument(
        "--compare-tasks",
        type=Path,
        help="only compare the pooled p95s of a --tasks-out file (adaptive against each other policy)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be 1 or more, not {args.repeat}")
    if args.compare_tasks is not None:
        try:
            rows = [json.loads(line) for line in args.compare_tasks.read_text().splitlines() if line.strip()]
            if not all(isinstance(r, dict) and {"policy", "latency_s"} <= r.keys() for r in rows):
                raise ValueError("every line needs a policy and a latency_s")
        except (OSError, ValueError) as exc:
            parser.error(f"--compare-tasks {args.compare_tasks}: not a --tasks-out file ({exc})")
        print(json.dumps(pooled_comparison(rows), indent=2))
        return
    trace = json.loads(args.trace.read_text())
    results = []
    with tempfile.TemporaryDirectory(prefix="sb-adaptive-data-") as tmp:
        orders = Path(tmp) / "orders.csv"
        make_orders(orders)
        for round_no in range(1, args.repeat + 1):
            for policy in args.policies:
                began = time.monotonic()
                result = run_policy(policy, trace, orders, args.speed)
                result["wall_s"] = round(time.monotonic() - began)
                result["round"] = round_no
                detail = result.pop("tasks_detail")
                if args.tasks_out is not None:
                    with args.tasks_out.open("a") as out:
                        for row in detail:
                            out.write(json.dumps({"policy": policy, "round": round_no, **row}) + "\n")
                print(json.dumps(result), flush=True)
                results.append(result)
    if args.repeat > 1:
        print(json.dumps(across_rounds(results), indent=2))
        if args.tasks_out is not None:
            rows = [json.loads(line) for line in args.tasks_out.read_text().splitlines() if line.strip()]
            print(json.dumps(pooled_comparison(rows), indent=2))
        return
    by = {r["policy"]: r for r in results}
    warm = by.get("warm")
    if warm and warm["p95_s"]:
        for r in results:
            r["p95_vs_warm"] = round(r["p95_s"] / warm["p95_s"], 2)
    if "always_on" in by and by["always_on"]["held_container_s"]:
        base = by["always_on"]["held_container_s"]
        base_run = by["always_on"]["running_container_s"] or 1.0
        for r in results:
            r["held_saving_vs_always_on"] = round(1 - r["held_container_s"] / base, 2)
            r["running_saving_vs_always_on"] = round(1 - r["running_container_s"] / base_run, 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
