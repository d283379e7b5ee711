"""Prometheus text exposition format 0.0.4, written by hand (no client library needed).

The format is line based: ``# HELP``/``# TYPE`` per family, then one sample per line,
``name{label="value",...} value``. Label values escape backslash, double quote and newline;
HELP text escapes backslash and newline. Histograms are written as cumulative ``_bucket``
samples with ``le`` (ending in ``+Inf``), then ``_sum`` and ``_count``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CONTENT_TYPE",
    "MetricFamily",
    "Sample",
    "check_label_name",
    "check_metric_name",
    "escape_help",
    "escape_label_value",
    "format_value",
    "render",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
KINDS = ("counter", "gauge", "histogram", "untyped")


@dataclass(frozen=True)
class Sample:
    """One line: ``suffix`` is appended to the family name (``_bucket``, ``_sum``...)."""

    suffix: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True)
class MetricFamily:
    """A named metric with its type, help text and samples, ready to write."""

    name: str
    kind: str
    help: str
    samples: Sequence[Sample] = field(default_factory=tuple)


def check_metric_name(name: str) -> str:
    """Return ``name`` or raise ``ValueError``: a bad name would make the whole scrape fail."""
    if not _METRIC_NAME.match(name):
        raise ValueError(f"invalid metric name {name!r}")
    return name


def check_label_name(name: str) -> str:
    """Return ``name`` or raise ``ValueError`` (``__`` prefixes are reserved by Prometheus)."""
    if not _LABEL_NAME.match(name) or name.startswith("__"):
        raise ValueError(f"invalid label name {name!r}")
    return name


def escape_label_value(value: str) -> str:
    r"""Escape ``\``, ``"`` and newline, the three characters a label value may not hold raw."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    r"""Escape ``\`` and newline in HELP text (quotes are allowed there)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus parses it: ``+Inf``, ``-Inf``, ``NaN`` or a Go float.

    Whole numbers are written without a fraction (``3``), others with Python's shortest
    round-trip form (``0.005``, ``1e-07``), which Go's ``ParseFloat`` reads back exactly.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs)
    return "{" + body + "}" if body else ""


def render(families: Iterable[MetricFamily]) -> str:
    """The whole exposition text; families without samples still get their HELP/TYPE lines."""
    out: list[str] = []
    for family in families:
        if family.kind not in KINDS:
            raise ValueError(f"unknown metric type {family.kind!r} for {family.name}")
        out.append(f"# HELP {family.name} {escape_help(family.help)}")
        out.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            out.append(f"{family.name}{sample.suffix}{_labels(sample.labels)} {format_value(sample.value)}")
    return "\n".join(out) + "\n" if out else ""
