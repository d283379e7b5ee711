"""Warm tiers: the pause rule, and the controller pausing between tasks while the held count stays still."""

from __future__ import annotations

import time
from pathlib import Path

from app.engine.core.states import TaskState
from app.engine.fleet.tiers import TierRule
from app.engine.fleet.wakes import WakeEntry
from tests.unit.fake_controller import FakeClock, fake_controller, wait_until
from tests.unit.fake_runtime import make_rig, make_spec


def test_the_rule_pauses_only_when_the_gaps_are_long_against_the_measured_resume() -> None:
    rule = TierRule()
    assert rule.resume_cost([0.01, 0.02]) == 0.05, "the prior until three resumes were measured"
    assert rule.resume_cost([0.015, 0.016, 0.025, 0.014]) == 0.025, "then their p95"
    stream = [3.0] * 6
    why = rule.pause_at_idle(stream, 0.016)
    assert why is not None and "typical gap 3.0 s ≥ 20 × resume 16 ms" in why
    assert rule.pause_at_idle([0.1] * 8, 0.016) is None, "a burst: the next task is due before a pause pays"
    assert rule.pause_at_idle([3.0, 0.4, 7.5], 0.016) is None, "three irregular gaps say nothing about a pattern"
    assert rule.pause_at_idle([0.1] * 6 + [51.0, 3.0, 3.1], 0.016) is not None, "a stream just begun: its own gaps"
    assert rule.pause_at_idle([0.1] * 6 + [51.0, 3.0], 0.016) is None, "one gap of a new stream is not yet a pattern"
    assert rule.pause_at_idle([3.0] * 6, 0.2) is None, "a slow resume (200 ms) needs gaps of 4 s"
    assert rule.pause_at_idle([0.5] * 6, 0.001) is None, "never more often than once a second"
    assert rule.pause_at_idle([0.1] * 10 + [3.0] * 5, 0.016) is not None, "the last 8 gaps, not the burst before"
    assert rule.pause_after_s([0.1] * 8, 0.016) == 1.0, "after a burst: 1 s without work"
    assert rule.pause_after_s([3.0] * 8, 0.016) == 9.0, "3 × the typical gap"
    assert rule.pause_after_s([], 0.2) == 4.0, "20 × a slow resume"
    assert rule.pause_after_s([0.1] * 6 + [51.0, 3.0, 3.0], 0.016) == 9.0, (
        "a stream just begun: 3 × its own gap, so the tick never pauses a replica woken for its next task"
    )


def test_a_steady_stream_pauses_between_tasks_without_changing_the_held_count(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=3, concurrency=2)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            for i in range(12):  # a 1 ms task every 3 s
                assert r.dispatcher.submit(r.job(f"task {i}")).result(timeout=10).state == TaskState.SUCCEEDED
                controller.tick(clock.advance(1.5))
                controller.tick(clock.advance(1.5))
            wait_until(lambda: all(x.paused for x in r.lifecycle.replicas("echo")))
            assert len(r.runtime.started) == 1, "one replica held all along: no cold start after the first"
            assert len(r.lifecycle.replicas("echo")) == 1
            paused, resumed = len(r.runtime.paused), len(r.runtime.resumed)
            assert paused >= 8 and resumed >= 7, "paused between tasks, resumed by the next"
            for kind in ("scale_up", "scale_down", "scale_to_zero"):
                assert not r.recorder.decisions(kind), f"the held count never moved ({kind})"
            # before four gaps were seen the tick paused it (a decision, and so is its resume); after that
            # each pause at task end and its resume are container events, not a decision per task
            ticked = len(r.recorder.decisions("pause"))
            assert ticked <= 4 and len(r.recorder.decisions("resume")) == ticked < len(r.runtime.resumed) - 3
            verdicts = r.recorder.decisions("tier")
            assert verdicts and verdicts[-1].data["pause_at_idle"] is True
            assert "paused at task end (idle between tasks: typical gap 3.0 s" in verdicts[-1].reason
        finally:
            controller.stop()


def test_a_burst_keeps_its_replicas_running_at_task_end_and_pauses_them_on_the_tick(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=3, concurrency=2)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            futures = [r.dispatcher.submit(r.job(f"task {i}")) for i in range(10)]  # ten at once: gaps of ~0
            assert all(f.result(timeout=10).state == TaskState.SUCCEEDED for f in futures)
            time.sleep(0.1)  # any pause at task end would have been handed to the tier thread by now
            assert r.runtime.paused == [], "the next task of a burst is due at once: no pause at task end"
            controller.tick(clock.advance(0.5))
            assert r.runtime.paused == [], "0.5 s without work is not yet the end of the burst"
            controller.tick(clock.advance(1.0))
            assert all(x.paused for x in r.lifecycle.replicas("echo")), "1 s without work after a burst: paused"
            assert r.recorder.decisions("pause")[0].reason.startswith("paused 1 idle echo replica(s), still held")
        finally:
            controller.stop()


def test_min_replicas_stay_running_between_tasks(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=2, min_replicas=1, concurrency=1)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            for i in range(8):
                assert r.dispatcher.submit(r.job(f"task {i}")).result(timeout=10).state == TaskState.SUCCEEDED
                controller.tick(clock.advance(3))
            time.sleep(0.1)
            assert r.runtime.paused == [] and len(r.lifecycle.replicas("echo")) == 1
        finally:
            controller.stop()


def test_regular_gaps_wake_a_paused_replica_ahead_of_the_next_task() -> None:
    rule = TierRule()
    wake = rule.wake_ahead([3.0, 3.02, 2.98, 3.01, 3.0], last_arrival=100.0, resume_s=0.02)
    assert wake is not None
    assert abs(wake.at - (100.0 + 2.98 - 0.09)) < 1e-9, "2 x resume + 50 ms before the shortest gap"
    assert abs(wake.overdue - (100.0 + 3.02 + 0.09)) < 1e-9, "overdue after the longest gap and the same lead"
    assert "woken 90 ms before the next expected task (regular gaps 2.98-3.02 s" in wake.reason
    assert rule.wake_ahead([3.0, 0.4, 7.5, 2.0, 4.1], 100.0, 0.02) is None, "Poisson-like gaps: nothing to tell"
    assert rule.wake_ahead([3.0, 9.0], 100.0, 0.02) is None, "two gaps apart are no pattern"
    assert rule.wake_ahead([3.0, 3.0, 3.0, 3.8], 100.0, 0.02) is not None, "a spread of 27 % of the median"
    assert rule.wake_ahead([3.0, 3.0, 3.0, 4.5], 100.0, 0.02) is None, "the newest gap is off the run: irregular"
    assert rule.regular_run([3.0, 3.0, 3.0, 4.0]) == [3.0, 4.0], "two within 30 % of their median (3.5 s)"
    assert rule.wake_ahead([0.1] * 8 + [51.0, 3.0], 100.0, 0.02) is None, "one gap after a burst: too few"
    after_burst = rule.wake_ahead([0.1] * 6 + [51.0] + [3.0] * 2, 100.0, 0.02)
    assert after_burst is not None and "regular gaps 3.00-3.00 s" in after_burst.reason, "the run since the burst"
    assert rule.regular_run([9.0, 3.1, 2.9, 3.0, 3.05]) == [3.1, 2.9, 3.0, 3.05]


def test_a_regular_stream_finds_its_replica_woken_and_an_overdue_one_is_paused_again(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=3, concurrency=2)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)

        def newest() -> list[WakeEntry]:
            """The entries made at the replica's last pause (older ones are dropped when run)."""
            (replica,) = r.lifecycle.replicas("echo")
            return [e for e in controller.wakes.pending() if e.served == replica.served and replica.paused]

        try:
            for i in range(8):  # a 1 ms task every 3 s
                if i:
                    controller.wakes.run_due(clock.advance(3.0))
                assert r.dispatcher.submit(r.job(f"task {i}")).result(timeout=10).state == TaskState.SUCCEEDED
                if i >= 4:  # four gaps make a pattern: paused at task end (by the tier thread), wake planned
                    wait_until(lambda: len(newest()) == 2)
            (replica,) = r.lifecycle.replicas("echo")
            resume, recheck = newest()
            assert (resume.action, recheck.action) == ("resume", "recheck")
            assert clock.t + 2.5 < resume.due < clock.t + 3.0 < recheck.due
            before = len(r.runtime.resumed)
            controller.wakes.run_due(resume.due)
            assert not replica.paused and len(r.runtime.resumed) == before + 1, "woken ahead of the task"
            clock.t = resume.due + 0.1
            woken = controller.wake_counts["woken"]
            assert r.dispatcher.submit(r.job("on time")).result(timeout=10).state == TaskState.SUCCEEDED
            assert len(r.runtime.resumed) == before + 1, "the task found it running: no resume of its own"
            wait_until(lambda: len(newest()) == 2)
            controller.wakes.run_due(recheck.due)
            assert controller.wake_counts["overdue"] == 0, "the old recheck is dropped: the replica served since"
            resume, recheck = newest()
            controller.wakes.run_due(resume.due)
            assert not replica.paused and controller.wake_counts["woken"] == woken + 1
            paused = len(r.runtime.paused)
            controller.wakes.run_due(recheck.due)  # no task came
            assert replica.paused and len(r.runtime.paused) == paused + 1, "paused again when the task is overdue"
            assert controller.wake_counts["overdue"] == 1
            verdict = r.recorder.decisions("tier")[-1]
            assert verdict.data["wake_ahead"] is True and "ms before the next expected task" in verdict.reason
        finally:
            controller.stop()


def test_one_expected_task_wakes_one_replica_however_many_were_paused(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(max_replicas=3, concurrency=1)]) as r:
        clock = FakeClock()
        controller = fake_controller(r, clock)
        try:
            first, second = r.lifecycle.start("echo"), r.lifecycle.start("echo")
            wake = TierRule().wake_ahead([3.0] * 5, clock.t, 0.02)
            assert wake is not None
            controller._tier_pause(first, "idle", wake, first.served)
            controller._tier_pause(second, "idle", wake, second.served)
            assert first.paused and second.paused
            resumes = [e for e in controller.wakes.pending() if e.action == "resume"]
            assert [e.replica for e in resumes] == [first.name], "the second replica stays paused"
            later = TierRule().wake_ahead([3.0] * 5, clock.t + 3.0, 0.02)
            assert later is not None
            controller._tier_pause(first, "idle", later, first.served)  # already paused: nothing new
            r.lifecycle.resume(first.name, reason="test")
            controller._tier_pause(first, "idle", later, first.served)
            assert len([e for e in controller.wakes.pending() if e.action == "resume"]) == 2, "the next task's wake"
        finally:
            controller.stop()
