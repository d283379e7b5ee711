"""Program writing without a model: prompt construction, code extraction, example retrieval, checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.errors import TaskFailed
from app.engine.core.specs import SpecialistSpec, load_catalogue
from app.engine.llm.coder import ProgramWriter, extract_program, writes_sql
from app.engine.llm.examples import Example, ExampleBank
from app.engine.tasks.verify import agree, check_result, is_soft

ROOT = Path(__file__).resolve().parents[2]


class ScriptedChat:
    """Answers with the given replies in turn and records what it was asked."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[list[dict[str, str]], dict[str, Any]]] = []

    def chat(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        format: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> str:
        self.calls.append((messages, options or {}))
        return self.replies.pop(0)


@pytest.fixture
def bank(tmp_path: Path) -> ExampleBank:
    spec_dir = tmp_path / "specialists" / "data-analytics"
    spec_dir.mkdir(parents=True)
    seeds = [
        {"task": "total sales per region", "program": "print('region totals')", "inputs": "- s.csv"},
        {"task": "average price of all products", "program": "print('avg')"},
        {"task": "plot revenue by month", "program": "print('plot')"},
        {"task": "count rows where status is open", "program": "print('count')"},
    ]
    (spec_dir / "examples.jsonl").write_text("\n".join(json.dumps(s) for s in seeds) + "\nnot json\n")
    return ExampleBank(tmp_path / "data", tmp_path / "specialists")


def test_extract_program_takes_the_first_fence_or_the_whole_reply() -> None:
    assert extract_program("Here:\n```python\nprint(1)\n```\nand ```python\nprint(2)\n```") == "print(1)\n"
    assert extract_program("```\nx = 2\nprint(x)\n```") == "x = 2\nprint(x)\n"
    assert extract_program("print(3)") == "print(3)\n"
    assert extract_program("```python\nprint(4)\n") == "print(4)\n"  # an unclosed fence (cut off)


def test_bank_ranks_by_similarity_skips_bad_lines_and_learns(bank: ExampleBank) -> None:
    assert [e.task for e in bank.similar("data-analytics", "sales totals for each region", k=1)] == [
        "total sales per region"
    ]
    assert bank.counts("data-analytics") == {"seed": 4, "feedback": 0}
    bank.add("data-analytics", Example(task="median income by city", program="print('m')"))
    assert bank.counts("data-analytics") == {"seed": 4, "feedback": 1}
    assert bank.similar("data-analytics", "median income per city", k=1)[0].program == "print('m')"
    assert ExampleBank(bank.folder.parent, bank.specialists_dir).counts("data-analytics")["feedback"] == 1  # on disk


def _python_spec() -> SpecialistSpec:
    """The data-analytics specialist as a Python-only writer (its manifest answers most tasks in SQL)."""
    spec = load_catalogue(ROOT / "specialists").specs["data-analytics"]
    assert spec.program is not None and spec.program.python_guide
    program = spec.program.model_copy(
        update={"language": "python", "guide": spec.program.python_guide, "python_guide": ""}
    )
    return spec.model_copy(update={"program": program})


def test_writer_prompt_holds_guide_inputs_examples_and_feedback(bank: ExampleBank) -> None:
    spec = _python_spec()
    chat = ScriptedChat(
        "```python\nprint(42)\n```",
        "```python\nprint(43)\n```",
        "```python\nprint(44)\n```",
        "```python\nprint(45)\n```",
    )
    writer = ProgramWriter(chat, "m", bank)
    inputs = [("sales.csv", "columns: region, amount")]
    assert writer.write(spec, "total sales per region", inputs) == "print(42)\n"
    messages, options = chat.calls[0]
    assert "pandas" in messages[0]["content"] and spec.program is not None
    assert spec.program.guide[:40] in messages[0]["content"]
    # the first two seeds are the fixed core (the cached prefix); then the most similar other one
    assert messages[1]["content"].startswith("total sales per region")
    assert messages[3]["content"].startswith("average price of all products")
    assert messages[5]["content"] == "plot revenue by month", "the closest example that is not a core one"
    assert "sales.csv" in messages[-1]["content"] and "columns: region, amount" in messages[-1]["content"]
    assert "Answer shape: a TABLE" in messages[-1]["content"]  # "per region"
    assert options["temperature"] == 0.0 and "\n```\n" in options["stop"]
    writer.write(spec, "total sales per region", inputs, attempt=2, feedback="KeyError: 'Region'")
    second = chat.calls[1][0]
    assert "KeyError: 'Region'" in second[-1]["content"]
    assert second[:5] == messages[:5], "the prefix stays the same across attempts (prompt cache)"
    assert second[5]["content"] != messages[5]["content"], "attempt 2 uses another example set"
    writer.write(spec, "total sales per region", inputs, attempt=3)
    assert chat.calls[2][1]["temperature"] > 0
    assert "No files are attached" not in messages[-1]["content"]
    writer.write(spec, "how many primes are below 100?", [])
    assert "No files are attached" in chat.calls[3][0][-1]["content"], "no invented script to run"


def test_a_crashed_program_is_shown_for_repair(bank: ExampleBank) -> None:
    spec = _python_spec()
    writer = ProgramWriter(ScriptedChat(), "m", bank)
    crashed = "import csv\nwith open('cubes.csv', 'w') as f:\n    f.write('n\\n')\nprint(sum(r[1] for r in rows))\n"
    fresh = writer.messages(spec, "make cubes.csv then sum it", [], 2, "it failed: NameError: rows")
    repair = writer.messages(spec, "make cubes.csv then sum it", [], 2, "it failed: NameError: rows", crashed)
    assert "open('cubes.csv', 'w')" not in fresh[-1]["content"]
    assert "open('cubes.csv', 'w')" in repair[-1]["content"] and "NameError: rows" in repair[-1]["content"]
    assert "keep every step" in repair[-1]["content"]
    assert repair[:-1] == fresh[:-1], "only the task's own message changes (prompt cache)"
    no_module = writer.messages(spec, "t", [], 2, "it failed: No module named 'pandas'", "import pandas\n")
    assert "pandas is not installed here" in no_module[-1]["content"], "a repair is told what is missing too"
    invented = writer.messages(spec, "t", [], 2, "it failed: FileNotFoundError: No such file or directory: 'task.txt'")
    assert "task.txt does not exist: no file is attached" in invented[-1]["content"]
    dropped = [("data.csv", "columns: a")]
    real = writer.messages(spec, "t", dropped, 2, "it failed: No such file or directory: 'data.csv'")
    assert "does not exist" not in real[-1]["content"], "an attached file is there: the hint would be wrong"


def test_prefix_is_the_same_for_different_tasks_of_a_specialist(bank: ExampleBank) -> None:
    spec = _python_spec()
    writer = ProgramWriter(ScriptedChat(), "m", bank)
    one = writer.messages(spec, "plot revenue by month", [("a.csv", "columns: x")], 1, "")
    two = writer.messages(spec, "how many rows are open?", [("b.csv", "columns: y")], 1, "")
    assert one[:5] == two[:5] and one[-1] != two[-1]


def test_written_program_gets_the_imports_it_forgot(bank: ExampleBank) -> None:
    spec = load_catalogue(ROOT / "specialists").specs["numerical"]
    reply = "```python\nfrom sympy import symbols\nx = symbols('x')\nprint(N(integrate(exp(-x), (x, 0, oo))))\n```\n"
    code = ProgramWriter(ScriptedChat(reply), "m", bank).write(spec, "integral of exp(-x) from 0 to infinity", [])
    assert code.splitlines()[:4] == [
        "from sympy import N",
        "from sympy import integrate",
        "from sympy import exp",
        "from sympy import oo",
    ]
    namespace: dict[str, object] = {}
    exec(compile(code.replace("print(", "result = ("), "p", "exec"), namespace)  # noqa: S102 - our own string
    assert float(namespace["result"]) == pytest.approx(1.0)  # type: ignore[arg-type]


def test_writer_refuses_a_spec_without_program_section(bank: ExampleBank) -> None:
    spec = load_catalogue(ROOT / "specialists").specs["data-analytics"].model_copy(update={"program": None})
    with pytest.raises(TaskFailed) as err:
        ProgramWriter(ScriptedChat("x"), "m", bank).write(spec, "anything", [])
    assert err.value.kind == "unsupported"


@pytest.mark.parametrize(
    ("task", "answer", "program", "columns", "problem"),
    [
        ("how many orders are there?", "13", "print(len(df))", [], ""),
        ("how many orders are there?", "none found", "print('none found')", [], "number"),
        ("what is the total?", "", "", [], "nothing"),
        ("total per region", "Traceback (most recent call last):\n KeyError", "", [], "error"),
        ("average amount", "nan", "print(df['amount'].mean())", ["amount"], "missing value"),
        ("sum of sales", "100", "print(df['Sales'].sum())", ["region", "amount"], "Sales"),
        ("sum of sales", "100", "df['total'] = df['amount'] * 2\nprint(df['total'].sum())", ["amount"], ""),
        ("sum of amount", "100", "print(df['Amount'].sum())", ["amount"], ""),  # case-insensitive match
        ("which items are sold out?", "items sold out:", "print('items sold out:')", [], "found nothing"),
        ("what is the integral of 1/(1+x^2) from 0 to 1?", "integral = pi/4", "", [], "symbolic"),
        ("what is the integral of 1/(1+x^2) from 0 to 1?", "pi/4\n0.785398163397448", "", [], ""),
        ("what's the average delay?", "NaT", "", [], "missing value"),
        ("Which genres have an average book price above 14 euros?", "genre\nclassic\nliterary", "", [], ""),
        ("What is the average book price?", "about fourteen", "", [], "printed none"),
        ("What's the shop's email address?", "name\nStadtflitzer 3", "", [], "email address"),
        ("What's the shop's email address?", "laden@radhaus-weber.example", "", [], ""),
        ("Get me the links to each product's detail page.", "Trowel\nKettle", "", [], "no URL"),
        ("Get me the links to each product's detail page.", "https://x.example/p/1\n/p/2", "", [], ""),
        ("How many links are in the menu?", "5", "", [], ""),
        ("What is the hotel's phone number?", "Rates per night, breakfast included.", "", [], "phone number"),
        ("What is the hotel's phone number?", "+353 21 477 0000", "", [], ""),
        ("Is this matrix invertible? A = [[2, 1], [1, 2]]. Give me its determinant.", "True", "", [], "printed none"),
        ("Revenue went from 84,000 to 97,500. By what percentage did it grow?", "it grew", "", [], "printed none"),
        ("Is this matrix invertible? A = [[2, 1], [1, 2]]. Give me its determinant.", "True\n3.0", "", [], ""),
        ("What is the name of the oldest employee?", "Ada Lovelace", "", [], ""),
        ("How many people did we hire in 2021?", "0", "", [], "the result is 0"),
        ("How many people did we hire in 2021?", "10", "", [], ""),
        ("What's the cheapest product on the page?", "6.4", "", [], "only a figure"),
        ("What's the cheapest product on the page?", "Olive Wood Spoon", "", [], ""),
        ("What is the highest price on the page?", "49.9", "", [], ""),
        ("what's the probability of exactly 3 heads in 10 flips?", "120.0", "", [], "between 0 and 1"),
        ("What does (1 + 1/n)^n tend to as n goes to infinity?", "limit = E", "", [], "symbolic"),
        ("Berechne bitte das Integral von 1/(1+x^2) zwischen 0 und 1.", "integral = pi/4", "", [], "symbolic"),
        ("Simplify (x^2 - 1)/(x - 1).", "x + 1", "", [], ""),
        ("what's the probability of exactly 3 heads in 10 flips?", "0.1171875", "", [], ""),
        ("what's the probability of rain, in percent?", "11.7 %", "", [], ""),
        ("Find the area enclosed between y = x^2 and y = 2x.", "exact: -2/3\n-0.6666", "", [], "never negative"),
        ("Find the area enclosed between y = x^2 and y = 2x.", "1.3333333333333333", "", [], ""),
        ("What is the smallest surface area possible?", "smallest surface area = 4800 cm^2", "", [], ""),
        (
            "run invoice.py with a 10 percent discount",
            "grand total 318.90",
            'subprocess.run([sys.executable, "invoice.py", "items.json"])',
            [],
            "states 10",
        ),
        (
            "run invoice.py with a 10 percent discount",
            "grand total 287.01",
            'subprocess.run([sys.executable, "invoice.py", "items.json", "--discount", "10"])',
            [],
            "",
        ),
        (
            "run invoice.py with VAT at 19% (a fraction)",
            "grand total 1",
            'subprocess.run([sys.executable, "invoice.py", "--vat", "0.19"])',
            [],
            "",
        ),
        (
            "run report_v2.py on data2.csv",
            "ok 1",
            'subprocess.run([sys.executable, "report_v2.py", "data2.csv"])',
            [],
            "",
        ),
    ],
)
def test_check_result(task: str, answer: str, program: str, columns: list[str], problem: str) -> None:
    got = check_result(task, answer, program, columns)
    assert (problem in got and got) if problem else got == "", got


@pytest.mark.parametrize(
    ("task", "table", "problem"),
    [
        (
            "Which region brought in the most revenue?",
            {"columns": ["region", "r"], "rows": [["S", 4], ["N", 3]]},
            "single",
        ),
        ("Which region brought in the most revenue?", {"columns": ["region", "r"], "rows": [["S", 4]]}, ""),
        ("Who are our top 3 customers by orders?", {"columns": ["c", "n"], "rows": [["a", 3], ["b", 2]]}, "top 3"),
        ("Who are our top 3 customers by orders?", {"columns": ["0"], "rows": [[16], [7], [6]]}, "first column"),
        ("Which products cost more than 20?", {"columns": ["name"], "rows": []}, "empty table"),
        ("Which product is cheapest?", {"columns": ["min_price"], "rows": [[6.4]]}, "first column"),
        ("Which products cost more than 20?", {"columns": ["name"], "rows": [["a"], ["b"]]}, ""),
        ("What did each customer spend?", {"columns": ["customer", "spent"], "rows": [["a", 3.0], ["b", 2.0]]}, ""),
    ],
)
def test_check_result_reads_the_table_shape(task: str, table: dict[str, Any], problem: str) -> None:
    got = check_result(task, "some output", "", [], [table])
    assert (problem in got and is_soft(got) == (problem != "empty table")) if problem else got == "", got


def test_answers_agree_by_their_numbers() -> None:
    assert agree("The total is 1,234.50", "1234.5")
    assert not agree("total 12", "total 13")


def test_a_chosen_variant_adds_its_instructions_and_sampling_but_not_to_the_last_attempt(bank: ExampleBank) -> None:
    spec = _python_spec()
    chat = ScriptedChat("```python\nprint(1)\n```", "```python\nprint(2)\n```")
    writer = ProgramWriter(chat, "m", bank)
    variant = {"temperature": 0.3, "top_p": 0.8, "num_ctx": 99999.0}
    writer.write(spec, "total sales", [], attempt=1, style="Prefer groupby over loops.", overrides=variant)
    writer.write(spec, "total sales", [], attempt=3, style="Prefer groupby over loops.", overrides=variant)
    (first, opts1), (_third, opts3) = chat.calls
    assert first[0]["role"] == "system" and first[0]["content"].endswith("Prefer groupby over loops.")
    assert (opts1["temperature"], opts1["top_p"]) == (0.3, 0.8) and "num_ctx" not in opts1  # only sampling keys
    assert opts3["temperature"] == 0.6 and "top_p" not in opts3


def test_error_gist_puts_the_exception_and_a_hint_first() -> None:
    from app.engine.llm.error_gist import error_gist

    trace = (
        "the program failed: Traceback (most recent call last):\n"
        '  File "/tmp/program-1/.program.py", line 5, in <module>\n'
        '    cur = con.execute("SELECT g FROM t WHERE AVG(p) > 14")\n'
        "sqlite3.OperationalError: misuse of aggregate: AVG()\n"
    )
    gist = error_gist(trace)
    assert gist.startswith("sqlite3.OperationalError: misuse of aggregate: AVG() (program line 5: cur = con.execute(")
    assert "HAVING" in gist
    assert error_gist("KeyError: 'amount'").endswith("use the exact names shown for the input files.")
    assert error_gist("x" * 1000 + " the end", limit=50).endswith("the end")  # no exception: the tail


def test_a_series_printed_where_one_value_was_asked_is_rejected() -> None:
    series = "0    35.0\n1    17.5\n2    52.5\nName: qty, dtype: float64"
    problem = check_result("How much did Ada spend in total?", series, "print(df['qty'])", [])
    assert "whole column" in problem and not is_soft(problem)
    assert check_result("How much did Ada spend in total?", "27.0", "print(total)", []) == ""
    assert check_result("Total per customer, please", "Ada 27\nBob 4\nName: spent, dtype: int64", "print(s)", []) == ""


def test_a_sql_specialist_is_shown_and_asked_for_sql_and_gets_a_runnable_program(tmp_path: Path) -> None:
    spec = load_catalogue(ROOT / "specialists").specs["database"]
    assert spec.program is not None and spec.program.language == "sql"
    chat = ScriptedChat("```sql\nSELECT city, COUNT(*) AS n FROM signups GROUP BY city\n", "```python\nprint(42)\n```")
    writer = ProgramWriter(chat, "m", ExampleBank(tmp_path, ROOT / "specialists"))
    inputs = [("signups.csv", "comma-separated table (sep=','), 2 columns\ncolumns: name (text), city (text)")]
    program = writer.write(spec, "How many signups per city?", inputs)
    messages = chat.calls[0][0]
    assert "```sql block" in messages[0]["content"] and "SQLite" in messages[0]["content"]
    assert all(
        m["content"].startswith("```sql\n") for m in messages[1:-1] if m["role"] == "assistant"
    )  # seeds shown as SQL
    assert "table signups (loaded from signups.csv" in messages[-1]["content"]
    assert "GROUP BY the key" in messages[-1]["content"]  # the SQL form of the table-shape hint
    assert 'SQL = r"""\nSELECT city, COUNT(*) AS n FROM signups GROUP BY city\n"""' in program
    assert "FILES = ('signups.csv',)" in program and "TABLES = {'signups.csv': 'signups'}" in program
    compile(program, "program.py", "exec")
    assert writer.write(spec, "anything", inputs).strip().endswith("print(42)")  # a Python reply is used as it is


def test_a_crashed_query_is_shown_as_sql_for_repair(tmp_path: Path) -> None:
    spec = load_catalogue(ROOT / "specialists").specs["database"]
    chat = ScriptedChat("```sql\nSELECT 1\n")
    writer = ProgramWriter(chat, "m", ExampleBank(tmp_path, ROOT / "specialists"))
    inputs = [("sales.csv", "comma-separated table (sep=','), 2 columns\ncolumns: store (text), qty (number)")]
    crashed = writer.write(spec, "What share of revenue comes from Paris?", inputs)
    messages = writer.messages(spec, "What share of revenue comes from Paris?", inputs, 2, "no such column", crashed)
    assert "This query for the task crashed:\n```sql\nSELECT 1\n```" in messages[-1]["content"]
    assert "import sqlite3" not in messages[-1]["content"], "the query, not the program that wraps it"


def test_data_analytics_answers_in_sql_but_draws_charts_and_reads_excel_in_python(tmp_path: Path) -> None:
    spec = load_catalogue(ROOT / "specialists").specs["data-analytics"]
    assert spec.program is not None and spec.program.language == "sql"
    bank = ExampleBank(tmp_path, ROOT / "specialists")
    csv_in = [("orders.csv", "comma-separated table (sep=','), 2 columns\ncolumns: region (text), qty (int)")]
    assert writes_sql(spec, "total qty per region", ["orders.csv"])
    assert not writes_sql(spec, "draw a bar chart of the total qty per region", ["orders.csv"])
    assert not writes_sql(spec, "total qty per region", ["orders.xlsx"])
    writer = ProgramWriter(ScriptedChat(), "m", bank)
    table = writer.messages(spec, "total qty per region", csv_in, 1, "")
    chart = writer.messages(spec, "draw a bar chart of the total qty per region", csv_in, 1, "")
    assert "```sql block" in table[0]["content"] and spec.program.guide[:40] in table[0]["content"]
    assert "```python block" in chart[0]["content"] and spec.program.python_guide[:40] in chart[0]["content"]
    shown = [m["content"] for m in table[1:-1] if m["role"] == "assistant"]
    assert shown and all(c.startswith("```sql\n") for c in shown), "SQL tasks see SQL examples only"
    shown = [m["content"] for m in chart[1:-1] if m["role"] == "assistant"]
    assert shown and all(c.startswith("```python\n") for c in shown), "Python tasks see programs only"
    assert "table orders (loaded from orders.csv" in table[-1]["content"]


def test_an_empty_sql_result_is_rejected_even_when_a_table_was_read_from_it() -> None:
    table = [{"columns": ["product"], "rows": [["(no rows)"]]}]
    problem = check_result("Which products has Ada bought?", "product\n(no rows)", "SQL", [], table)
    assert "no rows" in problem and not is_soft(problem)


def test_a_chart_task_whose_program_saved_no_image_is_asked_again() -> None:
    from app.engine.core.views import ArtifactView
    from app.engine.tasks.dispatch import Dispatcher, Job

    job = Job(
        task_id="t",
        text="draw a bar chart of sales",
        spec=load_catalogue(ROOT / "specialists").specs["data-analytics"],
        inputs=[],
        timeout_s=10,
        created_at=0.0,
    )
    assert Dispatcher._asked_chart_missing(job)
    job.program_artifacts = [(ArtifactView(name="result.csv", path="p", bytes=1, mime="text/csv"), "x")]
    assert Dispatcher._asked_chart_missing(job)
    job.program_artifacts.append((ArtifactView(name="chart.png", path="p", bytes=1, mime="image/png"), "y"))
    assert not Dispatcher._asked_chart_missing(job)
    assert Dispatcher._name_images(job, "East 50") == "East 50\nchart saved: chart.png"
    assert Dispatcher._name_images(job, "see chart.png") == "see chart.png"


def test_a_program_that_ran_a_file_that_does_not_exist_is_rejected() -> None:
    out = (
        "exit code 2; last error line:\n"
        "python: can't open file '/tmp/p/generate.py': [Errno 2] No such file or directory"
    )
    assert "error" in check_result("Generate cubes.csv and print the sum", out, "subprocess.run(...)", [])


def test_an_impossible_figure_is_caught_when_the_answer_was_also_read_as_a_table() -> None:
    table = {"columns": ["exact"], "rows": [["-2/3"], [-0.6666]]}
    got = check_result("Find the area enclosed between y = x^2 and y = 2x.", "exact: -2/3\n-0.6666", "", [], [table])
    assert "never negative" in got and not is_soft(got), "agreeing attempts do not make it possible"
