"""Saved HTML pages as SQL tables: what the model is shown is what the sandboxed program queries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine.llm.html_tables import page_tables
from app.engine.llm.page_preview import PAGE_TABLES, page_preview, split_page_preview
from app.engine.llm.sql_program import NO_ROWS, NOTE, sql_loads, sql_preview, wrap_sql
from app.engine.tasks.input_preview import describe_input
from app.engine.tasks.verify import check_result

SHOP = """<!doctype html><html lang="de"><head><title>Gartenladen – Angebote</title>
<meta name="description" content="Werkzeug und Küche"><style>.x{}</style></head><body>
<nav class="top"><a href="/">Start</a><a href="/sale">Sale</a></nav>
<main><h1>Angebote der Woche</h1>
<div class="grid">
  <div class="card" data-sku="A-1"><h2 class="name"><a href="/p/a1">Kupferkanne</a></h2>
    <span class="price"><del>39,00 €</del> 29,90 €</span><span class="stock out">Ausverkauft</span></div>
  <div class="card" data-sku="A-2"><h2 class="name"><a href="/p/a2">Holzlöffel</a></h2>
    <span class="price">4,50 €</span><span class="stock in">Auf Lager</span></div>
  <div class="card" data-sku="A-3"><h2 class="name"><a href="/p/a3">Gusspfanne</a></h2>
    <span class="price">1.249,00 €</span><span class="stock in">Auf Lager</span></div>
</div>
<table id="shipping"><caption>Versandkosten</caption>
  <tr><th>Land</th><th>Kosten</th><th>Info</th></tr>
  <tr><td>Deutschland</td><td>4,90 €</td><td><a href="/de">mehr</a></td></tr>
  <tr><td>Österreich</td><td>7,50 €</td><td></td></tr>
</table>
<p>Alle Preise inkl. MwSt.</p></main>
<footer><a href="/impressum">Impressum</a></footer>
<script>var fake = "<div class='card'>not a product</div>";</script>
</body></html>"""


def _tables(html: str, prefix: str = "shop_") -> dict[str, tuple[list[str], list[list[str | None]]]]:
    return {t.name: (t.columns, t.rows) for t in page_tables(html, prefix=prefix)}


def test_a_page_becomes_page_items_table_links_and_texts() -> None:
    tables = _tables(SHOP)
    assert list(tables)[0] == "shop_page" and list(tables)[-2:] == ["shop_links", "shop_texts"]
    cols, rows = tables["shop_page"]
    assert dict(zip(cols, rows[0], strict=True)) == {
        "title": "Gartenladen – Angebote",
        "description": "Werkzeug und Küche",
        "h1": "Angebote der Woche",
        "language": "de",
    }

    cols, rows = tables["shop_card"]
    items = [dict(zip(cols, r, strict=True)) for r in rows]
    assert [i["sku"] for i in items] == ["A-1", "A-2", "A-3"]
    assert [i["name"] for i in items] == ["Kupferkanne", "Holzlöffel", "Gusspfanne"]
    assert items[0]["price"] == "29,90 €" and items[0]["old_price"] == "39,00 €"  # crossed-out kept apart
    assert items[1].get("old_price") is None
    assert [i["href"] for i in items] == ["/p/a1", "/p/a2", "/p/a3"]
    assert [i["stock_class"] for i in items] == ["out", "in", "in"]  # the class that differs is kept

    cols, rows = tables["shop_versandkosten"]  # named after the caption
    assert cols == ["land", "kosten", "info", "info_href"]
    assert rows == [["Deutschland", "4,90 €", "mehr", "/de"], ["Österreich", "7,50 €", "", None]]

    cols, rows = tables["shop_links"]
    assert ["Start", "/", "nav.top"] in rows and ["Impressum", "/impressum", "footer"] in rows
    texts = [r[3] for r in tables["shop_texts"][1]]
    assert "Alle Preise inkl. MwSt." in texts and not any("not a product" in (t or "") for t in texts)


def test_the_sandboxed_program_reads_the_page_as_previewed(tmp_path: Path) -> None:
    (tmp_path / "shop.html").write_text(SHOP, encoding="utf-8")
    assert sql_loads(["shop.html", "orders.csv"]) and not sql_loads(["shop.html", "book.xlsx"])
    sql = "SELECT name, price FROM shop_card WHERE price > 20 ORDER BY price DESC;"
    program = wrap_sql(sql, ["shop.html"], one_value=False)
    (tmp_path / "program.py").write_text(program, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    # decimal commas and thousands dots are numbers; the current price, not the struck one
    assert done.stdout.splitlines() == ["name | price", "Gusspfanne | 1249", "Kupferkanne | 29.9"]

    preview = describe_input(tmp_path / "shop.html", "shop.html")
    outline, tables = split_page_preview(preview)
    assert PAGE_TABLES not in outline and "saved HTML page" in outline
    assert "table shop_card: 3 rows" in tables and "price (number)" in tables
    assert sql_preview("shop.html", preview).startswith("saved HTML page, already loaded as these tables:")
    assert page_preview(SHOP, "shop_") == tables


def test_list_items_and_bare_markup_make_tables_too() -> None:
    html = "<ul><li>Milk<li>Bread<li>Eggs</ul><ol id=steps><li><b>Mix</b> well</li><li><b>Bake</b> 20 min</li></ol>"
    tables = _tables(html, prefix="")
    assert tables["li_items"][1] == [["Milk"], ["Bread"], ["Eggs"]]  # li auto-closed as browsers do
    cols, rows = tables["steps"]
    assert rows[0][cols.index("text")] == "Mix well" and rows[1][cols.index("b")] == "Bake"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<<<>>>",
        "<table><tr><td>1</td>",
        "<div class='a'><div class='a'>",
        "\x00\ufffd<p>é",
        "<html><body>" + "<div>" * 2000 + "deep" + "</div>" * 10,
    ],
)
def test_broken_or_hostile_markup_gives_tables_never_an_error(html: str) -> None:
    tables = page_tables(html, prefix="p_")
    assert [t.name for t in tables][:1] == ["p_page"] and tables[-1].name == "p_texts"


def test_a_huge_page_makes_a_bounded_database() -> None:
    html = (
        "<ul class='feed'>" + "".join(f"<li class='row'><span class='n'>{i}</span></li>" for i in range(3000)) + "</ul>"
    )
    tables = _tables(html, prefix="")
    assert len(tables["row"][1]) == 500


def test_cells_of_a_table_are_not_texts_again_and_data_attributes_say_where_they_come_from() -> None:
    tables = {t.name: t for t in page_tables(SHOP, prefix="shop_")}
    texts = [r[3] for r in tables["shop_texts"].rows]
    assert "Deutschland" not in texts and "Land" not in texts  # in shop_versandkosten already
    assert tables["shop_card"].origins == {"sku": "data-sku"}
    assert "sku (text, data-sku)" in page_preview(SHOP, "shop_")


def test_an_empty_result_says_where_the_compared_text_does_occur(tmp_path: Path) -> None:
    (tmp_path / "shop.html").write_text(SHOP, encoding="utf-8")
    sql = "SELECT kosten FROM shop_versandkosten WHERE info = 'Österreich' OR land = 'it''s';"
    (tmp_path / "program.py").write_text(wrap_sql(sql, ["shop.html"], one_value=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "kosten" and lines[-1] == NO_ROWS
    assert lines[1] == f"{NOTE}'Österreich' occurs in shop_versandkosten.land (e.g. 'Österreich')"
    assert lines[2] == f'{NOTE}"it\'s" occurs in no column of any table'
    problem = check_result("Versandkosten nach Österreich?", done.stdout, "", [])
    assert "no rows" in problem and "shop_versandkosten.land" in problem


def test_a_text_column_compared_with_a_number_stops_the_program_with_the_reason(tmp_path: Path) -> None:
    html = (
        "<ul>"
        + "".join(
            f"<li class='p' data-stars='{s}'><b class='name'>{n}</b><i class='rating'>{r}</i></li>"
            for n, r, s in [("A", "★★★★½", 4.5), ("B", "★★★", 3)]
        )
        + "</ul>"
    )
    (tmp_path / "p.html").write_text(html, encoding="utf-8")

    def run(sql: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "program.py").write_text(wrap_sql(sql, ["p.html"], one_value=False), encoding="utf-8")
        return subprocess.run(
            [sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )

    wrong = run("SELECT name FROM p_p WHERE rating >= 4.5")  # SQLite would say every text is >= any number
    assert wrong.returncode != 0 and "column rating holds texts (such as '★★★★½')" in wrong.stderr
    right = run("SELECT name FROM p_p WHERE stars >= 4.5")
    assert right.returncode == 0 and right.stdout.splitlines() == ["name", "A"]


def test_a_page_of_hundreds_of_tables_or_columns_gives_a_bounded_preview(tmp_path: Path) -> None:
    many = "".join(
        f"<table id='t{i}'><tr><th>a</th><th>b</th></tr>" + "<tr><td>1</td><td>x</td></tr>" * (1 + i % 5) + "</table>"
        for i in range(300)
    )
    html = f"<html><body>{many}</body></html>"
    (tmp_path / "big.html").write_text(html, encoding="utf-8")
    tables = split_page_preview(describe_input(tmp_path / "big.html", "big.html"))[1]
    assert len(tables) < 8000, len(tables)  # 300 tables described in full would be ~45,000 characters
    assert tables.count("\ntable ") + tables.startswith("table ") == 8 + 3  # the 8 largest + page, links, texts
    named = re.search(r"… and (\d+) smaller tables, not described here: big_t0, big_t1, ", tables)
    assert named and int(named.group(1)) >= 292  # one-row tables are only named
    item = "<li class='w'>" + "".join(f"<span class='c{j}'>{j}</span>" for j in range(200)) + "</li>"
    wide = page_preview(f"<ul>{item * 3}</ul>", "p_")
    assert "… 160 more columns" in wide and len(wide) < 4000
    # a table only named is still in the program's database
    (tmp_path / "program.py").write_text(wrap_sql("SELECT COUNT(*) FROM big_t1", ["big.html"]), encoding="utf-8")
    done = subprocess.run([sys.executable, "program.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "2", done.stderr


def test_the_preview_lists_the_few_values_a_text_column_takes() -> None:
    from app.engine.llm.page_preview import page_preview

    cards = "".join(
        f"<li class='card'><h3>Item {i}</h3><span class='stock'>{'Sold out' if i % 3 == 0 else 'In stock'}</span>"
        f"<span class='price'>{10 + i},00 €</span></li>"
        for i in range(1, 10)
    )
    html = f"<html><body><nav><a href='/a'>A</a><a href='/b'>B</a></nav><main><ul>{cards}</ul></main></body></html>"
    preview = page_preview(html, "shop_")
    assert "values of stock: 'In stock' (6), 'Sold out' (3)" in preview  # a filter can spell them exactly
    assert "values of name" not in preview and "values of price" not in preview  # unique names, numbers
