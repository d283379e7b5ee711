"""What the program writer is told and what is read back: answer shapes, input shapes, tables, imports."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.engine.llm.answer_shape import answer_shape
from app.engine.llm.program_fix import complete_imports, free_names
from app.engine.tasks.answer_table import table_from_answer
from app.engine.tasks.html_outline import html_outline
from app.engine.tasks.input_preview import describe_input


@pytest.mark.parametrize(
    ("text", "kind", "limit"),
    [
        ("How many invoices were paid late?", "value", None),
        ("Wie viele Bestellungen gab es im Mai?", "value", None),
        ("What's the median delivery time?", "value", None),
        ("Which warehouse shipped the most parcels?", "one", None),
        ("Which parcels were returned?", "list", None),
        ("Who are the five best-paid people? top 5 please", "list", 5),
        ("Average delay per carrier, please.", "table", None),
        ("Here is our data. Totals for each month: what did we earn?", "table", None),
        ("Turn the table on this page into rows.", "table", None),
        ("Simplify (x^2 - 1)/(x - 1).", "free", None),
        ("What's the cheapest product on the page?", "one", None),  # a thing asked for: the item
        ("What is the highest price on the page?", "value", None),  # a measure asked for: the value
        ("Quelle ville du tableau a la plus petite superficie ?", "one", None),  # "du tableau" is where
        ("¿Qué producto es el más barato?", "one", None),
        ("What is its largest eigenvalue?", "value", None),
    ],
)
def test_answer_shape_from_wording(text: str, kind: str, limit: int | None) -> None:
    shape = answer_shape(text)
    assert (shape.kind, shape.limit) == (kind, limit)
    assert (shape.hint() == "") == (kind == "free")


def test_a_table_asked_for_as_rows_is_not_grouped() -> None:
    assert answer_shape("Average delay per carrier, please.").grouped
    rows = answer_shape("Mets le tableau des produits de cette page sous forme de lignes.")
    assert rows.kind == "table" and not rows.grouped
    assert "GROUP BY the key" not in rows.sql_hint() and "no GROUP BY" in rows.sql_hint()


def test_a_list_hint_without_pandas_says_csv_writer() -> None:
    assert "csv.writer" in answer_shape("Which members joined in 2023?").hint(tabular=False)
    assert "to_csv" in answer_shape("Which members joined in 2023?").hint(tabular=True)


@pytest.mark.parametrize(
    ("answer", "columns", "rows"),
    [
        ("Paris: 786.4699999999999\nBerlin: 677.23", ["item", "value1"], [["Paris", 786.47], ["Berlin", 677.23]]),
        ("Store: Revenue\nParis: 786.47\nLyon: 619.53", ["Store", "Revenue"], [["Paris", 786.47], ["Lyon", 619.53]]),
        ("Trowel\nWatering Can (large)", ["item"], [["Trowel"], ["Watering Can (large)"]]),
        ("Sold out:\n- Kettle\n- Teapot", ["item"], [["Kettle"], ["Teapot"]]),
        ("sold out: Kettle, Teapot", ["item"], [["Kettle"], ["Teapot"]]),
        (
            "GL-1 | Trowel | 12.9\nGL-2 | Can | 3",
            ["item", "value1", "value2"],
            [["GL-1", "Trowel", 12.9], ["GL-2", "Can", 3]],
        ),
        (" region  total\n  East  1811.8\nNorth  3623.2", ["region", "total"], [["East", 1811.8], ["North", 3623.2]]),
        (
            "customer\nNordwind GmbH    16\nIberia Tech       7",
            ["customer", "value1"],
            [["Nordwind GmbH", 16], ["Iberia Tech", 7]],
        ),
        ("Ursula K. Le Guin: 49 copies", ["item", "value1"], [["Ursula K. Le Guin", "49 copies"]]),
    ],
)
def test_tables_are_read_back_from_printed_rows(answer: str, columns: list[str], rows: list[list[object]]) -> None:
    table = table_from_answer(answer)
    assert table is not None and table["columns"] == columns and table["rows"] == rows


def test_no_table_from_nothing() -> None:
    assert table_from_answer("") is None
    assert table_from_answer("a  b\nc\nd  e  f") is None  # ragged: not a table


PAGE = (
    """<!doctype html><html lang="de"><head><title>Shop &amp; Co</title><style>.x{}</style></head><body>
<nav class="main"><a href="/a">A</a><a href="/b">B</a></nav>
<ul class="grid">"""
    + "".join(
        f'<li class="card" data-sku="S-{i}"><h3 class="name">Item {i}</h3>'
        f'<span class="price">{i},50 € <s>9 €</s></span></li>'
        for i in range(6)
    )
    + "</ul><script>var junk = 1;</script></body></html>"
)


def test_html_outline_shows_title_structure_attributes_and_collapses_runs() -> None:
    outline = html_outline(PAGE)
    assert outline.splitlines()[0] == "<title>: Shop & Co" and '<html lang="de">' in outline
    assert 'li.card [data-sku="S-0"]' in outline and 'h3.name "Item 1"' in outline
    assert 'span.price "0,50 €"' in outline and 's "9 €"' in outline  # the struck-through price is visible
    assert "… 4 more li.card like the ones above" in outline
    assert "Item 5" not in outline and "junk" not in outline


def test_describe_input_states_exact_shapes(tmp_path: Path) -> None:
    csv_file = tmp_path / "umsatz.csv"
    csv_file.write_text(
        "Filiale;Monat;Umsatz;Preis\nHamburg;2024-04;14863,45;3 €\nKöln;2024-05;10242,76;4 €\n", encoding="utf-8"
    )
    text = describe_input(csv_file, csv_file.name)
    assert "semicolon-separated table (sep=';'), 4 columns" in text
    assert "Monat (text)" in text and "Umsatz (text number" in text and "Preis (text with a number" in text
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table items (id integer primary key, name text)")
        conn.executemany("insert into items (name) values (?)", [("a",), ("b",), ("c",)])
    text = describe_input(db, db.name)
    assert "CREATE TABLE items (id integer primary key, name text)" in text and "-- 3 rows, e.g. (1, 'a')" in text
    dump = tmp_path / "d.sql"
    dump.write_text(
        "CREATE TABLE t (\n  id INTEGER,\n  x TEXT\n);\nINSERT INTO t VALUES(1,'a');\nINSERT INTO t VALUES(2,'b');\n"
    )
    text = describe_input(dump, dump.name)
    assert "CREATE TABLE t ( id INTEGER, x TEXT );" in text and "2 insert lines into t" in text
    page = tmp_path / "p.html"
    page.write_text(PAGE, encoding="utf-8")
    assert describe_input(page, page.name).startswith("saved HTML page\n<title>: Shop & Co")
    records = tmp_path / "e.json"
    records.write_text('[{"name": "A", "salary": 1}, {"name": "B", "salary": 2}]')
    assert "JSON list of 2 records with keys ['name', 'salary']" in describe_input(records, records.name)


def test_free_names_and_completed_imports() -> None:
    code = "def f(n):\n    return n\nfor i in range(3):\n    print(f(i), pd, KMeans, undefined_thing)\n"
    assert free_names(code) == ["pd", "KMeans", "undefined_thing"]
    fixed = complete_imports(code, ["pandas", "scikit-learn"])
    assert fixed.startswith("import pandas as pd\nfrom sklearn.cluster import KMeans\n")
    assert complete_imports(code, ["numpy"]) == code  # nothing known to provide them
    assert complete_imports("print(Counter('aab'))", []).startswith("from collections import Counter\n")
    assert complete_imports("def broken(:\n", ["pandas"]) == "def broken(:\n"
    future = complete_imports("from __future__ import annotations\nprint(math.pi)\n", [])
    assert future.splitlines()[:2] == ["from __future__ import annotations", "import math"]


def test_calls_through_the_wrong_module_are_pointed_at_the_one_that_has_the_function() -> None:
    from app.engine.llm.program_fix import rehome_calls

    code = (
        "import sympy as sp\n\ndef f(t, T):\n    return -0.08 * (T - 20)\n\n"
        "sol = sp.solve_ivp(f, (0, 15), [90.0], rtol=1e-10, atol=1e-12)\nprint(sol.y[0, -1])\n"
    )
    fixed = rehome_calls(code, ["sympy", "numpy", "scipy"])
    assert fixed.startswith("from scipy.integrate import solve_ivp\n") and "sp.solve_ivp" not in fixed
    namespace: dict[str, object] = {}
    exec(compile(fixed.replace("print(", "result = ("), "p", "exec"), namespace)  # noqa: S102 - our own string
    assert float(namespace["result"]) == pytest.approx(20 + 70 * 2.718281828459045 ** (-1.2), rel=1e-6)
    assert rehome_calls(code, ["sympy"]) == code, "no scipy: left as written (the sandbox says why)"
    assert (
        rehome_calls("x = np.linalg.solve(a, b)\ny = sp.solve(eq)\n", ["scipy"])
        == "x = np.linalg.solve(a, b)\ny = sp.solve(eq)\n"
    )
    assert rehome_calls("df = sp.DataFrame({'r': roots})\n", ["sympy", "pandas"]) == (
        "from pandas import DataFrame\ndf = DataFrame({'r': roots})\n"
    )


def test_a_tables_preview_lists_the_values_of_its_category_columns(tmp_path: Path) -> None:
    from app.engine.tasks.input_preview import describe_input

    lines = ["id,city,status,amount"] + [
        f"{i},{['Paris', 'Lyon', 'Nice'][i % 3]},{'paid' if i % 4 else 'open'},{i * 3}" for i in range(1, 41)
    ]
    data = tmp_path / "orders.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    preview = describe_input(data, "orders.csv")
    assert "values of city: 'Lyon' (14), 'Nice' (13), 'Paris' (13)" in preview  # a filter spells them as the file
    assert "values of status: 'paid' (30), 'open' (10)" in preview
    assert "values of id" not in preview and "values of amount" not in preview


def test_a_sqlite_preview_lists_the_values_of_category_columns(tmp_path: Path) -> None:
    import sqlite3

    from app.engine.tasks.input_preview import describe_input

    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        con.execute("create table sales (id integer primary key, store text, qty integer, note text)")
        con.executemany(
            "insert into sales (store, qty, note) values (?, ?, ?)",
            [(["Paris", "Lyon"][i % 2], i, f"note number {i} with words") for i in range(10)],
        )
    con.close()
    preview = describe_input(db, "shop.db")
    assert (
        "-- values of sales.store: 'Lyon' (5), 'Paris' (5)" in preview
        or "-- values of sales.store: 'Paris' (5), 'Lyon' (5)" in preview
    )
    assert "values of sales.note" not in preview and "values of sales.qty" not in preview
