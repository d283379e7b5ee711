"""A strict reader of the Prometheus text format 0.0.4, written from the format's grammar.

Independent of ``app.engine.metrics.exposition`` (it shares no code with the writer), so the
writer's tests check the text against the grammar, not against itself. The integration test
imports :func:`parse_exposition` from here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pytest

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^(?P<name>{_NAME})(?:\{{(?P<labels>.*)\}})? (?P<value>\S+)(?: (?P<ts>-?\d+))?$")
_LABEL = re.compile(r'\s*(?P<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<v>(?:[^"\\\n]|\\[\\"n])*)"\s*(?:,|$)')
_COMMENT = re.compile(rf"^# (?P<what>HELP|TYPE) (?P<name>{_NAME}) ?(?P<rest>.*)$")
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}

Labels = frozenset[tuple[str, str]]


@dataclass
class Exposition:
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def matching(self, name: str, **labels: str) -> dict[Labels, float]:
        want = set(labels.items())
        return {lab: v for (n, lab), v in self.samples.items() if n == name and want <= set(lab)}


def _unescape(value: str, escapes: dict[str, str]) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            nxt = value[i + 1]
            if nxt not in escapes:
                raise ValueError(f"bad escape \\{nxt}")
            out.append(escapes[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _float(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}[text]
    if not re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", text):
        raise ValueError(f"bad value {text!r}")
    return float(text)


def _family_of(name: str, types: dict[str, str]) -> str:
    for family, kind in types.items():
        for suffix in _SUFFIXES.get(kind, ("",)):
            if name == family + suffix:
                return family
    raise ValueError(f"sample {name} has no TYPE line before it")


def parse_exposition(text: str) -> Exposition:
    """Parse ``text`` or raise ``ValueError`` naming the first line that breaks the grammar."""
    result = Exposition()
    assert text.endswith("\n"), "the exposition must end with a newline"
    seen_samples: set[str] = set()
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            if not line:
                continue
            comment = _COMMENT.match(line)
            if comment:
                name, what, rest = comment["name"], comment["what"], comment["rest"]
                if what == "TYPE":
                    if name in result.types or name in seen_samples:
                        raise ValueError(f"TYPE for {name} repeated or after its samples")
                    if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                        raise ValueError(f"unknown type {rest}")
                    result.types[name] = rest
                else:
                    result.helps[name] = _unescape(rest, {"\\": "\\", "n": "\n"})
                continue
            if line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if not match:
                raise ValueError("not a sample line")
            labels: list[tuple[str, str]] = []
            body = match["labels"] or ""
            pos = 0
            while pos < len(body):
                lab = _LABEL.match(body, pos)
                if not lab or lab.end() == pos:
                    raise ValueError(f"bad labels at {body[pos:]!r}")
                labels.append((lab["k"], _unescape(lab["v"], {"\\": "\\", '"': '"', "n": "\n"})))
                pos = lab.end()
            if len({k for k, _ in labels}) != len(labels):
                raise ValueError("repeated label name")
            family = _family_of(match["name"], result.types)
            seen_samples.add(family)
            key = (match["name"], frozenset(labels))
            if key in result.samples:
                raise ValueError("duplicate sample")
            result.samples[key] = _float(match["value"])
        except (ValueError, IndexError) as exc:
            raise ValueError(f"line {number}: {line!r}: {exc}") from exc
    return result


def test_reader_accepts_a_hand_written_exposition() -> None:
    text = (
        "# HELP x_total Things, with a \\\\ and a\\nnewline.\n"
        "# TYPE x_total counter\n"
        'x_total{a="q\\"uote",b="back\\\\slash\\nnl"} 3\n'
        "# TYPE h histogram\n"
        'h_bucket{le="+Inf"} 2\n'
        "h_sum 0.5\n"
        "h_count 2\n"
    )
    parsed = parse_exposition(text)
    assert parsed.value("x_total", a='q"uote', b="back\\slash\nnl") == 3
    assert parsed.helps["x_total"] == "Things, with a \\ and a\nnewline."
    assert parsed.value("h_bucket", le="+Inf") == 2


@pytest.mark.parametrize(
    "bad",
    [
        "x 1\n",  # no TYPE
        '# TYPE x gauge\nx{a="unclosed} 1\n',
        '# TYPE x gauge\nx{a="raw"quote"} 1\n',
        "# TYPE x gauge\nx one\n",
        "# TYPE x gauge\nx 1\nx 2\n",
        '# TYPE x gauge\nx{a="\\t"} 1\n',
    ],
)
def test_reader_rejects_broken_text(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_exposition(bad)
