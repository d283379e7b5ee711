"""Each specialist's example bank: (task, inputs' shape, program, verified answer).

Seeded from ``specialists/<id>/examples.jsonl`` (written with the specialist, never from a
hold-out suite) and grown from programs whose answers the user marked correct, kept in
``<data_dir>/examples/<id>.jsonl`` (append-only, one JSON object a line). Retrieval picks the
few most similar tasks by cosine similarity of character 3-gram counts: cheap, no model, and
good enough with tens of examples. Thread-safe.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Example", "ExampleBank"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One worked example."""

    task: str
    program: str
    inputs: str = ""  # a short description of the inputs' shape
    answer: str = ""
    source: str = "seed"  # seed | feedback
    ts: float = 0.0


def _grams(text: str) -> Counter[str]:
    t = " " + " ".join(text.lower().split()) + " "
    return Counter(t[i : i + 3] for i in range(max(0, len(t) - 2)))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


class ExampleBank:
    """Seed examples plus the ones learned from feedback, per specialist."""

    def __init__(self, data_dir: Path, specialists_dir: Path) -> None:
        self.folder = data_dir / "examples"
        self.specialists_dir = specialists_dir
        self._lock = threading.Lock()
        self._cache: dict[str, list[Example]] = {}

    def _load(self, specialist: str) -> list[Example]:
        if specialist in self._cache:
            return self._cache[specialist]
        found: list[Example] = []
        for path, source in (
            (self.specialists_dir / specialist / "examples.jsonl", "seed"),
            (self.folder / f"{specialist}.jsonl", "feedback"),
        ):
            if not path.is_file():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                    found.append(
                        Example(
                            task=str(doc["task"]),
                            program=str(doc["program"]),
                            inputs=str(doc.get("inputs", "")),
                            answer=str(doc.get("answer", "")),
                            source=str(doc.get("source", source)),
                            ts=float(doc.get("ts", 0.0)),
                        )
                    )
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("%s line %d skipped: %s", path, n, exc)
        self._cache[specialist] = found
        return found

    def all(self, specialist: str) -> list[Example]:
        """Every example of ``specialist``, seeds first."""
        with self._lock:
            return list(self._load(specialist))

    def counts(self, specialist: str) -> dict[str, int]:
        """How many examples come from seeds and from feedback."""
        examples = self.all(specialist)
        return {
            "seed": sum(e.source == "seed" for e in examples),
            "feedback": sum(e.source != "seed" for e in examples),
        }

    def similar(self, specialist: str, text: str, k: int = 3, skip: int = 0) -> list[Example]:
        """The ``k`` most similar examples; ``skip`` moves down the ranking (another set)."""
        query = _grams(text)
        ranked = sorted(self.all(specialist), key=lambda e: _cosine(query, _grams(e.task)), reverse=True)
        return ranked[skip : skip + k]

    def add(self, specialist: str, example: Example) -> None:
        """Append a verified example (from the user's feedback) to the bank on disk."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            record = {**asdict(example), "source": "feedback", "ts": example.ts or time.time()}
            with open(self.folder / f"{specialist}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._cache.pop(specialist, None)
