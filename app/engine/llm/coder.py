"""The specialist's model writes a short program for a natural-language task.

The prompt is built for the llama.cpp server's prompt cache: it starts with a prefix that is
the same for every task of a specialist (its rules, guide and libraries from the manifest's
``[program]``, then its first :data:`CORE_EXAMPLES` seed examples), so the server reuses the
evaluated prefix and only the task-specific tail is new: the most similar other example from
its :class:`~app.engine.llm.examples.ExampleBank`, the inputs' exact shapes, the answer shape
the wording asks for (:mod:`app.engine.llm.answer_shape`) and, on a retry, what was wrong.

Each attempt is constructed differently: attempt 1 greedy with the most similar example,
attempt 2 with the previous problem and the next examples down the ranking, attempt 3
sampled at a higher temperature. Generation stops at the closing fence. The reply's program
is the first fenced code block (or the whole reply), with forgotten imports added
(:func:`~app.engine.llm.program_fix.complete_imports`). A specialist whose ``[program]`` has
``language = "sql"`` is asked for SQLite SQL instead, which a fixed program runs over the task's
files (:mod:`app.engine.llm.sql_program`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from app.engine.core.errors import TaskFailed
from app.engine.core.specs import SpecialistSpec
from app.engine.llm.answer_shape import answer_shape, asks_for_chart
from app.engine.llm.chat import ChatService
from app.engine.llm.examples import Example, ExampleBank
from app.engine.llm.page_preview import split_page_preview
from app.engine.llm.pandas_compat import fix_pandas
from app.engine.llm.plan_writer import write_plan
from app.engine.llm.program_fix import complete_imports, launch_scripts_with_python, rehome_calls
from app.engine.llm.scrape_helpers import add_scrape_helpers
from app.engine.llm.script_imports import import_dropped_scripts
from app.engine.llm.sql_program import (
    SQL_GRAMMAR,
    extract_sql,
    sql_loads,
    sql_of,
    sql_preview,
    wrap_sql,
)
from app.engine.llm.value_lists import without_value_lists

__all__ = ["CORE_EXAMPLES", "ProgramWriter", "extract_program", "writes_sql"]

CORE_EXAMPLES = 2  # seed examples in every prompt of a specialist: part of the cached prefix
VARIANT_OPTIONS = frozenset({"temperature", "top_p", "top_k", "repeat_penalty"})  # a variant may set these
STOP = ["\n```\n", "\n```\r\n"]  # the closing fence: nothing after it is used

_URL = re.compile(r"\bhttps?://", re.I)
_FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.S)

SYSTEM = """You are the {title} specialist. Write ONE short, complete Python 3.11 program that answers the user's task.
Rules:
- Available libraries: {libraries}, and the standard library. There is no network; do not install anything.
- Input files are in the current folder under the names listed; read them from there, using the exact column names and separators shown. Never invent data, files or columns.
- Compute the answer from the data; never hard-code a result you did not compute. Import every name you use.
- Print only the answer: no debugging output, no explanations.
- Answer shapes (the task says which one it wants):
  ONE value: print it alone on the last line, at full precision (do not round unless asked).
  ONE item (e.g. 'which X has the most'): keep only the best row, print it, save that one row to result.csv.
  a LIST or TABLE: keep exactly the asked rows and columns (key column first), print them and save them with .to_csv('result.csv', index=False) (or csv.writer).
- Save charts as .png with matplotlib's Agg backend.
{guide}
Reply with the program only, in one ```python block."""  # noqa: E501 (a prompt: its lines are kept as they are)

SQL_SYSTEM = """You are the {title} specialist. Write SQLite SQL that answers the user's task over the tables listed.
Rules:
- The input files are already loaded into one SQLite database: query the tables shown, by the names shown (a CSV file is a table named after the file). Never invent tables, columns or values.
- Usually ONE SELECT. Several statements separated by ';' only when the task asks to change data first; the result of the last SELECT is the answer.
- Select exactly what is asked: the key or name column first, then the asked figure(s). Do not round unless the task asks.
{guide}
Reply with the SQL only, in one ```sql block."""  # noqa: E501 (a prompt: its lines are kept as they are)


def extract_program(reply: str) -> str:
    """The first fenced Python block of ``reply``, or the reply itself when it has no fence."""
    match = _FENCE.search(reply)
    code = match.group(1) if match else reply
    return code.strip("\n") + "\n"


def writes_sql(spec: SpecialistSpec, text: str, names: Sequence[str]) -> bool:
    """Whether this task is answered in SQL.

    The specialist writes SQL and, when it also has a Python guide, no chart is asked for, the
    fixed program can load every input and the task is not about a web address with no file
    (SQL cannot fetch it).
    """
    program = spec.program
    if program is None or program.language != "sql":
        return False
    if not program.python_guide:
        return True
    return not asks_for_chart(text) and sql_loads(names) and (bool(names) or not _URL.search(text))


class ProgramWriter:
    """Writes programs with the planning model; one generation at a time on a small machine."""

    def __init__(self, service: ChatService, model: str, bank: ExampleBank) -> None:
        self.service = service
        self.model = model
        self.bank = bank
        self._gate = threading.Lock()

    def _examples(
        self, spec: SpecialistSpec, text: str, attempt: int, sql: bool
    ) -> tuple[list[Example], list[Example]]:
        """The fixed core examples (cached prefix) and the task's similar ones (one; two on attempt 2).

        All are in the language of this task: SQL examples for SQL, programs for Python.
        """
        bank = self.bank.all(spec.id)
        everything = [e for e in bank if (sql_of(e.program) is not None) == sql]
        core = [e for e in everything if e.source == "seed"][:CORE_EXAMPLES]
        ranked = self.bank.similar(spec.id, text, k=len(bank))
        others = [e for e in ranked if e in everything and e not in core]
        similar = others[1:3] if attempt == 2 else others[:1]
        return core, similar

    def messages(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        attempt: int,
        feedback: str,
        failed_program: str = "",
    ) -> list[dict[str, str]]:
        """The chat for one attempt (kept separate so tests can read the prompt).

        ``failed_program`` is the previous attempt's program when it crashed: the model sees it
        with its error and repairs it (what it did right stays), rather than starting over.
        """
        assert spec.program is not None
        sql = writes_sql(spec, text, [name for name, _ in inputs])
        template = SQL_SYSTEM if sql else SYSTEM
        guide = spec.program.guide if sql or spec.program.language == "python" else spec.program.python_guide
        system = template.format(title=spec.title, libraries=", ".join(spec.program.libraries), guide=guide)
        msgs = [{"role": "system", "content": system}]
        core, similar = self._examples(spec, text, attempt, sql)
        for ex in [*core, *similar]:
            user = ex.task + (f"\n\nInput files:\n{ex.inputs}" if ex.inputs else "")
            msgs.append({"role": "user", "content": user})
            query = sql_of(ex.program) if sql else None
            shown = f"```sql\n{query}\n```" if query else f"```python\n{ex.program.strip()}\n```"
            msgs.append({"role": "assistant", "content": shown})
        user = text.strip()
        if inputs:
            user += "\n\nInput files (in the current folder):\n" + "\n".join(
                f"--- {name}\n{sql_preview(name, preview) if sql else split_page_preview(preview)[0]}"
                for name, preview in ((n, without_value_lists(p)) for n, p in inputs)
            )
        elif not sql:
            user += (
                "\n\nNo files are attached: everything is in the task. Write the whole program yourself; "
                "do not open, import or run any other file."
            )
        shape = answer_shape(text)
        hint = shape.sql_hint() if sql else shape.hint(tabular="pandas" in spec.program.libraries, files=bool(inputs))
        if hint:
            user += "\n\n" + hint
        crashed = (sql_of(failed_program) if sql else failed_program.strip()) or ""
        if feedback and crashed:
            what, fence = ("query", "sql") if sql else ("program", "python")
            user += (
                f"\n\nThis {what} for the task crashed:\n```{fence}\n{crashed[:2400]}\n```\n"
                f"{feedback[:600]}\nWrite the whole {what} again with that error fixed; keep every step the task "
                "asks for."
            )
        elif feedback:
            redo = "Write corrected SQL." if sql else "Write a corrected program."
            user += f"\n\nA previous program for this task was wrong: {feedback[:600]}\n{redo}"
        absent = re.search(r"No such file or directory: '([^']{1,120})'", feedback)
        names = [name for name, _ in inputs]
        if absent and absent.group(1).rsplit("/", 1)[-1] not in names:
            user += (
                f" {absent.group(1)} does not exist: "
                + (f"the only files are {', '.join(names)}." if names else "no file is attached.")
                + " Values the task states are written into the program itself; a file the task asks to make "
                "is written before it is read."
            )
        missing = re.search(r"No module named '([\w.]+)'", feedback)
        if missing:
            user += (
                f" {missing.group(1)} is not installed here: use only {', '.join(spec.program.libraries)} "
                "and the standard library."
            )
        msgs.append({"role": "user", "content": user})
        return msgs

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        feedback: str = "",
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        """A schema-valid plan of the specialist's own operation (:mod:`app.engine.llm.plan_writer`)."""
        deadline = time.monotonic() + timeout_s
        if not self._gate.acquire(timeout=max(0.1, timeout_s)):
            raise TaskFailed(f"the model was busy with other tasks for {timeout_s:g} s", kind="timeout")
        try:
            return write_plan(
                self.service,
                self.model,
                spec,
                text,
                inputs,
                feedback=feedback,
                timeout_s=max(1.0, deadline - time.monotonic()),
            )
        finally:
            self._gate.release()

    def write(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        attempt: int = 1,
        feedback: str = "",
        timeout_s: float = 120.0,
        style: str = "",
        overrides: Mapping[str, float] | None = None,
        failed_program: str = "",
    ) -> str:
        """A program for ``text``; ``TaskFailed(kind="timeout")`` when the model is busy too long."""
        if spec.program is None:
            raise TaskFailed(f"{spec.id} has no program writer; give the exact operation", kind="unsupported")
        options: dict[str, object] = {
            "temperature": 0.0 if attempt < 3 or failed_program else 0.6,  # a repair is not a fresh sample
            "num_predict": spec.program.max_tokens,
            "seed": attempt,
            "stop": STOP,
        }
        sql = writes_sql(spec, text, [name for name, _ in inputs])
        if sql:
            options["grammar"] = SQL_GRAMMAR  # backends that take a grammar get exactly one sql block
        if overrides and attempt < 3:  # the variant's sampling; attempt 3 keeps its own higher temperature
            options.update({k: v for k, v in overrides.items() if k in VARIANT_OPTIONS})
        deadline = time.monotonic() + timeout_s
        if not self._gate.acquire(timeout=max(0.1, timeout_s)):
            raise TaskFailed(f"the model was busy with other tasks for {timeout_s:g} s", kind="timeout")
        try:
            remaining = max(1.0, deadline - time.monotonic())
            messages = self.messages(spec, text, inputs, attempt, feedback, failed_program)
            if style.strip():
                messages[0] = {"role": "system", "content": messages[0]["content"] + "\n" + style.strip()}
            reply = self.service.chat(self.model, messages, options=options, timeout_s=remaining)
        finally:
            self._gate.release()
        if sql and (query := extract_sql(reply)) is not None:
            one_value = answer_shape(text).kind in ("value", "free")
            return wrap_sql(query, [name for name, _ in inputs], one_value=one_value)
        code = extract_program(reply)
        if not code.strip():
            raise TaskFailed("the model wrote no program", kind="bad_plan")
        if "pandas" in spec.program.libraries:
            code = fix_pandas(code)
        code = complete_imports(rehome_calls(code, spec.program.libraries), spec.program.libraries)
        code = launch_scripts_with_python(import_dropped_scripts(code, [name for name, _ in inputs]))
        return add_scrape_helpers(code) if "selectolax" in spec.program.libraries else code
