"""Manifest validation: bad manifests name file, field and problem; others still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.config import repo_root
from app.engine.core.errors import ManifestError
from app.engine.core.specs import load_catalogue, load_spec

GOOD = """
id = "{id}"
title = "Thing"
description = "Does a thing for tests."
capabilities = ["things"]
example_tasks = ["do the thing"]
accepted_inputs = [".csv"]
"""


def _write(root: Path, sid: str, body: str) -> Path:
    folder = root / sid
    folder.mkdir(parents=True)
    (folder / "specialist.toml").write_text(body, encoding="utf-8")
    return folder / "specialist.toml"


def test_good_manifest_loads_with_defaults(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "alpha", GOOD.format(id="alpha")))
    assert spec.id == "alpha"
    assert spec.limits.memory_mb == 512
    assert spec.accepts("data.CSV") and not spec.accepts("data.xlsx") and not spec.accepts("noext")


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ('id = "alpha"\ntitle = [', "(syntax)", "not valid TOML"),
        (
            GOOD.format(id="alpha").replace('capabilities = ["things"]', "capabilities = []"),
            "capabilities",
            "at least 1",
        ),
        (GOOD.format(id="alpha") + "\n[limits]\nmemory_mb = 1\n", "limits.memory_mb", "greater than or equal"),
        (GOOD.format(id="alpha").replace('[".csv"]', '["CSV"]'), "accepted_inputs", "lower-case extension"),
        (GOOD.format(id="beta"), "id", "folder name"),
        (GOOD.format(id="alpha") + "\nsurprise = 1\n", "surprise", "Extra inputs"),
        (GOOD.format(id="alpha") + "\n[scaling]\nmin_replicas = 5\nmax_replicas = 2\n", "scaling", "min_replicas"),
    ],
)
def test_bad_manifest_names_file_field_and_problem(tmp_path: Path, body: str, field: str, problem: str) -> None:
    path = _write(tmp_path, "alpha", body)
    with pytest.raises(ManifestError) as info:
        load_spec(path)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert problem in info.value.problem


def test_missing_planner_schema_is_reported(tmp_path: Path) -> None:
    body = GOOD.format(id="alpha") + '\n[planner]\nsystem_prompt = "You plan things for tests."\n'
    with pytest.raises(ManifestError, match="plan_schema.json does not exist"):
        load_spec(_write(tmp_path, "alpha", body))


def test_one_bad_manifest_does_not_stop_the_others(tmp_path: Path) -> None:
    _write(tmp_path, "alpha", GOOD.format(id="alpha"))
    _write(tmp_path, "broken", "id = ")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "Dockerfile").write_text("FROM scratch\n")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.ids() == ["alpha"]
    assert sorted(Path(e.path).parent.name for e in catalogue.errors) == ["broken", "empty"]
    assert any("specialist.toml is missing" in str(e) for e in catalogue.errors)


def test_shipped_catalogue_loads_cleanly() -> None:
    catalogue = load_catalogue(repo_root() / "specialists")
    assert catalogue.errors == []
    assert "numerical" in catalogue.specs
    for spec in catalogue.specs.values():
        assert len(spec.example_tasks) >= 8, spec.id
        assert spec.plan_schema() is not None, spec.id
