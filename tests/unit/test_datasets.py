"""Curated datasets: built from stored evidence, removable for good, exported, and used by retrain."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.errors import BadInput, NotFound
from app.engine.core.events import Decision, EventBus
from app.engine.core.specs import load_catalogue
from app.engine.improve import Improvement, ImprovementConfig, select_few_shot
from app.engine.improve.datasets import build_examples, load_cases
from app.engine.store import DatasetSources, ExampleRecord, GoldenRunRecord, Store

SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"
T0 = 1_700_000_000.0


def _task(store: Store, task_id: str, text: str, specialist: str, state: str, **extra: Any) -> None:
    store.insert_task(
        {
            "id": task_id,
            "text": text,
            "specialist": specialist,
            "state": state,
            "created_at": T0,
            "finished_at": T0 + 1,
            "duration_ms": 120.0,
            **extra,
        }
    ).result(5)


@pytest.fixture
def evidence(store: Store) -> Store:
    """One task per kind of evidence the dataset draws on."""
    _task(
        store,
        "ok000000000001",
        "integrate x^2 from 0 to 3",
        "numerical",
        "succeeded",
        answer="9",
        result={"plan": {"op": "integrate", "expression": "x^2", "lower": 0, "upper": 3}},
    )
    _task(store, "plan0000000002", "area under the bell curve please", "numerical", "failed", error_kind="bad_plan")
    _task(store, "user0000000003", "integrate this file", "numerical", "failed", error_kind="bad_input")
    _task(
        store,
        "good0000000004",
        "solve x^2 = 4",
        "numerical",
        "succeeded",
        answer="-2, 2",
        result={"plan": {"op": "solve", "expression": "x^2 - 4 = 0"}},
    )
    _task(store, "badd0000000005", "derivative of sin at 0", "numerical", "succeeded", answer="0")
    _task(store, "misr0000000006", "mean of this column", "data-analytics", "succeeded", answer="3")
    _task(store, "away0000000007", "average revenue by region", "numerical", "failed", error_kind="internal")
    _task(store, "canc0000000008", "integrate slowly", "numerical", "cancelled")
    store.add_feedback("good0000000004", "correct", "numerical", ts=T0 + 5).result(5)
    store.add_feedback("badd0000000005", "correct", "numerical", ts=T0 + 5).result(5)
    store.add_feedback("badd0000000005", "bad_answer", "numerical", ts=T0 + 6).result(5)  # the latest wins
    store.add_feedback("misr0000000006", "wrong_specialist", "numerical", ts=T0 + 7).result(5)
    store.add_feedback("away0000000007", "wrong_specialist", "data-analytics", ts=T0 + 8).result(5)
    store.add_golden_runs(
        [
            {
                "run_id": "r1",
                "specialist": "numerical",
                "case_id": "num-01",
                "passed": True,
                "ts": T0 + 10,
                "duration_ms": 30,
            },
            {
                "run_id": "r2",
                "specialist": "numerical",
                "case_id": "num-01",
                "passed": False,
                "ts": T0 + 20,
                "duration_ms": 40,
            },
            {"run_id": "r2", "specialist": "numerical", "case_id": "gone-from-suite", "passed": True, "ts": T0 + 20},
        ]
    ).result(5)
    return store


def _improvement(store: Store, bus: EventBus | None = None) -> Improvement:
    return Improvement(
        lambda: store,
        bus or EventBus(),
        load_catalogue(SPECIALISTS).specs,
        base_model="smollm2-135m",
        config=ImprovementConfig(),
        rng=random.Random(1),
    )


def test_examples_come_from_feedback_overrides_golden_runs_and_outcomes(evidence: Store) -> None:
    imp = _improvement(evidence)
    rows = {r.example_id: r for r in imp.dataset_rows("numerical")}
    got = {k: (r.source, r.label) for k, r in rows.items()}
    assert got == {
        "t-ok0000000000": ("outcome", "good"),
        "t-plan00000000": ("schema_violation", "bad"),
        "t-good00000000": ("feedback", "good"),
        "t-badd00000000": ("feedback", "bad"),  # correct, then bad_answer: the later verdict
        "t-misr00000000": ("override", "routing"),  # another specialist's task, named ours
        "g-num-01": ("golden", "bad"),  # the latest run failed
    }  # bad_input, cancelled, and the task moved to data-analytics are left out; so is the unknown case
    assert rows["t-ok0000000000"].plan["op"] == "integrate" and rows["t-ok0000000000"].answer == "9"
    assert rows["t-ok0000000000"].task_id == "ok000000000001" and rows["t-ok0000000000"].latency_ms == 120.0
    assert rows["t-ok0000000000"].ts == T0 + 1  # when it finished
    assert rows["g-num-01"].text == "integrate x^2 from 0 to 3" and rows["g-num-01"].expected["kind"] == "number"
    assert (rows["g-num-01"].case_id, rows["g-num-01"].latency_ms, rows["g-num-01"].ts) == ("num-01", 40.0, T0 + 20)
    assert rows["t-good00000000"].ts == T0 + 5  # when the feedback was given
    assert rows["t-misr00000000"].answer == "" and rows["t-misr00000000"].plan is None
    other = {r.example_id: r.source for r in imp.dataset_rows("data-analytics")}
    assert other == {"t-away00000000": "override"}


def test_a_removed_example_stays_removed_when_the_dataset_is_rebuilt(evidence: Store) -> None:
    bus, decisions = EventBus(), []
    bus.subscribe(Decision, decisions.append)
    imp = _improvement(evidence, bus)
    before = {e.example_id for e in imp.dataset("numerical")}
    assert imp.remove_example("numerical", "t-good00000000") is True
    assert decisions[-1].kind == "example_removed" and "t-good00000000" in decisions[-1].reason
    evidence.add_feedback("good0000000004", "correct", "numerical", ts=T0 + 50).result(5)  # new evidence
    assert imp.curate("numerical")["kept_removed"] == 1
    after = {e.example_id for e in imp.dataset("numerical")}
    assert after == before - {"t-good00000000"}
    everything = {e.example_id: e.removed for e in imp.dataset("numerical", include_removed=True)}
    assert everything["t-good00000000"] is True
    assert imp.remove_example("numerical", "t-good00000000") is False
    with pytest.raises(NotFound, match="no dataset example"):
        imp.remove_example("numerical", "t-nosuchthing")


def test_curation_is_idempotent_and_refreshes_changed_evidence(evidence: Store) -> None:
    imp = _improvement(evidence)
    first = imp.curate("numerical")
    assert first["added"] == 6
    assert imp.curate("numerical") == {"added": 0, "updated": 0, "unchanged": 6, "kept_removed": 0}
    evidence.add_feedback("ok000000000001", "bad_answer", "numerical", ts=T0 + 60).result(5)
    assert imp.curate("numerical")["updated"] == 1
    row = next(r for r in imp.dataset_rows("numerical") if r.example_id == "t-ok0000000000")
    assert (row.source, row.label) == ("feedback", "bad")


def test_export_writes_one_json_object_per_kept_example(evidence: Store) -> None:
    imp = _improvement(evidence)
    imp.remove_example("numerical", "t-plan00000000")
    lines = imp.export("numerical").splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 5 and "t-plan00000000" not in {d["id"] for d in docs}
    assert all(d["specialist"] == "numerical" and d["text"] for d in docs)
    assert set(docs[0]) >= {"id", "source", "label", "text", "answer", "plan", "expected", "task_id", "case_id"}


def test_few_shot_choice_prefers_strong_evidence_and_varied_plans() -> None:
    def ex(
        eid: str,
        source: str,
        op: str | None,
        ts: float,
        text: str | None = None,
        label: str = "good",
        plan: dict[str, Any] | None = None,
    ) -> ExampleRecord:
        return ExampleRecord(
            specialist="numerical",
            example_id=eid,
            source=source,
            label=label,
            text=text or f"task {eid}",
            ts=ts,
            created_at=ts,
            plan=plan or (None if op is None else {"op": op}),
        )

    pool = [
        ex("a", "outcome", "solve", 9),
        ex("b", "feedback", "solve", 1),
        ex("c", "feedback", "solve", 2),
        ex("d", "golden", "integrate", 5),
        ex("e", "outcome", None, 8),
        ex("f", "feedback", "fft", 3, label="bad"),
        ex("g", "outcome", "matrix", 4, text="TASK  c!"),  # same text as c once normalised
        ex("h", "feedback", None, 9, text="prog", plan={"program": "print(1)"}),
    ]
    chosen = [e.example_id for e in select_few_shot(pool, k=3)]
    # newest feedback first, then a new op, then the rest by evidence; duplicate text, no plan, bad, program: out
    assert chosen == ["c", "d", "b"]
    assert [e.example_id for e in select_few_shot(pool, k=10)] == ["c", "d", "b", "a"]
    assert select_few_shot([replace(pool[2], removed=True)]) == []  # a removed example is never shown


def test_retrain_makes_a_pending_variant_from_the_dataset_once_at_a_time(evidence: Store) -> None:
    bus, decisions = EventBus(), []
    bus.subscribe(Decision, decisions.append)
    imp = _improvement(evidence, bus)
    variant = imp.retrain("numerical")
    assert variant.version == 2 and variant.state == "pending" and variant.parent == "numerical-v1"
    assert set(variant.example_ids) == {"t-good00000000", "t-ok0000000000"}  # good and with a plan
    v1 = imp.variants("numerical")[0]
    assert variant.system_prompt == v1.system_prompt and dict(variant.parameters) == dict(v1.parameters)
    created = [d for d in decisions if d.kind == "variant_created"]
    assert [d.data["variant"] for d in created] == ["numerical-v1", "numerical-v2"]
    assert "2 few-shot examples chosen from 6 curated" in created[-1].reason
    views = {v.id: v for v in imp.views("numerical")}
    assert views["numerical-v2"].state == "pending" and views["numerical-v1"].state == "incumbent"
    assert views["numerical-v2"].model_name == "switchboard-numerical-v2"
    again = imp.retrain("numerical")  # v2 was never replayed: v3 takes its place
    assert again.version == 3
    states = {v.id: v.state for v in imp.variants("numerical")}
    assert states == {"numerical-v1": "incumbent", "numerical-v2": "retired", "numerical-v3": "pending"}
    assert decisions[-2].kind == "variant_rolled_back" and "superseded by v3" in decisions[-2].reason
    evidence.update_variants([("numerical-v3", {"state": "candidate", "live_since": T0})]).result(5)
    imp._forget("numerical")
    with pytest.raises(BadInput, match="still on trial"):  # a live trial is never cut short
        imp.retrain("numerical")


def test_retrain_without_usable_examples_says_what_to_do(store: Store) -> None:
    with pytest.raises(BadInput, match="no good example with a plan"):
        _improvement(store).retrain("database")
    with pytest.raises(NotFound):
        _improvement(store).retrain("no-such-specialist")


def test_suite_cases_are_read_from_the_specialist_folder(tmp_path: Path) -> None:
    (tmp_path / "golden.jsonl").write_text('{"id": "a", "text": "one"}\nnot json\n{"id": "b"}\n')
    (tmp_path / "natural.jsonl").write_text('{"id": "n", "text": "two", "plan": {"op": "x"}}\n')
    cases = load_cases(tmp_path)
    assert set(cases) == {"a", "n"}
    run = GoldenRunRecord(id=1, ts=1.0, run_id="r", specialist="x", case_id="n", passed=True)
    built = build_examples("x", DatasetSources(golden=(run,)), cases)
    assert built[0]["example_id"] == "g-n" and built[0]["plan"] == {"op": "x"}


# ---------------------------------------------------------------- the command line


def test_cli_lists_exports_removes_and_retrains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from app.cli import main

    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("SWITCHBOARD_CONFIG_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data))
    monkeypatch.setenv("SWITCHBOARD_DOCKER_URL", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_AUTOSTART", "false")
    with Store(f"sqlite:///{data / 'switchboard.db'}", data_dir=data) as store:
        _task(
            store,
            "good0000000004",
            "solve x^2 = 4",
            "numerical",
            "succeeded",
            answer="-2, 2",
            result={"plan": {"op": "solve", "expression": "x^2 - 4 = 0"}},
        )
        _task(store, "plan0000000002", "area under the bell curve", "numerical", "failed", error_kind="bad_plan")

    def run(*argv: str) -> tuple[int, dict[str, Any]]:
        code = main(["--json", *argv])
        return code, json.loads(capsys.readouterr().out)

    code, doc = run("dataset", "list", "numerical")
    assert code == 0 and doc["count"] == 2
    assert {e["example_id"] for e in doc["examples"]} == {"t-good00000000", "t-plan00000000"}
    out = tmp_path / "export" / "numerical.jsonl"
    code, doc = run("dataset", "export", "numerical", "--out", str(out))
    assert code == 0 and doc["count"] == 2 and len(out.read_text().splitlines()) == 2
    code, doc = run("dataset", "remove", "numerical", "t-plan00000000")
    assert code == 0 and doc["removed"] is True
    code, doc = run("dataset", "list", "numerical")
    assert [e["example_id"] for e in doc["examples"]] == ["t-good00000000"]
    code, doc = run("dataset", "remove", "numerical", "t-unknown")
    assert code == 2 and doc["ok"] is False and "no dataset example" in doc["error"]
    code, doc = run("variants", "numerical", "--retrain")
    assert code == 0 and doc["created"]["id"] == "numerical-v2" and doc["created"]["example_ids"] == ["t-good00000000"]
    assert [(v["id"], v["state"]) for v in doc["variants"]] == [
        ("numerical-v1", "incumbent"),
        ("numerical-v2", "pending"),
    ]
    code, doc = run("variants", "numerical")
    assert code == 0 and doc["variants"][0]["p_better"] is None and doc["variants"][0]["tasks"] == 0
    code, doc = run("variants", "no-such-specialist")
    assert code == 2
