"""The SQL answer path: queries wrapped into a program that really runs over .db, .sql and CSV files."""

from __future__ import annotations

import csv
import json
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine.llm.sql_program import extract_sql, sql_of, sql_preview, table_name, wrap_sql


def _run(folder: Path, program: str) -> str:
    (folder / "program.py").write_text(program, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    con = sqlite3.connect(tmp_path / "shop.db")
    con.executescript("""
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL);
        INSERT INTO products VALUES (1, 'Trowel', 'garden', 8.5), (2, 'Kettle', 'kitchen', 24.0),
                                    (3, 'Rake', 'garden', 12.0), (4, 'Pan', 'kitchen', 30.5);
    """)
    con.commit()
    con.close()
    (tmp_path / "staff.sql").write_text(
        "CREATE TABLE staff (id INTEGER, name TEXT, wage REAL);\n"
        "INSERT INTO staff VALUES (1, 'Ann', 10.0);\nINSERT INTO staff VALUES (2, 'Bo', 30.0);\n",
        encoding="utf-8",
    )
    with open(tmp_path / "2024 Orders.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["customer", "amount"], ["Ann", "12.5"], ["Bo", "7"], ["Ann", "2.5"], []])
    return tmp_path


def test_a_value_is_printed_alone_and_a_table_is_printed_and_saved(folder: Path) -> None:
    files = ["shop.db", "staff.sql", "2024 Orders.csv"]
    assert table_name("2024 Orders.csv") == "t_2024_orders"
    assert _run(folder, wrap_sql("SELECT COUNT(*) FROM products WHERE category = 'garden'", files)) == "2"
    out = _run(
        folder,
        wrap_sql(
            "SELECT customer, SUM(amount) AS spent FROM t_2024_orders GROUP BY customer ORDER BY customer;", files
        ),
    )
    assert out.splitlines() == ["customer | spent", "Ann | 15", "Bo | 7"]  # numbers are numbers, blank lines dropped
    with open(folder / "result.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [["customer", "spent"], ["Ann", "15.0"], ["Bo", "7"]]
    joined = "SELECT p.name, s.name FROM products p JOIN staff s ON s.id = p.id ORDER BY p.id"
    assert _run(folder, wrap_sql(joined, files)).splitlines()[1:] == ["Trowel | Ann", "Kettle | Bo"]


def test_changes_run_first_and_the_input_file_is_left_alone(folder: Path) -> None:
    sql = (
        "UPDATE products SET price = price * 2 WHERE category = 'garden';\n"
        "SELECT SUM(price) FROM products WHERE category = 'garden';"
    )
    assert float(_run(folder, wrap_sql(sql, ["shop.db"]))) == pytest.approx(41.0)
    con = sqlite3.connect(folder / "shop.db")
    assert con.execute("SELECT SUM(price) FROM products WHERE category = 'garden'").fetchone()[0] == pytest.approx(20.5)
    con.close()
    assert _run(folder, wrap_sql("DELETE FROM products WHERE price > 20", ["shop.db"])) == "2 rows changed"


def test_a_broken_query_fails_with_sqlites_message(folder: Path) -> None:
    (folder / "program.py").write_text(wrap_sql("SELECT nope FROM products", ["shop.db"]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0 and "no such column: nope" in done.stderr


def test_a_wrong_name_is_answered_with_the_schema(folder: Path) -> None:
    query = "SELECT c.category FROM categories c JOIN products p ON p.category = c.id"
    (folder / "program.py").write_text(wrap_sql(query, ["shop.db"]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0 and "no such table: categories" in done.stderr
    assert "the tables are: products(id, name, category, price)" in done.stderr
    assert "categories" not in done.stderr.split("the tables are:")[1].split(";")[0]
    (folder / "program.py").write_text(wrap_sql("SELECT o.category FROM orders o", ["shop.db"]), encoding="utf-8")
    (folder / "program.py").write_text(wrap_sql("SELECT price FROM orders", ["shop.db"]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    assert "no such table: orders" in done.stderr


def test_a_missing_column_names_the_table_that_has_it(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "shop.db")
    con.executescript(
        "CREATE TABLE books (id INTEGER, price REAL); CREATE TABLE sales (book_id INTEGER, qty INTEGER, store TEXT);"
        "INSERT INTO books VALUES (1, 10.0); INSERT INTO sales VALUES (1, 2, 'Paris');"
    )
    con.close()
    (tmp_path / "program.py").write_text(wrap_sql("SELECT SUM(qty * price) FROM sales", ["shop.db"]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert "no such column: price" in done.stderr and "price is a column of books" in done.stderr


def test_replies_and_programs_give_their_sql_back() -> None:
    assert extract_sql("Here you go:\n```sql\nSELECT 1;\n```\n") == "SELECT 1;"
    assert extract_sql("```\nselect name from t\n```") == "select name from t"
    assert extract_sql("WITH x AS (SELECT 1) SELECT * FROM x") == "WITH x AS (SELECT 1) SELECT * FROM x"
    assert extract_sql("```python\nimport sqlite3\n```") is None
    assert extract_sql("I cannot answer that.") is None
    program = wrap_sql('SELECT "a""b" FROM t WHERE x = \'"""\'', ["t.csv"])
    assert sql_of(program) == "SELECT \"a\"\"b\" FROM t WHERE x = '''''"
    assert sql_of("print(1)\n") is None


def test_previews_name_the_tables_the_query_reads() -> None:
    assert sql_preview("Sign-ups.csv", "columns: a").startswith("table sign_ups (loaded from Sign-ups.csv")
    assert sql_preview("x.db", "SQLite database (sqlite3.connect(name)); tables:\nCREATE TABLE t (a)").startswith(
        "SQLite database, already open; its tables:\nCREATE TABLE t"
    )
    dump = sql_preview(
        "d.sql",
        "SQL dump (load with sqlite3.connect(':memory:').executescript(open(name).read()))\nCREATE TABLE t (a);",
    )
    assert dump.splitlines()[0] == "SQL dump, already loaded; its tables:"


def test_a_single_cell_is_a_table_when_items_were_asked_for(folder: Path) -> None:
    program = wrap_sql("SELECT name FROM products WHERE price > 25", ["shop.db"], one_value=False)
    assert _run(folder, program).splitlines() == ["name", "Pan"]
    assert (folder / "result.csv").read_text(encoding="utf-8").split() == ["name", "Pan"]


def test_functions_of_other_dialects_run_in_sqlite(tmp_path: Path) -> None:
    (tmp_path / "loans.sql").write_text(
        "CREATE TABLE loans (who TEXT, taken TEXT, back TEXT, fee REAL);\n"
        "INSERT INTO loans VALUES ('Ann', '2024-01-01', '2024-01-11', 1.0), ('Bo', '2024-02-01', '2024-02-05', 2.0),"
        " ('Cy', '2023-12-30', NULL, 4.0);\n",
        encoding="utf-8",
    )
    sql = (
        "SELECT AVG(DATEDIFF(back, taken)), MEDIAN(fee), STDDEV(fee), SUM(YEAR(taken) = 2024), "
        "GROUP_CONCAT(CONCAT(who, '!')), IF(1 > 2, 'yes', 'no') FROM loans"
    )
    out = _run(tmp_path, wrap_sql(sql, ["loans.sql"]))
    assert out.splitlines()[1].split(" | ") == [
        "7",
        "2",
        f"{statistics.stdev([1.0, 2.0, 4.0]):.12g}",
        "2",
        "Ann!,Bo!,Cy!",
        "no",
    ]


def test_json_records_and_european_or_currency_numbers_load_as_numbers(tmp_path: Path) -> None:
    (tmp_path / "staff.json").write_text(
        json.dumps({"people": [{"name": "Ann", "pay": 10, "tags": ["a"], "lead": True}, {"name": "Bo", "pay": 30}]}),
        encoding="utf-8",
    )
    (tmp_path / "events.jsonl").write_text('{"n": 1}\n\n{"n": 4}\n', encoding="utf-8")
    (tmp_path / "umsatz.csv").write_text(
        "Filiale;Umsatz;Preis;PLZ\nA;14863,45;1.234,50 €;01234\nB;10,55;99 €;80331\n", encoding="utf-8"
    )
    (tmp_path / "us.csv").write_text('item,price,share\nx,"$1,450",12%\ny,$980.50,30%\n', encoding="utf-8")
    files = ["staff.json", "events.jsonl", "umsatz.csv", "us.csv"]
    assert _run(tmp_path, wrap_sql("SELECT SUM(pay) FROM staff", files)) == "40"
    assert _run(tmp_path, wrap_sql("SELECT tags || '/' || lead FROM staff WHERE name = 'Ann'", files)) == '["a"]/1'
    assert _run(tmp_path, wrap_sql("SELECT SUM(n) FROM events", files)) == "5"
    assert float(_run(tmp_path, wrap_sql("SELECT SUM(Umsatz) FROM umsatz", files))) == pytest.approx(14874.0)
    assert float(_run(tmp_path, wrap_sql("SELECT SUM(Preis) FROM umsatz", files))) == pytest.approx(1333.5)
    assert _run(tmp_path, wrap_sql("SELECT PLZ FROM umsatz WHERE Filiale = 'A'", files)) == "01234"  # a code stays text
    assert float(_run(tmp_path, wrap_sql("SELECT SUM(price) FROM us", files))) == pytest.approx(2430.5)
    assert _run(tmp_path, wrap_sql("SELECT SUM(share) FROM us", files)) == "42"


def test_correlation_and_percentiles_are_there_for_analytics(tmp_path: Path) -> None:
    xs, ys = [1, 2, 3, 4, 10], [2, 4, 5, 4, 12]
    (tmp_path / "t.csv").write_text(
        "x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(xs, ys, strict=True)), encoding="utf-8"
    )
    assert float(_run(tmp_path, wrap_sql("SELECT CORR(x, y) FROM t", ["t.csv"]))) == pytest.approx(
        statistics.correlation(xs, ys)
    )
    quartiles = statistics.quantiles(xs, n=4, method="inclusive")
    assert float(_run(tmp_path, wrap_sql("SELECT PERCENTILE(x, 25) FROM t", ["t.csv"]))) == pytest.approx(quartiles[0])
    assert float(_run(tmp_path, wrap_sql("SELECT PERCENTILE(x, 0.75) FROM t", ["t.csv"]))) == pytest.approx(
        quartiles[2]
    )


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("broken.json", '{"a": [1, 2', "is not valid JSON"),
        ("numbers.json", "[1, 2, 3]", "holds no JSON records"),
        ("lines.jsonl", '{"a": 1}\nnot json\n', "is not valid JSON"),
        ("empty.csv", "", "is empty"),
    ],
)
def test_a_broken_table_file_fails_with_a_clear_message_and_is_left_alone(
    tmp_path: Path, name: str, content: str, said: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    (tmp_path / "program.py").write_text(wrap_sql("SELECT 1", [name]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0 and f"{name} {said}" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / name).read_text(encoding="utf-8") == content


def test_a_wrapped_query_passes_the_column_check_of_its_own_tables(folder: Path) -> None:
    # the program embeds helper modules; nothing in them may read as a column the files lack
    from app.engine.tasks.verify import check_result

    program = wrap_sql("SELECT AVG(amount) FROM t_2024_orders", ["2024 Orders.csv"])
    answer = _run(folder, program)
    assert answer == "7.33333333333"
    assert check_result("What is the average amount?", answer, program, ["customer", "amount"]) == ""
    assert "__all__" not in program
