"""PNG charts with matplotlib's Agg backend (no display, imported only when a chart is asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["histogram", "line_chart"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def line_chart(df: Any, x: str, y: str, chart: str, out_dir: Path) -> tuple[Path, str, Any]:
    """Plot ``y`` against ``x``; repeated x values are summed so the chart has one point each.

    Returns the PNG path, the pandas operation text and the plotted (x, y) frame.
    """
    plt = _pyplot()
    series = df.groupby(x, sort=True)[y].sum().reset_index()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    labels = series[x].astype(str)
    if chart == "bar":
        ax.bar(labels, series[y])
    elif chart == "scatter":
        ax.scatter(df[x], df[y])
    else:
        ax.plot(labels, series[y], marker="o")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} by {x}")
    if len(series) > 8:
        fig.autofmt_xdate()
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "chart.png"
    fig.savefig(path)
    plt.close(fig)
    return path, f"df.groupby({x!r})[{y!r}].sum().plot(kind={chart!r})", series


def histogram(df: Any, col: str, out_dir: Path) -> tuple[Path, str]:
    """Histogram of one numeric column with automatic bins."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.hist(df[col].dropna(), bins="auto")
    ax.set_xlabel(col)
    ax.set_ylabel("count")
    ax.set_title(f"Distribution of {col}")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "histogram.png"
    fig.savefig(path)
    plt.close(fig)
    return path, f"df[{col!r}].plot(kind='hist')"
