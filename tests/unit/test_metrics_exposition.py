"""The text format writer and the instruments: escaping, histogram layout, values."""

from __future__ import annotations

import math

import pytest

from app.engine.metrics.exposition import (
    MetricFamily,
    Sample,
    escape_help,
    escape_label_value,
    format_value,
    render,
)
from app.engine.metrics.instruments import DURATION_BUCKETS, Counter, Gauge, Histogram
from tests.unit.test_metrics_textparse import parse_exposition


def test_label_values_escape_backslash_quote_and_newline() -> None:
    assert escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape_help('say "hi"\\\nbye') == 'say "hi"\\\\\\nbye'


def test_nasty_label_values_round_trip_through_a_strict_reader() -> None:
    nasty = 'C:\\temp\\"quoted"\nline two \u00e9 {},= '
    counter = Counter("sb_test_total", "Help with \\ and\nnewline.", ("who",))
    counter.inc((nasty,), 2)
    text = render([counter.collect()])
    assert "\nline two" not in text  # the raw newline never reaches the output
    parsed = parse_exposition(text)
    assert parsed.value("sb_test_total", who=nasty) == 2
    assert parsed.helps["sb_test_total"] == "Help with \\ and\nnewline."
    assert parsed.types["sb_test_total"] == "counter"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (0.005, "0.005"),
        (-2.5, "-2.5"),
        (1e-7, "1e-07"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_values_are_written_as_prometheus_reads_them(value: float, text: str) -> None:
    assert format_value(value) == text


def test_histogram_buckets_are_cumulative_and_end_with_inf_sum_count() -> None:
    hist = Histogram("sb_duration_seconds", "Durations.", ("specialist",))
    for seconds in (0.001, 0.005, 0.3, 0.3, 7.0, 500.0):
        hist.observe(("numerical",), seconds)
    text = render([hist.collect()])
    lines = [ln for ln in text.splitlines() if ln.startswith("sb_duration_seconds_bucket")]
    les = [ln.split('le="')[1].split('"')[0] for ln in lines]
    assert les == [format_value(b) for b in DURATION_BUCKETS] + ["+Inf"]
    assert DURATION_BUCKETS[0] == 0.005 and DURATION_BUCKETS[-1] == 120
    parsed = parse_exposition(text)
    counts = [parsed.value("sb_duration_seconds_bucket", specialist="numerical", le=le) for le in les]
    assert counts == sorted(counts), "buckets must be cumulative"
    assert parsed.value("sb_duration_seconds_bucket", specialist="numerical", le="0.005") == 2  # le is inclusive
    assert parsed.value("sb_duration_seconds_bucket", specialist="numerical", le="0.25") == 2
    assert parsed.value("sb_duration_seconds_bucket", specialist="numerical", le="0.5") == 4
    assert parsed.value("sb_duration_seconds_bucket", specialist="numerical", le="120") == 5
    assert parsed.value("sb_duration_seconds_bucket", specialist="numerical", le="+Inf") == 6
    assert parsed.value("sb_duration_seconds_count", specialist="numerical") == 6
    assert parsed.value("sb_duration_seconds_sum", specialist="numerical") == pytest.approx(507.606)
    # _bucket lines, then _sum, then _count, per series
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert body[-2].startswith("sb_duration_seconds_sum") and body[-1].startswith("sb_duration_seconds_count")


def test_every_family_gets_help_and_type_even_without_samples() -> None:
    text = render(
        [
            MetricFamily("sb_empty", "gauge", "Nothing yet."),
            MetricFamily("sb_one", "gauge", "One.", [Sample("", (), 1)]),
        ]
    )
    assert (
        text
        == "# HELP sb_empty Nothing yet.\n# TYPE sb_empty gauge\n# HELP sb_one One.\n# TYPE sb_one gauge\nsb_one 1\n"
    )


def test_unlabelled_metrics_read_zero_before_any_update() -> None:
    parsed = parse_exposition(render([Gauge("sb_pending", "P.").collect(), Counter("sb_n_total", "N.").collect()]))
    assert parsed.value("sb_pending") == 0 and parsed.value("sb_n_total") == 0


def test_bad_names_labels_and_updates_are_refused() -> None:
    with pytest.raises(ValueError):
        Counter("sb-bad-name", "x")
    with pytest.raises(ValueError):
        Gauge("sb_ok", "x", ("__reserved",))
    with pytest.raises(ValueError):
        Histogram("sb_h", "x", ("le",))
    counter = Counter("sb_c_total", "x", ("a",))
    with pytest.raises(ValueError):
        counter.inc(("x",), -1)
    with pytest.raises(ValueError):
        counter.inc(("x", "y"))


def test_series_cap_folds_new_label_sets_into_other() -> None:
    counter = Counter("sb_reasons_total", "x", ("reason",), max_series=3)
    for reason in ("a", "b", "c", "d", "e", "a"):
        counter.inc((reason,))
    assert counter.value(("a",)) == 2
    assert counter.value(("other",)) == 2
    assert len(counter.collect().samples) == 4


def test_gauge_series_can_be_removed() -> None:
    gauge = Gauge("sb_mem_bytes", "x", ("container", "specialist"))
    gauge.set(("c1", "numerical"), 5)
    gauge.set(("c2", "numerical"), 7)
    assert gauge.remove_where(lambda labels: labels["container"] != "c1") == 1
    assert gauge.value(("c1", "numerical")) is None
    assert gauge.value(("c2", "numerical")) == 7
