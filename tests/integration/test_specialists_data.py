"""Data-analytics and machine-learning specialists, built and run as real hardened containers.

Images come from the engine's :class:`~app.engine.runtime.images.ImageBuilder` (tagged by
content hash, so re-runs reuse them) and containers from its lifecycle and Docker runtime,
with the hardening of docs/ARCHITECTURE.md (checked on each container); tasks go over the
engine's socket channel (``tests/integration/specialist_fixtures.py``). Every explicit golden
case must pass; broken inputs must fail with ``bad_input`` and a specific message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.evaluation.golden_checks import GoldenCase, check
from tests.integration.specialist_fixtures import SPECIALISTS, Box, Fleet, golden_cases, run_golden

pytestmark = pytest.mark.docker


# -- data-analytics -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analytics(fleet: Fleet) -> Iterator[Box]:
    """A running data-analytics container for this module."""
    box = fleet.start("data-analytics")
    try:
        yield box
    finally:
        box.close()


def test_analytics_idle_ping(analytics: Box) -> None:
    """The idle server answers ping with its identity and a small resident set."""
    pong = analytics.ping_response
    assert pong["ok"] and pong["kind"] == "pong" and pong["specialist"] == "data-analytics"
    assert 0 < pong["rss_kb"] < 60_000, "pandas must be imported lazily"


@pytest.mark.parametrize("case", golden_cases("data-analytics"), ids=lambda c: c.id)
def test_analytics_golden(analytics: Box, case: GoldenCase) -> None:
    """Every golden case passes (planned cases run with their reference plan)."""
    response = run_golden(analytics, case)
    outcome = check(case, response)
    assert outcome.passed, f"{case.id}: {outcome.detail}"
    if response.get("ok"):
        assert response["path"] == case.path


def test_analytics_chart_is_png(analytics: Box) -> None:
    """``plot`` writes a real PNG under the task's output folder, lists it, and it is copied out."""
    response = analytics.task("plot amount by month as bar", [SPECIALISTS / "data-analytics" / "golden" / "sales.csv"])
    assert response["ok"], response
    (artifact,) = [a for a in response["artifacts"] if a["name"] == "chart.png"]
    assert artifact["mime"] == "image/png"
    assert artifact["path"] == f"/output/{response['id']}/chart.png"
    stored = analytics.outputs[response["id"]]["chart.png"]
    assert Path(stored.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "groupby('month')" in response["operation"]["text"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5,6,7\n", r"ragged\.csv row 3 has 4 fields .* header has 3"),
        ("bad.csv", b"a,b\n1,2\n\x00\x00\x01,\xff\n", r"bad\.csv: line 3 contains a NUL byte"),
        ("book.xlsx", None, r"book\.xlsx is not a readable Excel workbook"),
        ("evil.zip", None, r"evil\.zip.*'\.\./escape\.csv'.*escape"),
        ("rows.jsonl", b'{"a": 1}\n{"a": 2,}\n', r"rows\.jsonl line 2, column \d+"),
    ],
)
def test_analytics_broken_inputs(
    analytics: Box, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    """Broken files fail with ``bad_input`` and a message naming the file and the place."""
    golden = SPECIALISTS / "data-analytics" / "golden"
    path = tmp_path / name
    if content is None:
        source = {"book.xlsx": "truncated.xlsx", "evil.zip": "evil.zip"}[name]
        content = (golden / source).read_bytes()
    path.write_bytes(content)
    response = analytics.task("describe", [path])
    assert not response["ok"]
    assert response["error"]["kind"] == "bad_input", response["error"]
    assert re.search(message, response["error"]["message"]), response["error"]["message"]


def test_analytics_natural_language_needs_plan(analytics: Box) -> None:
    """Free text asks for a plan; a plan naming a missing column is a ``bad_plan``."""
    sales = SPECIALISTS / "data-analytics" / "golden" / "sales.csv"
    response = analytics.task("what is the best region, roughly?", [sales])
    assert response["error"]["kind"] == "needs_plan"
    response = analytics.task("x", [sales], plan={"steps": [{"op": "aggregate", "agg": "sum", "column": "revenue"}]})
    assert response["error"]["kind"] == "bad_plan"
    assert "revenue" in response["error"]["message"] and "amount" in response["error"]["message"]


# -- machine-learning -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def learner(fleet: Fleet) -> Iterator[Box]:
    """A running machine-learning container with its own empty ``/data`` volume."""
    box = fleet.start("machine-learning")
    try:
        yield box
    finally:
        box.close()


def test_learner_golden_in_order(learner: Box) -> None:
    """The golden suite runs in file order (later cases use models saved by earlier ones)."""
    failures = []
    for case in golden_cases("machine-learning"):
        outcome = check(case, run_golden(learner, case))
        if not outcome.passed:
            failures.append(f"{case.id}: {outcome.detail}")
    assert not failures, failures
    assert 0 < learner.ping_response["rss_kb"] < 60_000, "scikit-learn must load lazily"


def test_learner_is_deterministic_and_persists(learner: Box) -> None:
    """Training twice gives identical metrics; the saved model survives in the volume."""
    iris = SPECIALISTS / "machine-learning" / "golden" / "iris.csv"
    text = "train gradient boosting on iris.csv target species save as det_gb"
    first, second = learner.task(text, [iris]), learner.task(text, [iris])
    assert first["ok"] and second["ok"], (first, second)
    assert first["data"]["metrics"] == second["data"]["metrics"]
    assert first["data"]["cv"] == second["data"]["cv"]
    assert "Replaced as model det_gb" in second["answer"]
    listed = learner.task("list models")
    assert "det_gb" in listed["data"]["items"]
    gone = learner.task("delete model det_gb")
    assert gone["ok"] and "det_gb" not in learner.task("list models")["data"]["items"]


def test_learner_names_the_features_that_matter(learner: Box, tmp_path: Path) -> None:
    """The answer says which features drive the model (a tree's importances, a linear model's
    coefficients on standardised inputs), with a categorical feature counted once by its name."""
    import random

    rng = random.Random(3)
    lines = ["noise,colour,signal,label"]
    for _ in range(120):
        signal = rng.uniform(0, 10)
        lines.append(f"{rng.uniform(0, 10):.3f},{rng.choice(['red', 'blue'])},{signal:.3f},{int(signal > 5)}")
    data = tmp_path / "signal.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for algorithm in ("decision tree", "logistic regression"):
        done = learner.task(f"train classifier {algorithm} on signal.csv target label", [data])
        assert done["ok"], done
        assert "Most important features: signal (" in done["answer"], done["answer"]
        table = next(t for t in done["tables"] if t["name"] == "feature_importance")
        features = [row[0] for row in table["rows"]]
        assert features[0] == "signal" and features.count("colour") == 1, features


def test_learner_needs_plan_and_bad_plan(learner: Box) -> None:
    """Free text asks for a plan; a plan without a target is refused as ``bad_plan``."""
    iris = SPECIALISTS / "machine-learning" / "golden" / "iris.csv"
    assert learner.task("can you figure out the flower types?", [iris])["error"]["kind"] == "needs_plan"
    response = learner.task("x", [iris], plan={"action": "train"})
    assert response["error"]["kind"] == "bad_plan" and "target" in response["error"]["message"]
