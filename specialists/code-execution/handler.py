"""Code-execution specialist: run the user's Python in a limited child process.

What to run comes from the plan (``{"code": ...}``), a command line (``python stats.py data.csv
3``, ``run stats.py with --n 5``, ``python -m unittest test_x.py``, ``pytest -q``), a request
to run the tests in a file, a fenced block, code after a lead-in (``run this: print(2)``), the
whole text when it parses as a Python program, or a single dropped ``.py`` file. Ordinary
exceptions in user code are a normal result (exit code + traceback); hitting a sandbox limit is
an error whose kind and message say which limit. Unit-test runs are summarised (passed/failed).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import Limits, RunOutcome, python_command, run_python
from switchboard_runtime.api import BadPlan, NeedsPlan, Result, SpecialistError, Table, Task
from switchboard_runtime.files import check_input, read_text

__all__ = ["Run", "extract_code", "handle", "plan_run"]

MAX_CODE_BYTES = 256 * 1024
MAX_ARTIFACT_BYTES = 16 * 1024 * 1024
MAX_ARTIFACTS_TOTAL = 64 * 1024 * 1024
_FENCE = re.compile(r"```[ \t]*(?P<tag>[\w+#.-]*)[^\n]*\n(?P<code>.*?)```", re.DOTALL)
_ONE_LINE_FENCE = re.compile(r"```(?:python|py|python3)?[ \t]*(?P<code>[^\n`]+?)[ \t]*```", re.I)
_PY_TAGS = {"", "python", "py", "python3", "py3", "pycon", "ipython", "python-repl"}
_SHELL_TAGS = {"sh", "bash", "shell", "console", "zsh", "terminal", "cmd", "powershell", "ps", "bat", "text"}
_INTERPRETER = re.compile(r"^(?:[\w./-]*/)?python(?:\d(?:\.\d+)?)?(?:\.exe)?$|^py$", re.I)
_PASS_FLAGS = {"-u", "-B", "-O", "-OO", "-b", "-bb", "-q", "-E", "-s", "-S", "-I", "-P"}
_VERB = r"(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:run|execute|exec|launch|invoke)"
_COMMAND_IN_PROSE = re.compile(
    rf"(?:^|(?<=[:;.!?\n])\s*|\b(?:please|then|and)\s+)\s*{_VERB}\s+(?:the\s+|my\s+)?(?:python\s+)?"
    r"(?:(?:script|program|file|command)\s+)?(?P<cmd>`[^`\n]+`|\$?\s*(?:python[\d.]*|pytest|py\.test|[\w./-]+\.py)\b.*)$",
    re.I | re.S,
)
_TAIL_PROSE = re.compile(
    r"(?:\s*[,;]\s*|\s+)(?:and\s+|then\s+)*(?:tell|show|give|print|report|return|display|list|explain|let|see|check|"
    r"what)\b(?:\s+(?:me|us|the|its|it|what|whether|if|how|which)\b).*$|\s+(?:please|for\s+me|now)$|\.\s+[A-Z].*$",
    re.I | re.S,
)
_WITH_ARGS = re.compile(
    r"^(?P<script>\S+\.py)\s+(?:with|using|passing)\s+(?P<explicit>(?:the\s+)?(?:command[- ]line\s+)?"
    r"(?:arguments?|args|options?|flags?|parameters?|params)\s*:?\s*)?(?P<args>.+)$",
    re.I | re.S,
)
_ARGS_AS = re.compile(
    r"^(?P<script>\S+\.py)\s+(?:with|using|passing)\s+(?P<args>.+?)\s+as\s+(?:the|its|an?)\s+(?:only\s+|first\s+)?"
    r"(?:command[- ]line\s+)?(?:arguments?|args|parameters?|params)$",
    re.I | re.S,
)
# words that say a script takes arguments: running it bare would answer another question
_MENTIONS_ARGS = re.compile(
    r"\b(?:arguments?|args|argv|flags?|options?|parameters?|params)\b|(?:^|\s)--?[a-z][\w-]*", re.I
)
_ON_FILE = re.compile(r"^(?P<script>\S+\.py)\s+(?:on|against|over)\s+(?P<file>[\w.-]+\.\w{1,8})$", re.I)
_AS_INPUT = re.compile(
    r"^(?P<script>\S+\.py)\s+with\s+(?P<file>[\w.-]+\.\w{1,8})\s+as\s+(?:its\s+|the\s+)?input$", re.I
)
_ARG_LIKE = re.compile(
    r"^(?:-{1,2}[\w-]+(?:=\S*)?|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[\w./-]+\.\w{1,8}|\w+=\S*|[\"'].*[\"'])$", re.I
)
_TESTS_PHRASE = re.compile(
    rf"^{_VERB}\s+(?:all\s+)?(?:of\s+)?(?:the\s+|my\s+)?(?:unit\s*tests?|unittests?|tests?|test\s+suite|test\s+cases?)"
    r"(?:\s+(?:in|from|of|for|inside|defined\s+in)\s+(?P<files>[\w./-]+\.py(?:\s*(?:,|and)\s*[\w./-]+\.py)*))?"
    r"(?:\s+(?:with|using|via)\s+(?P<runner>unittest|pytest|py\.test))?$",
    re.I,
)
_RUNNER_PHRASE = re.compile(
    rf"^{_VERB}\s+(?P<runner>unittest|pytest|py\.test)(?:\s+(?:on|against|for|with|in)\s+"
    r"(?P<files>[\w./-]+\.py(?:\s*(?:,|and)\s*[\w./-]+\.py)*))?$",
    re.I,
)
_MENTIONS_TESTS = re.compile(r"\b(?:unit\s*tests?|unittests?|tests?|test\s+cases?|test\s+suite)\b", re.I)
_LEAD_IN_WORDS = re.compile(
    r"\b(?:run|execute|exec|eval|evaluate|prints?|outputs?|results?|code|snippet|program|script|python|try|tests?|"
    r"returns?|does|do)\b",
    re.I,
)
_OUTPUT_OF = re.compile(
    r"^(?:what(?:'s|\s+is|\s+would\s+be)|show\s+me|tell\s+me)\s+the\s+(?:output|result)\s+of\s+(?P<code>.+?)\s*\??$"
    r"|^what\s+(?:does|would|will)\s+(?P<code2>.+?)\s+(?:print|output|show)\s*\??$",
    re.I | re.S,
)
_UNITTEST_VERBOSE = re.compile(
    r"^(?P<name>\w+) \((?P<where>[\w.]+)\)(?:\n[^\n]*?)? \.\.\. "
    r"(?P<outcome>ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$",
    re.M,
)
_UNITTEST_PROBLEM = re.compile(
    r"^(?P<kind>FAIL|ERROR): (?P<name>\w+) \((?P<where>[\w.]+)\)[^\n]*\n-{20,}\n(?P<body>.*?)(?=^={20,}$|^-{20,}$|\Z)",
    re.M | re.S,
)
_UNITTEST_RAN = re.compile(
    r"^Ran (?P<n>\d+) tests? in [\d.]+s\s*\n+\s*(?P<status>OK|FAILED|NO TESTS RAN)(?: \((?P<detail>[^)]*)\))?", re.M
)
_PYTEST_SUMMARY = re.compile(r"^(?:=+ )?(?P<summary>\d+ \w+(?:, \d+ \w+)*) in [\d.]+s\b.*$", re.M)


@dataclass
class Run:
    """What to run: ``argv`` are the words after ``python``; ``code`` is written to ``script``."""

    argv: list[str]
    source: str
    code: str | None = None
    script: str | None = None
    runner: str | None = None  # "unittest" / "pytest" when the run is a test run
    notes: list[str] = field(default_factory=list)
    guessed: bool = False  # nobody asked for this exact run: a usage error means "plan it", not "answer"


def _looks_like_program(text: str) -> bool:
    """True when ``text`` compiles and is more than a bare name or constant (i.e. not prose)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    if not tree.body:
        return False
    trivial = all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant | ast.Attribute)
        for node in tree.body
    )
    return not trivial


def _does_something(code: str) -> bool:
    """A program with a call or a statement: a bare ``[5, 3, 9, 1]`` after a lead-in is data, not code."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(not isinstance(n, ast.Expr) for n in tree.body) or any(isinstance(n, ast.Call) for n in ast.walk(tree))


def _test_style(code: str) -> str | None:
    """``"unittest"`` for TestCase classes with no ``unittest.main()``, ``"pytest"`` for bare test functions."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    if "unittest.main(" in code or re.search(r"^\s*main\(\s*\)", code, re.M):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any("TestCase" in ast.unparse(b) for b in node.bases):
            return "unittest"
    if any(isinstance(n, ast.FunctionDef) and n.name.startswith("test") for n in tree.body):
        return "pytest"
    return None


def _strip_prompts(code: str) -> str:
    """Turn a REPL transcript (``>>> x = 1``) into the code it typed; output lines are dropped."""
    lines = code.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if not first.startswith(">>>"):
        return code
    kept = [ln[4:] if len(ln) > 3 else "" for ln in lines if ln.startswith((">>> ", "... ", ">>>", "..."))]
    return "\n".join(kept) + "\n"


def _inputs_named(task: Task) -> dict[str, str]:
    return {Path(i.name).name.lower(): Path(i.name).name for i in task.inputs}


def _dropped(task: Task, name: str) -> str:
    """The dropped file a command names (matched by base name), else a clear bad_input."""
    found = _inputs_named(task).get(Path(name).name.lower())
    if found is None:
        have = ", ".join(sorted(_inputs_named(task).values())) or "none"
        raise SpecialistError("bad_input", f"{Path(name).name} was not dropped with the task (dropped files: {have}).")
    return found


def _names_other_input(task: Task, text: str, script: str) -> bool:
    """Whether ``text`` names a dropped file other than ``script`` (say, the data it runs on)."""
    lowered = text.lower()
    return any(name != script.lower() and name in lowered for name in _inputs_named(task))


def _reads_argv(task: Task, script: str) -> bool:
    """Whether a dropped script reads its command line (sys.argv, argparse, getopt, click, typer)."""
    item = next(i for i in task.inputs if Path(i.name).name == script)
    text, _ = read_text(item, max_bytes=MAX_CODE_BYTES)
    return (
        re.search(r"\bsys\.argv\b|\bargparse\b|\bgetopt\b|\bimport (?:click|typer)\b|\bfrom sys import argv\b", text)
        is not None
    )


def _map_paths(task: Task, args: list[str]) -> list[str]:
    """Inputs sit flat in the working folder: ``data/x.csv`` becomes ``x.csv`` when x.csv was dropped."""
    names = _inputs_named(task)
    return [names.get(Path(a).name.lower(), a) if "/" in a else a for a in args]


def _command(task: Task, words: list[str], source: str) -> Run:
    """Build a run from a shell-style command (``python [flags] script.py args``, ``pytest ...``)."""
    if not words:
        raise NeedsPlan("The command is empty; a plan is needed.")
    head = words[0]
    if head.lower() in ("pytest", "py.test"):
        return Run(["-m", "pytest", *_map_paths(task, words[1:])], source, runner="pytest")
    if head.lower().endswith(".py"):
        script = _dropped(task, head)
        return _script_run(task, script, _map_paths(task, words[1:]), source)
    if not _INTERPRETER.match(head):
        raise NeedsPlan(f"{head!r} is not a Python command; a plan is needed.")
    flags: list[str] = []
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        flag = rest.pop(0)
        if flag == "-m":
            if not rest:
                raise SpecialistError("bad_input", "'python -m' needs a module name.")
            module = rest.pop(0)
            runner = module if module in ("unittest", "pytest") else None
            return Run([*flags, "-m", module, *_map_paths(task, rest)], source, runner=runner)
        if flag == "-c":
            if not rest:
                raise SpecialistError("bad_input", "'python -c' needs the code to run.")
            return Run([*flags, "-c", rest[0], *rest[1:]], source, code=None)
        if flag in _PASS_FLAGS or re.fullmatch(r"-[WX].+", flag):
            flags.append(flag)
        elif flag in ("-W", "-X") and rest:
            flags += [flag, rest.pop(0)]
        else:
            raise SpecialistError("bad_input", f"The interpreter option {flag!r} is not supported here.")
    if not rest:
        raise NeedsPlan("'python' without a script starts an interactive session; say what to run.")
    if rest[0] == "-":
        raise SpecialistError(
            "unsupported", "Reading the program from standard input is not supported; paste the code."
        )
    script = _dropped(task, rest[0])
    run = _script_run(task, script, _map_paths(task, rest[1:]), source)
    run.argv = [*flags, *run.argv]
    return run


def _is_command(task: Task, words: list[str]) -> bool:
    """``python -m x``, ``python x.py ...``, ``pytest ...``, ``x.py ...`` - not ``python list comprehension of ...``."""
    head = words[0].lower()
    if head in ("pytest", "py.test"):
        return True
    if head.endswith(".py"):
        return re.fullmatch(r"[\w./-]+\.py", head) is not None
    if not _INTERPRETER.match(head):
        return False
    if len(words) == 1:
        return True
    second = words[1]
    return second.startswith("-") or second.lower().endswith(".py") or second.lower() in _inputs_named(task)


def _script_run(task: Task, script: str, args: list[str], source: str) -> Run:
    """Run a dropped script; one that only defines unittest tests is run through unittest."""
    item = next(i for i in task.inputs if Path(i.name).name == script)
    text, _ = read_text(item, max_bytes=MAX_CODE_BYTES)
    if not args and _test_style(text) == "unittest":
        return Run(
            ["-m", "unittest", "-v", script],
            source,
            script=None,
            runner="unittest",
            notes=[f"{script} only defines unittest tests, so they were run with unittest."],
        )
    return Run([script, *args], source)


def _split_words(text: str) -> list[str] | None:
    try:
        return shlex.split(text)
    except ValueError:
        return None


def _arg_like(tokens: list[str]) -> bool:
    """Whether words after a script name are arguments (flags, numbers, files, a flag's value), not prose."""
    previous = ""
    for token in tokens:
        if not (_ARG_LIKE.match(token) or (previous.startswith("-") and "=" not in previous)):
            return False
        previous = token
    return True


def _prose_command(task: Task, cmd: str) -> Run | None:
    """``stats.py with --n 5``, ``convert.py on input.csv``, ``python x.py 3`` after a verb."""
    cmd = cmd.strip()
    if cmd.startswith("`"):
        words = _split_words(cmd.strip("`").lstrip("$ "))
        return _command(task, words, "command") if words else None
    cmd = _TAIL_PROSE.sub("", cmd.lstrip("$ ")).strip().rstrip("?!").strip()
    if cmd.endswith(".") and not re.search(r"\.\w+\.$", cmd):
        cmd = cmd[:-1].rstrip()
    shell_form = bool(re.match(r"(?:python[\d.]*|py|pytest|py\.test)\b", cmd, re.I))
    if not shell_form:
        if m := (_ON_FILE.match(cmd) or _AS_INPUT.match(cmd)):
            return _command(task, [m["script"], m["file"]], "command")
        if (m := _ARGS_AS.match(cmd)) and (words := _split_words(m["args"])) and _arg_like(words):
            return _command(task, [m["script"], *words], "command")
        if m := _WITH_ARGS.match(cmd):
            words = _split_words(m["args"])
            if words is None or (not m["explicit"] and not _arg_like(m["args"].split())):
                return None
            if [w.lower() for w in words] in (["no", "arguments"], ["no", "args"]):
                words = []
            return _command(task, [m["script"], *words], "command")
    raw_tokens = re.findall(r"\"[^\"]*\"|'[^']*'|\S+", cmd)
    if not shell_form and not _arg_like(raw_tokens[1:]):
        return None
    words = _split_words(cmd)
    return _command(task, words, "command") if words else None


def _tests_run(task: Task, files: str | None, runner: str | None) -> Run:
    """``run the unit tests in tests.py``: unittest (or pytest) over the named or dropped test files."""
    if files:
        names = [_dropped(task, f) for f in re.split(r"\s*(?:,|\band\b)\s*", files) if f]
    else:
        names = sorted(n for n in _inputs_named(task).values() if re.match(r"(?:test.*|.*_test|tests)\.py$", n, re.I))
        if not names:
            raise NeedsPlan("No test files (test_*.py, *_test.py, tests.py) were dropped; a plan is needed.")
    if runner is None:  # pytest-style files (bare test functions) cannot be run by unittest
        styles = {
            _test_style(read_text(i, max_bytes=MAX_CODE_BYTES)[0]) for i in task.inputs if Path(i.name).name in names
        }
        runner = "pytest" if styles == {"pytest"} else "unittest"
    runner = "pytest" if runner.lower() in ("pytest", "py.test") else "unittest"
    if runner == "pytest":
        return Run(["-m", "pytest", "-q", *names], "command", runner="pytest")
    return Run(["-m", "unittest", "-v", *names], "command", runner="unittest")


def _lead_in_code(text: str) -> str | None:
    """Code after a prose lead-in: ``run this and tell me what it prints: <code>``."""
    for sep in re.finditer(r"[:?](?=\s)|[:?]$|\n", text):
        prefix, rest = text[: sep.start()], text[sep.end() :]
        if not prefix.strip() or not re.fullmatch(r"[\w\s',.!?-]+", prefix) or not _LEAD_IN_WORDS.search(prefix):
            continue
        code = textwrap.dedent(rest.lstrip(" \t").lstrip("\n") if "\n" in rest else rest.strip()).strip("\n")
        trimmed = _TAIL_PROSE.sub("", code).strip()
        for candidate in (code, trimmed):
            if _looks_like_program(candidate) and _does_something(candidate):
                return candidate + "\n"
        break
    asked = _OUTPUT_OF.match(text.strip())
    code = (asked["code"] or asked["code2"]) if asked else None
    if code and _looks_like_program(code) and _does_something(code):
        return code + "\n"
    return None


def _code_run(task: Task, code: str, source: str) -> Run:
    """Inline code; written to main.py (or another free name), run as a script or as tests."""
    names = _inputs_named(task)
    script = "main.py" if "main.py" not in names else "snippet_main.py"
    style = _test_style(code) if _MENTIONS_TESTS.search(task.text) else None
    if style == "unittest":
        return Run(["-m", "unittest", "-v", script[:-3]], source, code=code, script=script, runner="unittest")
    if style == "pytest":
        return Run(["-m", "pytest", "-q", script], source, code=code, script=script, runner="pytest")
    return Run([script], source, code=code, script=script)


def plan_run(task: Task) -> Run:
    """Decide what to run for ``task`` or raise NeedsPlan/BadPlan/bad_input."""
    if task.plan is not None:
        code = task.plan.get("code") if isinstance(task.plan, dict) else None
        if not isinstance(code, str) or not code.strip():
            raise BadPlan("The plan needs a non-empty 'code' string.")
        return _code_run(task, code, "plan")
    text = task.text.strip()
    words = _split_words(text.lstrip("$ ")) if "\n" not in text else None
    if words and _is_command(task, words) and not (_looks_like_program(text) and _does_something(text)):
        return _command(task, words, "command")
    if _looks_like_program(text):
        return _code_run(task, text, "task text")
    fence = _FENCE.search(text)
    if fence:
        tag, code = fence["tag"].lower(), fence["code"]
        lines = [ln.strip().lstrip("$ ").strip() for ln in code.splitlines() if ln.strip()]
        if tag in _SHELL_TAGS or (tag in _PY_TAGS and len(lines) == 1 and not _looks_like_program(code)):
            words = _split_words(lines[0]) if len(lines) == 1 else None
            if words and (
                _INTERPRETER.match(words[0]) or words[0].lower() in ("pytest", "py.test") or words[0].endswith(".py")
            ):
                return _command(task, words, "command")
            if tag in _SHELL_TAGS and tag != "text":
                raise NeedsPlan(f"The fenced block is a {tag} script, not Python; a plan is needed.")
        if tag not in _PY_TAGS and tag != "text":
            raise NeedsPlan(f"The fenced block is tagged {tag!r}, not Python; a plan is needed.")
        return _code_run(task, _strip_prompts(code), "fenced block")
    request = _TAIL_PROSE.sub("", text).rstrip("?.! ")
    if m := (_TESTS_PHRASE.match(request) or _RUNNER_PHRASE.match(request)):
        return _tests_run(task, m["files"], m["runner"])
    if m := _COMMAND_IN_PROSE.search(text):
        run = _prose_command(task, m["cmd"])
        if run is not None:
            return run
    one_line = _ONE_LINE_FENCE.search(text)
    if one_line and _looks_like_program(one_line["code"]):
        return _code_run(task, one_line["code"] + "\n", "inline code")
    code = _lead_in_code(text)
    if code is not None:
        return _code_run(task, code, "inline code")
    scripts = [n for n in _inputs_named(task).values() if n.lower().endswith(".py")]
    if len(scripts) == 1:
        if _reads_argv(task, scripts[0]) and (
            _MENTIONS_ARGS.search(text) or _names_other_input(task, text, scripts[0])
        ):
            # arguments or data files are named in prose we could not parse: the program writer
            # passes them; running the script bare would print its usage, not the answer
            raise NeedsPlan(f"{scripts[0]} takes arguments that the task names in prose; a plan is needed.")
        run = _script_run(task, scripts[0], [], scripts[0])
        run.guessed = run.runner is None
        return run
    if len(scripts) > 1:
        raise NeedsPlan(
            f"Several scripts were dropped ({', '.join(sorted(scripts))}) and the task does not say which to run."
        )
    raise NeedsPlan("The task is not Python code; a plan with the code to run is needed.")


def extract_code(task: Task) -> tuple[str, str]:
    """Return ``(code, source)`` for the task: the inline code, or the text of the script it runs."""
    run = plan_run(task)
    if run.code is not None:
        return run.code, run.source
    if "-c" in run.argv:
        return run.argv[run.argv.index("-c") + 1], run.source
    script = next((a for a in run.argv if a.lower().endswith(".py")), None)
    if script is None:
        raise NeedsPlan("The task runs a module, not code.")
    item = next(i for i in task.inputs if Path(i.name).name == script)
    return read_text(item, max_bytes=MAX_CODE_BYTES)[0], script


def _module_available(name: str) -> bool:
    """Whether the sandbox interpreter can import ``name`` (asked in a child, with its flags)."""
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    try:
        done = subprocess.run(
            python_command(["-c", probe]),
            capture_output=True,
            timeout=20,
            check=False,  # noqa: S603
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def _test_summary(runner: str | None, stdout: str, stderr: str) -> tuple[str, dict[str, object], Table | None] | None:
    """Passed/failed counts and per-test outcomes from unittest or pytest output, if it is there."""
    ran = _UNITTEST_RAN.search(stderr)
    if ran:
        counts = dict(re.findall(r"(\w+)=(\d+)", ran["detail"] or ""))
        total = int(ran["n"])
        failures, errors = int(counts.get("failures", 0)), int(counts.get("errors", 0))
        skipped = int(counts.get("skipped", 0))
        xfail = int(counts.get("expected failures", counts.get("expected_failures", 0)))
        xpass = int(counts.get("unexpected successes", counts.get("unexpected_successes", 0)))
        passed = total - failures - errors - skipped - xfail - xpass
        problems = [f"{m['kind']} {m['name']}: {_last_line(m['body'])}" for m in _UNITTEST_PROBLEM.finditer(stderr)]
        rows = [[f"{m['where']}", m["outcome"].split(" ")[0].lower()] for m in _UNITTEST_VERBOSE.finditer(stderr)]
        if total == 0:
            answer = "No tests ran: unittest found no TestCase tests."
        else:
            answer = f"Ran {total} test{'s' if total != 1 else ''}: {passed} passed"
            answer += f", {failures} failed" if failures else ""
            answer += f", {errors} errors" if errors else ""
            answer += f", {skipped} skipped" if skipped else ""
            answer += f" - {ran['status']}" + "".join(f"\n{p}" for p in problems)
        data: dict[str, object] = {
            "tests_run": total,
            "passed": passed,
            "failed": failures,
            "errors": errors,
            "skipped": skipped,
            "failed_tests": problems,
            "runner": "unittest",
        }
        return answer, data, Table("tests", ["test", "outcome"], rows) if rows else None
    if runner == "pytest":
        found = _PYTEST_SUMMARY.findall(stdout)
        if found:
            counts = {k: int(v) for v, k in re.findall(r"(\d+) (\w+)", found[-1])}
            answer = "pytest: " + found[-1].strip()
            return (
                answer,
                {"runner": "pytest", **counts, "passed": counts.get("passed", 0), "failed": counts.get("failed", 0)},
                None,
            )
    return None


_USAGE = re.compile(r"^usage:|the following arguments are required|missing (?:required )?argument", re.I | re.M)


def _usage_line(outcome: RunOutcome) -> str | None:
    """The usage line of a non-zero exit that printed one (argparse, or a script's own ``usage:``)."""
    if outcome.exit_code in (0, None) or outcome.signal is not None:
        return None
    both = (outcome.stdout + b"\n" + outcome.stderr).decode("utf-8", "replace")
    return next((ln.strip()[:200] for ln in both.splitlines() if _USAGE.search(ln)), None)


def _limits(task: Task) -> Limits:
    """CPU seconds below the wall limit, so a busy loop is reported as a CPU limit hit."""
    wall = max(1.0, min(task.timeout_s - 2.0, 120.0))
    return Limits(cpu_s=max(1, int(min(wall * 0.75, 60.0))), wall_s=wall)


def _classify(outcome: RunOutcome, limits: Limits) -> SpecialistError | None:
    """Turn a limit hit into an error that names the limit; None for a normal run."""
    err = outcome.stderr.decode("utf-8", "replace")
    if "BlockingIOError" in err or "Resource temporarily unavailable" in err:
        return SpecialistError("limit", "The code hit the process limit (too many processes or threads; fork bomb?).")
    if outcome.signal == signal.SIGXCPU or (
        outcome.signal == signal.SIGKILL and not outcome.timed_out and "CPU" in err
    ):
        return SpecialistError("limit", f"The code used more than the CPU time limit of {limits.cpu_s} s.")
    if outcome.signal == signal.SIGXFSZ or "File too large" in err:
        return SpecialistError(
            "limit", f"The code wrote a file (or output) larger than the {limits.file_mb} MB file-size limit."
        )
    if "MemoryError" in err or "Cannot allocate memory" in err:
        return SpecialistError("limit", f"The code exceeded the memory limit of {limits.memory_mb} MB.")
    if outcome.signal == signal.SIGKILL and not outcome.timed_out:
        return SpecialistError("limit", "The code was killed, most likely by the container's memory limit.")
    if "No space left on device" in err:
        return SpecialistError("limit", "The code filled the sandbox's temporary disk space.")
    if outcome.timed_out:
        return SpecialistError("timeout", f"The code ran longer than the wall-clock limit of {limits.wall_s:g} s.")
    if "docker.sock" in err and ("FileNotFoundError" in err or "PermissionError" in err):
        return SpecialistError("forbidden", "The Docker socket is not available inside the sandbox.")
    if re.search(
        r"Network is unreachable|gaierror|Temporary failure in name resolution|"
        r"Name or service not known|No route to host",
        err,
    ):
        return SpecialistError("forbidden", "Network access is disabled in the code-execution sandbox.")
    if "Too many open files" in err:
        return SpecialistError("limit", f"The code exceeded the open-files limit of {limits.open_files}.")
    return None


def _disk_full(cwd: Path, outcome: RunOutcome) -> SpecialistError | None:
    """A ``limit`` error when a failed run left the sandbox's /tmp (a size-capped tmpfs) full.

    The run's own stderr lives on that tmpfs too, so a full disk can leave no traceback at
    all (exit code 120: Python could not flush its output); free space is what tells.
    """
    if outcome.exit_code == 0 and outcome.signal is None:
        return None
    try:
        fs = os.statvfs(cwd)
    except OSError:
        return None
    free, size = fs.f_bavail * fs.f_frsize, fs.f_blocks * fs.f_frsize
    if free > 1024 * 1024:
        return None
    return SpecialistError(
        "limit",
        f"The code filled the sandbox's temporary disk space (/tmp, {size // (1024 * 1024)} MB "
        "tmpfs limit): write less, or smaller files.",
    )


def _collect(cwd: Path, skip: set[str], output_dir: Path) -> list[Path]:
    """Copy regular files the code wrote in its folder into ``output_dir`` (size-capped)."""
    copied: list[Path] = []
    total = 0
    for dirpath, _dirs, files in os.walk(cwd):
        for name in sorted(files):
            src = Path(dirpath) / name
            rel = src.relative_to(cwd)
            if str(rel) in skip or src.is_symlink() or not src.is_file():
                continue
            size = src.stat().st_size
            if size > MAX_ARTIFACT_BYTES or total + size > MAX_ARTIFACTS_TOTAL:
                continue
            dest = output_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            total += size
            copied.append(dest)
    return copied


def handle(task: Task) -> Result:
    """Run the task's Python and report stdout, stderr, exit code, test results and written files."""
    run = plan_run(task)
    if run.code is not None and len(run.code.encode("utf-8")) > MAX_CODE_BYTES:
        raise SpecialistError("limit", f"The code is larger than {MAX_CODE_BYTES // 1024} KB.")
    if run.runner == "pytest" and not _module_available("pytest"):
        raise SpecialistError(
            "unsupported",
            "pytest is not installed in the code-execution sandbox (only the standard library and numpy "
            "are); write the tests as unittest.TestCase classes and ask to run them with unittest, e.g. "
            "'python -m unittest test_x.py'.",
        )
    limits = _limits(task)
    run_root = Path(tempfile.mkdtemp(prefix="run-", dir="/tmp"))
    try:
        cwd, logs = run_root / "work", run_root / "logs"
        cwd.mkdir()
        logs.mkdir()
        skip: set[str] = set()
        for item in task.inputs:
            path = check_input(item)
            shutil.copyfile(path, cwd / Path(item.name).name)
            skip.add(Path(item.name).name)
        if run.code is not None and run.script:
            (cwd / run.script).write_text(run.code, encoding="utf-8")
            skip.add(run.script)
        cap = max(1024, task.max_output_bytes // 4)
        outcome = run_python(run.argv, cwd, logs, limits, cap)
        problem = _disk_full(cwd, outcome) or _classify(outcome, limits)
        if problem is not None:
            raise problem
        usage = _usage_line(outcome) if run.guessed else None
        if usage is not None:
            # the script wants arguments the task gives only in prose: the program writer sees
            # its usage line and passes them (or imports the script and uses its functions)
            raise NeedsPlan(f"{run.argv[0]} run without arguments printed its usage ({usage}); a plan is needed.")
        task.output_dir.mkdir(parents=True, exist_ok=True)
        artifacts = _collect(cwd, skip, task.output_dir)
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
    stdout = outcome.stdout.decode("utf-8", "replace")
    stderr = outcome.stderr.decode("utf-8", "replace")
    code_no = outcome.exit_code
    data: dict[str, object] = {
        "exit_code": code_no,
        "wall_ms": round(outcome.wall_ms, 1),
        "source": run.source,
        "files": [p.name for p in artifacts],
        "argv": ["python", *run.argv],
    }
    tables: list[Table] = []
    summary = _test_summary(run.runner, stdout, stderr)
    if summary is not None:
        answer, test_data, table = summary
        data["tests"] = test_data
        tables = [table] if table is not None else []
        if stdout.strip() and run.runner != "pytest":
            answer += "\n" + stdout.strip()
    elif code_no == 0:
        answer = stdout.strip() or "(the code ran without printing anything)"
    else:
        said = stderr.strip() or stdout.strip()  # a script may print its complaint to stdout
        last = said.splitlines()[-1] if said else "no message"
        answer = f"exit code {code_no}: {last}"
    if run.notes:
        data["notes"] = run.notes
    shown = run.code if run.code is not None else shlex.join(["python", *run.argv])
    return Result(
        answer=answer,
        data=data,
        tables=tables,
        artifacts=artifacts,
        operation_kind="python",
        operation_text=shown if len(shown) < 2000 else shown[:2000] + "\n...",
        stdout=stdout,
        stderr=stderr,
    )
