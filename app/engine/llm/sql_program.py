"""SQL answers for the database specialist: the model writes a query, a fixed program runs it.

A small model writes a short SQLite query far more reliably (and about five times faster) than a
whole Python program with its connection, loading and printing boilerplate. So a specialist
whose ``[program]`` says ``language = "sql"`` is asked for SQL only; :func:`wrap_sql` turns the
query into an ordinary, readable Python program (standard library only) that the sandbox runs
like any other: it loads the task's files into one in-memory SQLite database (a ``.db`` or
``.sqlite`` file is copied in, a ``.sql`` dump executed, a ``.csv``/``.tsv`` becomes a table named
after the file, see :func:`table_name`), runs the statements in order and prints the last
result: a single value alone (a text value also as a one-row table), otherwise a `` | ``-separated
table that is also saved to ``result.csv``. Common functions of other dialects that SQLite lacks
(``DATEDIFF``, ``YEAR``, ``MEDIAN``, ``STDDEV``, ``CONCAT``, ``IF`` …) are defined, so a query in
MySQL style still runs. The model's reply is held to one ``sql`` block by a grammar
(:data:`SQL_GRAMMAR`, on backends that take one). :func:`sql_of` reads the query back out of such a
program, so examples learned from feedback show the model SQL again. A reply that is Python after
all is used as it is.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from types import ModuleType

from app.engine.llm import html_tables, table_cells
from app.engine.llm.page_preview import split_page_preview

__all__ = [
    "NOTE",
    "NO_ROWS",
    "SQL_GRAMMAR",
    "extract_sql",
    "sql_loads",
    "sql_of",
    "sql_preview",
    "table_name",
    "wrap_sql",
]

_SQL_FENCE = re.compile(r"```(?:sql|sqlite|SQL)[ \t]*\n(.*?)(?:```|\Z)", re.S)
_PY_FENCE = re.compile(r"```(?:python|py)[ \t]*\n", re.I)
_ANY_FENCE = re.compile(r"```[\w-]*[ \t]*\n(.*?)(?:```|\Z)", re.S)
_WRAPPED = re.compile(r'^SQL = r?"""\n(.*?)\n"""$', re.S | re.M)
_TABLES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson")  # files that become a table

# GBNF for the reply: one fenced sql block and nothing else (no prose, no guessed JSON answer)
SQL_GRAMMAR = 'root ::= "```sql\\n" line+ "```"\nline ::= [^`\\n]* "\\n"\n'
_DATABASES = (".db", ".sqlite", ".sqlite3")
_PAGES = (".html", ".htm", ".xhtml")  # saved pages: each becomes several tables (html_tables)
NO_ROWS = "(no rows)"  # the wrapped program's line for an empty result (the checks look for it)
NOTE = "-- "  # starts the lines above NO_ROWS that say where the query's compared texts occur


def table_name(file_name: str) -> str:
    """The table a CSV/TSV file becomes: its stem, lower case, non-word characters as ``_``."""
    stem = PurePosixPath(file_name).stem.lower()
    name = re.sub(r"\W+", "_", stem).strip("_") or "data"
    return f"t_{name}" if name[0].isdigit() else name


def extract_sql(reply: str) -> str | None:
    """The query of a reply: its ```sql block, else a bare fenced or unfenced statement.

    ``None`` when the reply is a Python program instead (the caller runs that as it is).
    """
    match = _SQL_FENCE.search(reply)
    if match:
        return match.group(1).strip()
    if _PY_FENCE.search(reply):
        return None
    match = _ANY_FENCE.search(reply)
    body = (match.group(1) if match else reply).strip()
    if re.match(r"(?is)^\s*(with|select|update|insert|delete|create|drop|replace|values)\b", body):
        return body
    return None


def sql_of(program: str) -> str | None:
    """The query inside a program made by :func:`wrap_sql`, or ``None`` for any other program."""
    match = _WRAPPED.search(program)
    return match.group(1).strip() if match else None


def sql_loads(files: Sequence[str]) -> bool:
    """Whether the fixed program can put every one of ``files`` into its database."""
    return all(f.lower().endswith((*_TABLES, *_DATABASES, *_PAGES, ".sql")) for f in files)


_PANDAS_HINTS = (
    (re.compile(r" \(sep=[^)]*\)"), ""),
    (re.compile(r"text number \([^)]*\)"), "number"),
    (re.compile(r"text with a number \(strip the unit/currency, then convert\)"), "number (its unit is dropped)"),
    (re.compile(r"\s*\((?:pd\.read_json|load with)[^)]*\)"), ""),
)


def sql_preview(name: str, preview: str) -> str:
    """An input's description as the SQL writer should read it: the table names it will query.

    Table files are loaded with their numbers as numbers (units, thousands separators and a
    decimal comma read), so the preview says "number" where the pandas writer is told to convert.
    """
    lower = name.lower()
    if lower.endswith(_TABLES):
        for pattern, said in _PANDAS_HINTS:
            preview = pattern.sub(said, preview)
        rows = "one row per record" if lower.endswith((".json", ".jsonl", ".ndjson")) else "one row per data line"
        return f"table {table_name(name)} (loaded from {name}, {rows})\n{preview}"
    if lower.endswith(_DATABASES):
        return re.sub(r"^SQLite database \(.*?\); tables:", "SQLite database, already open; its tables:", preview)
    if lower.endswith(_PAGES):
        tables = split_page_preview(preview)[1]
        return f"saved HTML page, already loaded as these tables:\n{tables}" if tables else preview
    if lower.endswith(".sql"):
        return re.sub(r"^SQL dump \(.*\)$", "SQL dump, already loaded; its tables:", preview, count=1, flags=re.M)
    return preview


_BODY = '''

def moment(value):
    """A date or timestamp cell as a datetime (None when it is not one)."""
    try:
        return datetime.fromisoformat(str(value).strip()[:19].replace("T", " "))
    except ValueError:
        return None


def days_between(later, earlier):
    """DATEDIFF(later, earlier) as MySQL means it: whole days."""
    a, b = moment(later), moment(earlier)
    return (a.date() - b.date()).days if a and b else None


def part(index):
    return lambda value: getattr(moment(value), ("year", "month", "day")[index], None)


class Collect:
    """Aggregates SQLite lacks: MEDIAN, STDDEV (sample), VARIANCE (sample)."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if isinstance(value, int | float):
            self.values.append(value)


class Median(Collect):
    def finalize(self):
        return statistics.median(self.values) if self.values else None


class Stdev(Collect):
    def finalize(self):
        return statistics.stdev(self.values) if len(self.values) > 1 else None


class Variance(Collect):
    def finalize(self):
        return statistics.variance(self.values) if len(self.values) > 1 else None


class Percentile:
    """PERCENTILE(x, p): the p-th percentile (p from 0 to 100, or a fraction up to 1), interpolated."""

    def __init__(self):
        self.values, self.p = [], None

    def step(self, value, p):
        if isinstance(value, int | float):
            self.values.append(value)
        if isinstance(p, int | float):
            self.p = p / 100 if p > 1 else p

    def finalize(self):
        if not self.values or self.p is None:
            return None
        ordered = sorted(self.values)
        where = self.p * (len(ordered) - 1)
        low = int(where)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (where - low)


class Corr:
    """CORR(x, y): Pearson's correlation of the pairs where both are numbers."""

    def __init__(self):
        self.pairs = []

    def step(self, x, y):
        if isinstance(x, int | float) and isinstance(y, int | float):
            self.pairs.append((x, y))

    def finalize(self):
        if len(self.pairs) < 2:
            return None
        xs, ys = zip(*self.pairs)
        try:
            return statistics.correlation(xs, ys)
        except statistics.StatisticsError:
            return None


def add_dialect_functions(con):
    """Functions of other SQL dialects (MySQL, PostgreSQL), so a query written for them still runs."""
    con.create_function("datediff", 2, days_between)
    for index, name in enumerate(("year", "month", "day")):
        con.create_function(name, 1, part(index))
    con.create_function("dayname", 1, lambda d: moment(d).strftime("%A") if moment(d) else None)
    con.create_function("monthname", 1, lambda d: moment(d).strftime("%B") if moment(d) else None)
    con.create_function("date_format", 2, lambda d, f: moment(d).strftime(f) if moment(d) else None)
    con.create_function("concat", -1, lambda *parts: "".join(str(p) for p in parts if p is not None))
    con.create_function("if", 3, lambda c, a, b: a if c else b)
    con.create_function("now", 0, lambda: datetime.now().isoformat(sep=" ", timespec="seconds"))
    con.create_function("curdate", 0, lambda: datetime.now().date().isoformat())
    con.create_aggregate("median", 1, Median)
    for name in ("stddev", "stdev", "stddev_samp"):
        con.create_aggregate(name, 1, Stdev)
    for name in ("variance", "var_samp"):
        con.create_aggregate(name, 1, Variance)
    con.create_aggregate("corr", 2, Corr)
    for name in ("percentile", "percentile_cont", "quantile"):
        con.create_aggregate(name, 2, Percentile)

def load(con, name):
    """Put one input file into the in-memory database."""
    lower = name.lower()
    if lower.endswith((".db", ".sqlite", ".sqlite3")):
        src = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
        if not con.execute("select count(*) from sqlite_master").fetchone()[0]:
            src.backup(con)
        else:
            for (ddl,) in src.execute("select sql from sqlite_master where type = 'table' and sql is not null"):
                con.execute(ddl)
            con.commit()
            con.execute("attach ? as src", (f"file:{name}?mode=ro",))
            for (table,) in src.execute("select name from sqlite_master where type = 'table'"):
                con.execute(f'insert into main."{table}" select * from src."{table}"')
            con.commit()
            con.execute("detach src")
        src.close()
    elif lower.endswith(".sql"):
        with open(name, encoding="utf-8", errors="replace") as fh:
            con.executescript(fh.read())
    elif lower.endswith((".json", ".jsonl", ".ndjson")):
        with open(name, encoding="utf-8-sig", errors="replace") as fh:
            text = fh.read()
        try:
            if lower.endswith(".json"):
                doc = json.loads(text)
                if isinstance(doc, dict):  # {"records": [...]}: its first list of records
                    doc = next((v for v in doc.values() if isinstance(v, list)), [doc])
            else:
                doc = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise SystemExit(f"{name} is not valid JSON: {exc}") from None
        records = [r for r in doc if isinstance(r, dict)] if isinstance(doc, list) else []
        if not records:
            raise SystemExit(f"{name} holds no JSON records (objects) to load as a table")
        header = list(dict.fromkeys(k for r in records for k in r))
        rows = [[cell(r.get(k)) for k in header] for r in records]
        fill(con, TABLES[name], header, rows)
    elif lower.endswith((".html", ".htm", ".xhtml")):
        with open(name, encoding="utf-8-sig", errors="replace") as fh:
            page = fh.read()
        for table in page_tables(page, prefix=PAGE_PREFIXES.get(name, "")):
            fill(con, table.name, table.columns, [[None if c is None else number(c, ";") for c in r] for r in table.rows])
    elif lower.endswith((".csv", ".tsv", ".txt")):
        with open(name, newline="", encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
            fh.seek(0)
            delimiter = max(",;\t|", key=first.count)  # the separator the header line uses most
            rows = list(csv.reader(fh, delimiter=delimiter))
        if not rows or not any(h.strip() for h in rows[0]):
            raise SystemExit(f"{name} is empty: no header line to name the table's columns")
        header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]
        width = len(header)
        fill(con, TABLES[name], header,
             [[number(c, delimiter) for c in r[:width]] + [None] * (width - len(r)) for r in body])


def fill(con, table, header, rows):
    """A table named ``table`` with the columns of ``header`` and ``rows`` in it."""
    cols = ", ".join('"' + h.replace('"', '""') + '"' for h in header)
    con.execute(f'drop table if exists "{table}"')
    con.execute(f'create table "{table}" ({cols})')
    marks = ", ".join("?" for _ in header)
    con.executemany(f'insert into "{table}" values ({marks})', rows)


def cell(value):
    """A JSON value as a cell: numbers and text as they are, lists and objects as JSON text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def shown(value):
    """A cell as printed: floats to 12 significant digits (no binary noise such as 0.30000000000000004)."""
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def statements(sql):
    """The script's statements, split where SQLite says a statement is complete."""
    out, start = [], 0
    for i, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : i + 1]):
            out.append(sql[start : i + 1])
            start = i + 1
    if sql[start:].strip(" \\t\\r\\n;"):
        out.append(sql[start:])
    return [s for s in out if s.strip(" \\t\\r\\n;")]


def literals(sql):
    """The quoted texts the query compares with ('JPY', '%paris%'), without LIKE's wildcards."""
    out, i = [], 0
    while True:
        start = sql.find("'", i)
        if start < 0:
            return out
        end = start + 1
        while True:
            end = sql.find("'", end)
            if end < 0 or sql[end + 1 : end + 2] != "'":
                break
            end += 2
        if end < 0:
            return out
        text = sql[start + 1 : end].replace("''", "'").strip("%_ ")
        if 0 < len(text) <= 60 and text not in out and not text.replace("-", "").isdigit():
            out.append(text)
        i = end + 1


def table_columns(con):
    """Each table of the database with its column names."""
    names = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
    return {table: [r[1] for r in con.execute(f'pragma table_info("{table}")')] for table in names}


def where_found(con, sql):
    """For an empty result: where each compared text does occur, so the next query can use that column."""
    notes = []
    con.create_function("fold", 1, lambda v: None if v is None else str(v).casefold())  # any script's case
    wanted = literals(sql)[:6]
    tables = list(table_columns(con).items())[:30]
    for text in wanted:
        places = []
        for table, columns in tables:
            for col in columns[:60]:
                quoted = col.replace('"', '""')
                hit = con.execute(f'select "{quoted}" from "{table}" where instr(fold("{quoted}"), ?) > 0 limit 1',
                                  (text.casefold(),)).fetchone()
                if hit is not None:
                    places.append(f"{table}.{col} (e.g. {str(hit[0])[:40]!r})")
        where = ", ".join(places[:4]) if places else "no column of any table"
        notes.append(f"{NOTE}{text!r} occurs in {where}")
    return notes


def schema_note(con, message):
    """For a wrong name: the tables with their columns, and which table has a missing column."""
    tables = table_columns(con)
    note = "the tables are: " + "; ".join(f"{t}({', '.join(c[:25])})" for t, c in list(tables.items())[:15])
    missing = re.search(r"no such (?:column|table): (?:\\w+\\.)?(\\w+)", message)
    if missing:
        name = missing.group(1).lower()
        owners = [t for t, cols in tables.items() if name in [c.lower() for c in cols]]
        if owners:
            note += f"; {missing.group(1)} is a column of {', '.join(owners)}"
    return note


COMPARED = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)"?\\s*(?:>=|<=|>|<)\\s*(-?\\d+(?:\\.\\d+)?)\\b')


def text_compared_with_number(con, sql):
    """A column of texts compared with a number (SQLite then compares types, not values), or None."""
    tables = table_columns(con)
    for column, figure in COMPARED.findall(sql):
        kinds, sample = [], None
        for table, columns in tables.items():
            if column.lower() not in [c.lower() for c in columns]:
                continue
            for value, kind in con.execute(f'select "{column}", typeof("{column}") from "{table}" '
                                           f'where "{column}" is not null and length("{column}") > 0 limit 200'):
                kinds.append(kind)
                sample = sample if sample is not None or kind != "text" else value
        if kinds and kinds.count("text") >= 0.8 * len(kinds):
            return (f"column {column} holds texts (such as {str(sample)[:30]!r}), not numbers, so comparing it with "
                    f"{figure} compares text with a number; use a column that holds the figure as a number")
    return None


con = sqlite3.connect(":memory:")
add_dialect_functions(con)
for file in FILES:
    load(con, file)
try:
    misuse = text_compared_with_number(con, SQL)
except sqlite3.Error:  # a name the query gets wrong: SQLite's own message says it below
    misuse = None
if misuse:
    raise SystemExit(misuse)
cols, rows, changed = None, [], 0
for statement in statements(SQL):
    try:
        cur = con.execute(statement)
    except sqlite3.OperationalError as exc:
        raise SystemExit(f"{exc}; {schema_note(con, str(exc))}") from None
    if cur.description:
        cols, rows = [d[0] for d in cur.description], cur.fetchall()
    else:
        changed += max(cur.rowcount, 0)
con.commit()
if cols is None:
    print(f"{changed} rows changed")
else:
    if not (ONE_VALUE and len(rows) == 1 and len(cols) == 1 and isinstance(rows[0][0], int | float)):
        with open("result.csv", "w", newline="", encoding="utf-8") as fh:  # items and rows stay a table
            csv.writer(fh).writerows([cols, *rows])
    if ONE_VALUE and len(rows) == 1 and len(cols) == 1:
        print(shown(rows[0][0]))
    else:
        print(" | ".join(cols))
        for row in rows:
            print(" | ".join(shown(v) for v in row))
        if not rows:
            try:
                for note in where_found(con, SQL):
                    print(note)
            except sqlite3.Error:
                pass
            print(NO_ROWS)
'''  # noqa: E501 (program source: its lines are kept as they are)


def _source(module: ModuleType) -> str:
    """A stdlib-only module's code to put into the program: without its docstring and future import."""
    code = inspect.getsource(module).split("from __future__ import annotations\n", 1)[-1]
    code = re.sub(r"^__all__ = .*\n", "", code, flags=re.M)  # the module's exports mean nothing in the program
    return code.strip("\n") + "\n\n"


def page_prefixes(files: Sequence[str]) -> dict[str, str]:
    """The prefix of each HTML page's table names: the page's own table name (``shop.html``: ``shop_``)."""
    return {f: f"{table_name(f)}_" for f in files if f.lower().endswith(_PAGES)}


def wrap_sql(sql: str, files: Sequence[str], *, one_value: bool = True) -> str:
    """A complete program that runs ``sql`` over ``files`` (task inputs in the current folder).

    ``one_value``: a one-row, one-column result is printed alone (the task asks for a value);
    otherwise every result is a table, printed and saved (the task asks for items or rows).
    """
    query = sql.strip().replace('"""', "'''")
    tables = {f: table_name(f) for f in files if f.lower().endswith(_TABLES)}
    head = (
        '"""Runs the SQL below with SQLite over this task\'s files and prints its result."""\n'
        "from __future__ import annotations\n\n"
        "import csv\nimport json\nimport re\nimport sqlite3\nimport statistics\nfrom datetime import datetime\n\n"
        f'SQL = r"""\n{query}\n"""\n'
        f"FILES = {tuple(files)!r}\n"
        f"ONE_VALUE = {one_value!r}  # a single cell is printed alone\n"
        f"TABLES = {tables!r}  # table file -> table name\n"
        f"NO_ROWS = {NO_ROWS!r}  # printed under the header of an empty result\n"
        f"NOTE = {NOTE!r}  # starts a line saying where a compared text occurs (above NO_ROWS)\n"
    )
    pages = page_prefixes(files)
    if pages:
        head += f"PAGE_PREFIXES = {pages!r}  # HTML page -> the prefix of its tables' names\n"
    head += "\n\n# Table cells that are numbers as people write them ('12,90 €', '$1,450') become numbers.\n"
    head += _source(table_cells)
    if pages:
        head += "# Each HTML page becomes tables: page, links, texts, its <table>s and its repeated items.\n"
        head += _source(html_tables)
    return head + _BODY
