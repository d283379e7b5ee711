"""The specialist's model writes a short program for a natural-language task.

The prompt holds the specialist's guide and libraries (from its manifest's ``[program]``), the
inputs' names with their columns and first rows, and the most similar worked examples from
its :class:`~app.engine.llm.examples.ExampleBank`. Each attempt is constructed differently:
attempt 1 greedy with the best examples, attempt 2 with the previous error and another
example set, attempt 3 sampled at a higher temperature. The reply's program is the first
fenced code block (or the whole reply when there is none).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence

from app.engine.core.errors import TaskFailed
from app.engine.core.specs import SpecialistSpec
from app.engine.llm.chat import ChatService
from app.engine.llm.examples import ExampleBank

__all__ = ["ProgramWriter", "extract_program"]

_FENCE = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.S)

SYSTEM = """You are the {title} specialist. Write ONE short, complete Python 3.11 program that answers the user's task.
Rules:
- Available libraries: {libraries}, and the standard library. There is no network; do not install anything.
- Input files are in the current folder under the names listed; read them from there. Never invent data or file names.
- Compute the answer from the data; never hard-code a result you did not compute.
- Print the final answer clearly at the end (a number with its meaning, or a small table with to_string()).
- Save charts or generated files into the current folder (charts as .png with matplotlib's Agg backend).
- When the task asks for a list or table of several rows (e.g. 'for each', 'per', 'list'), print it and also save exactly those rows with .to_csv('result.csv', index=False). When it asks for a single thing, print only that thing, with the value last on the final line.
{guide}
Reply with the program only, in one ```python block."""


def extract_program(reply: str) -> str:
    """The first fenced Python block of ``reply``, or the reply itself when it has no fence."""
    match = _FENCE.search(reply)
    code = match.group(1) if match else reply
    return code.strip("\n") + "\n"


class ProgramWriter:
    """Writes programs with the planning model; one generation at a time on a small machine."""

    def __init__(self, service: ChatService, model: str, bank: ExampleBank) -> None:
        self.service = service
        self.model = model
        self.bank = bank
        self._gate = threading.Lock()

    def messages(
        self, spec: SpecialistSpec, text: str, inputs: Sequence[tuple[str, str]], attempt: int, feedback: str
    ) -> list[dict[str, str]]:
        """The chat for one attempt (kept separate so tests can read the prompt)."""
        assert spec.program is not None
        system = SYSTEM.format(title=spec.title, libraries=", ".join(spec.program.libraries), guide=spec.program.guide)
        msgs = [{"role": "system", "content": system}]
        for ex in self.bank.similar(spec.id, text, k=3, skip=3 if attempt == 2 else 0):
            user = ex.task + (f"\n\nInput files:\n{ex.inputs}" if ex.inputs else "")
            msgs.append({"role": "user", "content": user})
            msgs.append({"role": "assistant", "content": f"```python\n{ex.program.strip()}\n```"})
        user = text.strip()
        if inputs:
            user += "\n\nInput files (in the current folder):\n" + "\n".join(
                f"--- {name}\n{preview}" for name, preview in inputs
            )
        if feedback:
            user += f"\n\nA previous program for this task failed: {feedback[:600]}\nWrite a corrected program."
        msgs.append({"role": "user", "content": user})
        return msgs

    def write(
        self, spec: SpecialistSpec, text: str, inputs: Sequence[tuple[str, str]], *, attempt: int = 1,
        feedback: str = "", timeout_s: float = 120.0,
    ) -> str:
        """A program for ``text``; ``TaskFailed(kind="timeout")`` when the model is busy too long."""
        if spec.program is None:
            raise TaskFailed(f"{spec.id} has no program writer; give the exact operation", kind="unsupported")
        options = {"temperature": 0.0 if attempt < 3 else 0.6, "num_predict": spec.program.max_tokens, "seed": attempt}
        deadline = time.monotonic() + timeout_s
        if not self._gate.acquire(timeout=max(0.1, timeout_s)):
            raise TaskFailed(f"the model was busy with other tasks for {timeout_s:g} s", kind="timeout")
        try:
            remaining = max(1.0, deadline - time.monotonic())
            reply = self.service.chat(self.model, self.messages(spec, text, inputs, attempt, feedback),
                                      options=options, timeout_s=remaining)
        finally:
            self._gate.release()
        code = extract_program(reply)
        if not code.strip():
            raise TaskFailed("the model wrote no program", kind="bad_plan")
        return code
