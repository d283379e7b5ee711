"""SQL answers for the database specialist: the model writes a query, a fixed program runs it.

A small model writes a short SQLite query far more reliably (and about five times faster) than a
whole Python program with its connection, loading and printing boilerplate. So a specialist
whose ``[program]`` says ``language = "sql"`` is asked for SQL only; :func:`wrap_sql` turns the
query into an ordinary, readable Python program (standard library only) that the sandbox runs
like any other: it loads the task's files into one in-memory SQLite database (a ``.db`` or
``.sqlite`` file is copied in, a ``.sql`` dump executed, a ``.csv``/``.tsv`` becomes a table named
after the file, see :func:`table_name`), runs the statements in order and prints the last
result: a single value alone (a text value also as a one-row table), otherwise a `` | ``-separated table that is also saved to
``result.csv``. Common functions of other dialects that SQLite lacks (``DATEDIFF``, ``YEAR``,
``MEDIAN``, ``STDDEV``, ``CONCAT``, ``IF`` …) are defined, so a query in MySQL style still runs. The
model's reply is held to one ``sql`` block by a grammar (:data:`SQL_GRAMMAR`, on backends that
take one). :func:`sql_of` reads the query back out of such a program, so examples learned
from feedback show the model SQL again. A reply that is Python after all is used as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

__all__ = ["SQL_GRAMMAR", "extract_sql", "sql_of", "sql_preview", "table_name", "wrap_sql"]

_SQL_FENCE = re.compile(r"```(?:sql|sqlite|SQL)[ \t]*\n(.*?)(?:```|\Z)", re.S)
_PY_FENCE = re.compile(r"```(?:python|py)[ \t]*\n", re.I)
_ANY_FENCE = re.compile(r"```[\w-]*[ \t]*\n(.*?)(?:```|\Z)", re.S)
_WRAPPED = re.compile(r'^SQL = r?"""\n(.*?)\n"""$', re.S | re.M)
_TABLES = (".csv", ".tsv")

# GBNF for the reply: one fenced sql block and nothing else (no prose, no guessed JSON answer)
SQL_GRAMMAR = 'root ::= "```sql\\n" line+ "```"\nline ::= [^`\\n]* "\\n"\n'
_DATABASES = (".db", ".sqlite", ".sqlite3")


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


def sql_preview(name: str, preview: str) -> str:
    """An input's description as the SQL writer should read it: the table names it will query."""
    lower = name.lower()
    if lower.endswith(_TABLES):
        return f"table {table_name(name)} (loaded from {name}, one row per data line)\n{preview}"
    if lower.endswith(_DATABASES):
        return re.sub(r"^SQLite database \(.*?\); tables:", "SQLite database, already open; its tables:", preview)
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


def add_dialect_functions(con):
    """Functions of other SQL dialects (MySQL, PostgreSQL), so a query written for them still runs."""
    con.create_function("datediff", 2, days_between)
    for index, name in enumerate(("year", "month", "day")):
        con.create_function(name, 1, part(index))
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
    elif lower.endswith((".csv", ".tsv")):
        with open(name, newline="", encoding="utf-8-sig") as fh:
            first = fh.readline()
            fh.seek(0)
            delimiter = max(",;\\t|", key=first.count)  # the separator the header line uses most
            rows = list(csv.reader(fh, delimiter=delimiter))
        header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]
        table = TABLES[name]
        cols = ", ".join(f'"{h}"' for h in header)
        con.execute(f'drop table if exists "{table}"')
        con.execute(f'create table "{table}" ({cols})')
        marks = ", ".join("?" for _ in header)
        con.executemany(f'insert into "{table}" values ({marks})', [[number(c) for c in r[: len(header)]]
                                                                     + [None] * (len(header) - len(r)) for r in body])


def number(cell):
    """A numeric cell as a number (so sums and comparisons work); any other cell as text."""
    text = cell.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


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


con = sqlite3.connect(":memory:")
add_dialect_functions(con)
for file in FILES:
    load(con, file)
cols, rows, changed = None, [], 0
for statement in statements(SQL):
    cur = con.execute(statement)
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
        print(rows[0][0])
    else:
        print(" | ".join(cols))
        for row in rows:
            print(" | ".join(str(v) for v in row))
'''


def wrap_sql(sql: str, files: Sequence[str], *, one_value: bool = True) -> str:
    """A complete program that runs ``sql`` over ``files`` (task inputs in the current folder).

    ``one_value``: a one-row, one-column result is printed alone (the task asks for a value);
    otherwise every result is a table, printed and saved (the task asks for items or rows).
    """
    query = sql.strip().replace('"""', "'''")
    tables = {f: table_name(f) for f in files if f.lower().endswith(_TABLES)}
    head = (
        '"""Runs the SQL below with SQLite over this task\'s files and prints its result."""\n'
        "import csv\nimport sqlite3\nimport statistics\nfrom datetime import datetime\n\n"
        f'SQL = r"""\n{query}\n"""\n'
        f"FILES = {tuple(files)!r}\n"
        f"ONE_VALUE = {one_value!r}  # a single cell is printed alone\n"
        f"TABLES = {tables!r}  # CSV/TSV file -> table name\n"
    )
    return head + _BODY
