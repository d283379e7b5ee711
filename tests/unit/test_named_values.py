"""A value of the data that the task names must be used by the program."""

from __future__ import annotations

from pathlib import Path

from app.engine.tasks.input_preview import describe_input
from app.engine.tasks.named_values import category_values, unused_named_values
from app.engine.tasks.verify import check_result


def test_values_are_read_from_the_previews_lines(tmp_path: Path) -> None:
    lines = ["plate,kind,km"] + [f"P{i},{['van', 'car', 'truck'][i % 3]},{i * 10}" for i in range(12)]
    (tmp_path / "trips.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    previews = [("trips.csv", describe_input(tmp_path / "trips.csv", "trips.csv"))]
    sqlite_style = [("fleet.db", "-- values of vehicles.kind: 'van' (2), 'car' (2), 'truck' (1)")]
    assert set(category_values(previews)) == {"van", "car", "truck"}
    assert category_values(sqlite_style) == ["van", "car", "truck"]


def test_a_named_value_the_program_ignores() -> None:
    values = ["van", "car", "truck", "yes", "no"]
    task = "What is the total distance driven by our vans, in km?"
    assert unused_named_values(task, "SELECT SUM(km) FROM trips", values) == ["van"]
    assert unused_named_values(task, "SELECT SUM(km) FROM trips t JOIN vehicles v WHERE kind = 'van'", values) == []
    assert unused_named_values("how many churned? yes or no", "SELECT COUNT(*) FROM t", values) == []
    assert unused_named_values("total km", "SELECT SUM(km) FROM trips", values) == []
    problem = check_result(task, "7398.5", "SELECT SUM(km) FROM trips", [], [], values)
    assert problem.startswith("answer shape: ") and "'van'" in problem


def test_the_writer_is_not_shown_the_value_lists(tmp_path: Path) -> None:
    from app.engine.core.specs import load_catalogue
    from app.engine.llm.coder import ProgramWriter
    from app.engine.llm.examples import ExampleBank

    lines = ["customer,region,qty"] + [f"C{i % 3},{['North', 'South'][i % 2]},{i}" for i in range(20)]
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    preview = describe_input(tmp_path / "orders.csv", "orders.csv")
    assert "values of region" in preview  # the checks read it
    root = Path(__file__).resolve().parents[2]
    spec = load_catalogue(root / "specialists").specs["data-analytics"]
    writer = ProgramWriter(None, "m", ExampleBank(tmp_path / "bank", root / "specialists"))  # type: ignore[arg-type]
    shown = writer.messages(spec, "total qty per region", [("orders.csv", preview)], 1, "")[-1]["content"]
    assert "values of" not in shown and "customer" in shown
