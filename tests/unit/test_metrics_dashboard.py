"""The Grafana dashboard only queries metrics the engine really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.engine.metrics.registry import MetricsRegistry

DASHBOARD = Path(__file__).resolve().parents[2] / "packaging" / "grafana" / "switchboard.json"


def _exposed() -> set[str]:
    names: set[str] = set()
    for instrument in MetricsRegistry().instruments:
        names.add(instrument.name)
        if instrument.kind == "histogram":
            names |= {instrument.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def test_every_query_names_an_exposed_metric_and_every_metric_is_charted() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in doc["templating"]["list"]]
    used = {m for e in exprs for m in re.findall(r"\bswitchboard_[a-z_]+", e)}
    exposed = _exposed()
    assert used <= exposed, f"dashboard queries unknown metrics: {sorted(used - exposed)}"
    charted = {re.sub(r"_(bucket|sum|count)$", "", m) if m.startswith("switchboard_task_duration") else m for m in used}
    families = {i.name for i in MetricsRegistry().instruments}
    assert families <= charted, f"metrics without a panel: {sorted(families - charted)}"


def test_panels_have_unique_ids_and_a_datasource_input() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    assert doc["__inputs"][0]["name"] == "DS_PROMETHEUS"
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
