"""Retraining the fast router from stored feedback: held-back slice, before/after figures, refusal, schedule.

Real parts throughout: the fast router fits for real (on a small catalogue, so each fit takes
a fraction of a second), the feedback lives in a real SQLite store, decisions travel on a real
bus and are stored like the orchestrator stores them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.chores import RouterRetrainer
from app.engine.core.config import Settings
from app.engine.core.events import Decision, EventBus
from app.engine.core.specs import Catalogue, SpecialistSpec
from app.engine.routing.retrain import HOLDOUT_SHARE, held_back, split_held_back
from app.engine.routing.service import ACCURACY_METRIC, KEPT_METRIC, RoutingService
from app.engine.store import Store

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0

SPECS = [
    SpecialistSpec(
        id="maths",
        title="Maths",
        description="Equations, integrals, derivatives and algebra.",
        capabilities=("integrals", "equations", "derivatives"),
        example_tasks=("integrate x^2 from 0 to 3", "solve x + 1 = 2", "derivative of sin x"),
    ),
    SpecialistSpec(
        id="sql",
        title="SQL",
        description="Runs SQL queries against the tables of a database.",
        capabilities=("sql queries", "tables", "joins"),
        example_tasks=("select * from users", "count rows per table", "join orders with customers"),
    ),
    SpecialistSpec(
        id="web",
        title="Web",
        description="Fetches web pages and extracts links, titles and text.",
        capabilities=("web pages", "links", "scraping"),
        example_tasks=("get the title of http://example.com", "list the links on this page"),
    ),
]
BRANCHES = ("lyon", "porto", "turin", "ghent", "basel", "malmo", "cork", "graz", "split", "bergen", "tartu", "brno")
MONTHS = ("january", "march", "june", "october")
# A kind of task the catalogue knows nothing about; the user's feedback says it belongs to sql.
LEDGER = [f"reconcile the ledger of the {b} branch for {m}" for b in BRANCHES for m in MONTHS]


@pytest.fixture(scope="module", autouse=True)
def _router_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fits are cached in a folder of this module (never the user's cache); identical fits are reused."""
    old = os.environ.get("SWITCHBOARD_ROUTER_CACHE")
    os.environ["SWITCHBOARD_ROUTER_CACHE"] = str(tmp_path_factory.mktemp("router-cache"))
    yield
    if old is None:
        os.environ.pop("SWITCHBOARD_ROUTER_CACHE", None)
    else:
        os.environ["SWITCHBOARD_ROUTER_CACHE"] = old


class Recorder:
    """Keeps every decision published, and stores it as the orchestrator does."""

    def __init__(self, bus: EventBus, store: Store) -> None:
        self.decisions: list[Decision] = []
        self.store = store
        bus.subscribe(Decision, self._keep)

    def _keep(self, d: Decision) -> None:
        self.decisions.append(d)
        self.store.add_decision(d.kind, d.subject, d.reason, d.data, d.ts).result(5)

    def retrains(self) -> list[Decision]:
        return [d for d in self.decisions if d.kind == "router_retrained"]


def _service(tmp_path: Path, store: Store) -> tuple[RoutingService, Recorder]:
    bus = EventBus()
    service = RoutingService(
        Settings(data_dir=tmp_path, routing_backend="ollama"), Catalogue(specs={s.id: s for s in SPECS}), bus
    )
    recorder = Recorder(bus, store)
    service.attach_store(store)
    return service, recorder


def _feedback(store: Store, items: list[tuple[str, str, str]], start: float = T0) -> None:
    """Store tasks and verdicts ``(text, kind, specialist)``, one second apart from ``start``."""
    for i, (text, kind, specialist) in enumerate(items):
        task_id = f"t{int(start) % 100000:05d}{i:07d}"
        store.insert_task(
            {"id": task_id, "text": text, "specialist": specialist, "state": "succeeded", "created_at": start + i}
        ).result(5)
        store.add_feedback(task_id, kind, specialist, ts=start + i).result(5)


def _fitted(service: RoutingService) -> set[str]:
    return {text for text, _, _ in service.router.fast.extra}


# ---------------------------------------------------------------------- the held-back slice


def test_the_held_back_slice_is_about_a_fifth_stable_and_blind_to_case_accents_and_spacing() -> None:
    texts = [f"compute the total of column {i} in sheet {i % 7}" for i in range(3000)]
    share = sum(held_back(t) for t in texts) / len(texts)
    assert abs(share - HOLDOUT_SHARE) < 0.03
    assert all(held_back(t.upper().replace(" ", "   ")) == held_back(t) for t in texts[:200])
    assert held_back("Régression linéaire  sur Prix") == held_back("regression lineaire sur prix")
    assert sum(held_back(t, 0.5) for t in texts) > sum(held_back(t) for t in texts)
    items = [(t, [], "maths") for t in texts[:50]]
    fit, held = split_held_back(items)
    assert [t for t, _, _ in fit] == [t for t in texts[:50] if not held_back(t)]
    assert [t for t, _, _ in held] == [t for t in texts[:50] if held_back(t)]
    # another process with another hash seed puts the same texts on the same side
    code = (
        "from app.engine.routing.retrain import held_back; "
        f"print(''.join('1' if held_back(t) else '0' for t in {texts[:64]!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert out == "".join("1" if held_back(t) else "0" for t in texts[:64])


def test_a_retrain_fits_everything_but_the_held_back_slice_and_stores_its_figures(tmp_path: Path, store: Store) -> None:
    held = [t for t in LEDGER if held_back(t)]
    assert 4 <= len(held) <= 20, "the fixture's texts must give a held-back slice"
    service, recorder = _service(tmp_path, store)
    before = service.router.fast.predict(held[0]).best
    assert before != "sql", "the catalogue alone does not know ledgers belong to sql"
    _feedback(store, [(t, "correct", "sql") for t in LEDGER])  # confirmations are learned by retraining only
    assert service.new_feedback() == len(LEDGER)

    view = service.retrain()

    assert view.kept and view.trigger == "demand" and view.new_feedback == len(LEDGER)
    assert _fitted(service) == set(LEDGER) - set(held), "every fit text, no held-back text"
    assert view.examples == len(LEDGER) - len(held) and view.held_back == len(held)
    assert view.held_before is not None and view.held_after is not None
    assert view.held_before < 0.5 and view.held_after == 1.0, "the refit generalised to texts it never saw"
    assert view.catalogue > 0 and view.catalogue_after >= view.catalogue_before - 0.005
    assert service.router.fast.predict(held[0]).best == "sql"
    [decision] = recorder.retrains()
    assert decision.reason.startswith(f"router retrained on {view.examples} examples: held-back accuracy ")
    assert f"-> 100% ({len(held)} tasks)" in decision.reason
    assert decision.data["kept"] is True and decision.data["held_after"] == 1.0
    assert decision.data["feedback_until_ts"] == T0 + len(LEDGER) - 1
    points = store.series(ACCURACY_METRIC, 0.0).result(5)
    assert {p[2]: p[1] for p in points} == pytest.approx(
        {
            "held_back_before": view.held_before,
            "held_back_after": 1.0,
            "catalogue_before": view.catalogue_before,
            "catalogue_after": view.catalogue_after,
        }
    )
    assert len({p[0] for p in points}) == 1, "one retrain, one time"
    assert [p[1] for p in store.series(KEPT_METRIC, 0.0).result(5)] == [1.0]
    assert service.new_feedback() == 0
    assert [(v.kept, v.held_after, v.examples) for v in service.history()] == [(True, 1.0, view.examples)]


def test_a_held_back_correction_teaches_nothing_live_nor_after_a_restart(tmp_path: Path, store: Store) -> None:
    held = next(t for t in LEDGER if held_back(t))
    fit = next(t for t in LEDGER if not held_back(t))
    service, _ = _service(tmp_path, store)
    service.learn_feedback(held, "wrong_specialist", "maths", "sql")
    assert _fitted(service) == set()
    service.learn_feedback(fit, "wrong_specialist", "maths", "sql")
    assert _fitted(service) == {fit}
    _feedback(store, [(held, "wrong_specialist", "sql"), (fit, "wrong_specialist", "sql")])
    restarted, _ = _service(tmp_path, store)
    assert _fitted(restarted) == {fit}, "the start learns the stored corrections except the held-back one"


def test_a_refit_that_is_worse_on_the_held_back_slice_is_thrown_away_and_stays_so(tmp_path: Path, store: Store) -> None:
    service, recorder = _service(tmp_path, store)
    _feedback(store, [(t, "correct", "sql") for t in LEDGER])
    assert service.retrain().kept
    good = service.router.fast
    # another process (a CLI `feedback`) stored a batch of wrong labels on the fit texts
    poison = [(t, "wrong_specialist", "web") for t in LEDGER if not held_back(t)]
    _feedback(store, poison, start=T0 + 1000)

    view = service.retrain(trigger="schedule")

    assert not view.kept and view.trigger == "schedule"
    assert view.held_before == 1.0 and view.held_after is not None and view.held_after < 1.0
    assert service.router.fast is good, "the previous model still routes"
    assert all(service.router.fast.predict(t).best == "sql" for t in LEDGER)
    rejected = recorder.retrains()[-1]
    assert rejected.reason.startswith(
        "router refit rejected, previous model kept: held-back accuracy would fall 100% -> "
    )
    assert rejected.data["kept"] is False
    assert [p[1] for p in store.series(KEPT_METRIC, 0.0).result(5)] == [1.0, 0.0]
    assert [v.kept for v in service.history()] == [True, False]
    restarted, _ = _service(tmp_path, store)
    assert _fitted(restarted) == _fitted(service), "after a restart the refused labels are still not learned"
    assert restarted.new_feedback() == 0


# ---------------------------------------------------------------------- the schedule


def test_the_schedule_retrains_after_enough_new_feedback_and_stops_cleanly(tmp_path: Path, store: Store) -> None:
    service, recorder = _service(tmp_path, store)
    chore = RouterRetrainer(service, interval_s=0.05, min_feedback=10)
    _feedback(store, [(t, "correct", "sql") for t in LEDGER[:6]])
    assert chore.check() is None and recorder.retrains() == [], "6 new verdicts < 10"
    _feedback(store, [(t, "correct", "sql") for t in LEDGER[6:12]], start=T0 + 100)
    done = threading.Event()
    service.bus.subscribe(Decision, lambda d: done.set() if d.kind == "router_retrained" else None)
    chore.start()
    try:
        assert done.wait(30), "the loop retrained once 12 >= 10 verdicts were new"
        [decision] = recorder.retrains()
        assert decision.data["trigger"] == "schedule" and decision.data["new_feedback"] == 12
        checks = chore.checks
        deadline = time.monotonic() + 5
        while chore.checks < checks + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert chore.checks >= checks + 5 and len(recorder.retrains()) == 1, "no new feedback, no refit"
    finally:
        started = time.monotonic()
        chore.stop()
    assert not chore.running and time.monotonic() - started < 2
    assert not [t for t in threading.enumerate() if t.name == "switchboard-router-retrain"]


def test_the_interval_setting_is_off_or_at_least_ten_seconds() -> None:
    assert Settings(router_retrain_interval_s=0).router_retrain_interval_s == 0
    assert Settings().router_retrain_interval_s == 600 and Settings().router_retrain_min_feedback == 20
    with pytest.raises(ValueError, match="at least 10 seconds"):
        Settings(router_retrain_interval_s=2)
    with pytest.raises(ValueError):
        RouterRetrainer(None, interval_s=0, min_feedback=1)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the command, on the real catalogue


def test_the_cli_retrains_the_shipped_router_on_a_real_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from app.cli import main
    from app.engine.routing.evaluate import load_cases

    for key in list(os.environ):
        if key.startswith("SWITCHBOARD_") and key != "SWITCHBOARD_ROUTER_CACHE":
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("SWITCHBOARD_CONFIG_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(data))
    monkeypatch.setenv("SWITCHBOARD_DOCKER_URL", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("SWITCHBOARD_OLLAMA_AUTOSTART", "false")
    # users' verdicts on tasks worded unlike the manifests (the fresh routing set), all confirmations
    cases = [c for c in load_cases(ROOT / "tests/data/routing_fresh.jsonl") if c.get("expected")]
    with Store(f"sqlite:///{data / 'switchboard.db'}", data_dir=data) as store:
        _feedback(store, [(c["text"], "correct", c["expected"]) for c in cases])

    def run(*argv: str) -> tuple[int, dict]:
        code = main(["--json", *argv])
        return code, json.loads(capsys.readouterr().out)

    code, doc = run("router", "history")
    assert code == 0 and doc["retrains"] == [] and doc["new_feedback"] == len(cases)
    code, doc = run("router", "retrain")
    assert code == 0 and doc["ok"] is True
    retrain = doc["retrain"]
    held = sum(held_back(c["text"]) for c in cases)
    assert retrain["held_back"] == held > 0 and retrain["examples"] == len(cases) - held
    assert retrain["kept"] is True and retrain["held_after"] >= retrain["held_before"]
    assert retrain["catalogue"] > 300 and retrain["catalogue_after"] >= retrain["catalogue_before"] - 0.005
    assert retrain["reason"].startswith(f"router retrained on {len(cases) - held} examples: held-back accuracy")
    code, doc = run("router", "history")
    assert code == 0 and doc["new_feedback"] == 0
    assert [(r["kept"], r["held_back"], r["trigger"]) for r in doc["retrains"]] == [(True, held, "demand")]
    with Store(f"sqlite:///{data / 'switchboard.db'}", data_dir=data) as store:
        subjects = {p[2] for p in store.series(ACCURACY_METRIC, 0.0).result(5)}
    assert subjects == {"held_back_before", "held_back_after", "catalogue_before", "catalogue_after"}
    assert main(["router", "history"]) == 0
    text = capsys.readouterr().out
    assert "held-back accuracy" in text and "0 new verdicts since the last retrain" in text
