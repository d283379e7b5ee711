"""Run plan steps (parsed commands or an Ollama plan) on pandas frames.

One engine serves both paths so a planned step behaves exactly like the typed command. A
mistake in a typed command is the user's (``bad_input``); the same mistake in a plan is the
planner's (``bad_plan``, which the engine retries once), so every check goes through
:meth:`Engine.fail`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from da_commands import AGGS, OPERATORS, OPS
from da_io import load_table, sheet_names
from switchboard_runtime.api import BadPlan, Result, SpecialistError, Table

__all__ = ["MAX_TABLE_ROWS", "Engine"]

MAX_TABLE_ROWS = 1000
_FRAME_OPS = {
    "head",
    "filter",
    "select",
    "sort",
    "top",
    "bottom",
    "group",
    "pivot",
    "join",
    "outliers",
    "value_counts",
    "describe",
    "columns",
    "correlation",
    "sheets",
}


def frame_table(name: str, df: Any, limit: int = MAX_TABLE_ROWS) -> Table:
    """Convert a frame to a :class:`Table` with plain Python cells (dates as ISO strings)."""
    import pandas as pd

    part = df.head(limit)
    rows = []
    for record in part.itertuples(index=False, name=None):
        row = []
        for cell in record:
            if cell is None or (not isinstance(cell, (list, dict, str)) and pd.isna(cell)):
                row.append(None)
            elif isinstance(cell, pd.Timestamp):
                row.append(cell.isoformat())
            elif hasattr(cell, "item"):
                row.append(cell.item())
            else:
                row.append(cell)
        rows.append(row)
    return Table(name=name, columns=[str(c) for c in part.columns], rows=rows)


class Engine:
    """Executes steps; holds the current frame, the operation log and the result pieces."""

    def __init__(self, files: list[tuple[str, Path]], output_dir: Path, planned: bool) -> None:
        self.files = files
        self.output_dir = output_dir
        self.planned = planned
        self.ops: list[str] = []
        self.answers: list[str] = []
        self.data: dict[str, Any] = {}
        self.tables: list[Table] = []
        self.artifacts: list[Path] = []
        self.df: Any = None
        self.name = ""
        self.sheet: str | None = None
        self.info: dict[str, Any] = {}

    def fail(self, message: str) -> SpecialistError:
        """The error to raise for a wrong step: the plan's fault or the user's."""
        return BadPlan(message) if self.planned else SpecialistError("bad_input", message)

    # -- inputs -----------------------------------------------------------------------------
    def _file(self, ref: str | None) -> tuple[str, Path]:
        if not self.files:
            raise SpecialistError(
                "bad_input", "No data file attached; drop a CSV, TSV, JSON, Excel or Parquet file with the task."
            )
        if ref is None or ref == "":
            return self.files[0]
        m = re.fullmatch(r"@(\d+)", str(ref))
        if m and int(m.group(1)) < len(self.files):
            return self.files[int(m.group(1))]
        for name, path in self.files:
            if name.lower() == str(ref).lower() or Path(name).name.lower() == str(ref).lower():
                return name, path
        raise self.fail(f"No attached file named {ref!r}; attached: {', '.join(n for n, _ in self.files)}.")

    def _load(self, ref: str | None) -> tuple[str, Any]:
        name, path = self._file(ref)
        sheet = self.sheet if path.suffix.lower() in (".xlsx", ".xlsm") else None
        df, info = load_table(path, name, sheet)
        self.info = info
        read = (
            f"pd.read_excel({name!r}, sheet_name={info['sheet']!r})"
            if "sheet" in info
            else (
                f"pd.read_csv({name!r}, sep={info['delimiter']!r}, encoding={info['encoding']!r})"
                if "delimiter" in info
                else f"pd.read_{Path(name).suffix.lstrip('.')}({name!r})"
            )
        )
        self.ops.append(f"df = {read}  # {len(df)} rows x {len(df.columns)} columns")
        return name, df

    def col(self, name: Any, df: Any = None) -> str:
        """Resolve a column name: exact, then case- and separator-insensitive."""
        df = self.df if df is None else df
        if not isinstance(name, str) or not name:
            raise self.fail(f"A column name is required, got {name!r}.")
        cols = [str(c) for c in df.columns]
        if name in cols:
            return name

        def norm(s: str) -> str:
            return re.sub(r"[\s_\-]+", "", s.lower())

        for c in cols:
            if norm(c) == norm(name):
                return c
        raise self.fail(f"No column {name!r} in {self.name}; columns: {', '.join(cols)}.")

    def cols(self, names: Any) -> list[str]:
        """Resolve a list of columns (a single string is accepted too)."""
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names:
            raise self.fail("A non-empty list of columns is required.")
        return [self.col(n) for n in names]

    # -- running ----------------------------------------------------------------------------
    def run(self, plan: dict[str, Any]) -> Result:
        """Validate and execute ``plan`` = ``{"file"?, "sheet"?, "steps": [...]}``."""
        steps = plan.get("steps")
        if not isinstance(steps, list) or not steps:
            raise self.fail("The plan needs a non-empty 'steps' list.")
        self.sheet = plan.get("sheet") or None
        first = steps[0] if isinstance(steps[0], dict) else {}
        if first.get("op") == "sheets":
            name, path = self._file(plan.get("file"))
            return self._sheets(name, path)
        self.name, self.df = self._load(plan.get("file") or first.get("file"))
        last_frame = False
        for index, step in enumerate(steps, start=1):
            if not isinstance(step, dict) or step.get("op") not in OPS:
                raise self.fail(
                    f"Step {index}: 'op' must be one of {', '.join(OPS)}; got "
                    f"{step.get('op') if isinstance(step, dict) else step!r}."
                )
            op = step["op"]
            if op == "sheets":
                raise self.fail("'sheets' must be the only step.")
            getattr(self, f"_op_{op}")(step)
            last_frame = op in _FRAME_OPS
        if last_frame or not (self.answers or self.tables):
            self.tables.insert(0, frame_table("result", self.df))
            if not self.answers:
                self.answers.append(self._frame_answer(self.df))
        self.data.setdefault("rows_total", int(len(self.df)))
        if self.info:
            self.data.setdefault("input", {k: v for k, v in self.info.items() if k != "sheets"})
        return Result(
            answer="\n".join(self.answers),
            data=self.data,
            tables=self.tables,
            artifacts=self.artifacts,
            operation_kind="pandas",
            operation_text="\n".join(self.ops),
            path="planned" if self.planned else "explicit",
        )

    def _frame_answer(self, df: Any) -> str:
        head = f"{len(df)} row{'' if len(df) == 1 else 's'} x {len(df.columns)} columns"
        if 0 < len(df) <= 20 and len(df.columns) <= 12:
            return head + "\n" + df.to_string(index=False, max_colwidth=40)
        return head

    def _sheets(self, name: str, path: Path) -> Result:
        if path.suffix.lower() not in (".xlsx", ".xlsm"):
            raise SpecialistError("bad_input", f"{name} is not an Excel workbook; it has no sheets.")
        names = sheet_names(path, name)
        return Result(
            answer=f"{name} sheets: {', '.join(names)}",
            data={"items": names},
            tables=[Table("sheets", ["sheet"], [[s] for s in names])],
            operation_kind="pandas",
            operation_text=f"pd.ExcelFile({name!r}).sheet_names",
            path="planned" if self.planned else "explicit",
        )

    # -- frame operations -------------------------------------------------------------------
    def _op_describe(self, step: dict[str, Any]) -> None:
        df = self.df[self.cols(step["columns"])] if step.get("columns") else self.df
        desc = df.describe(include="all").T.reset_index().rename(columns={"index": "column"})
        desc = desc.dropna(axis=1, how="all")
        self.ops.append("df.describe(include='all').T")
        self.answers.append(f"Summary of {len(df.columns)} columns over {len(df)} rows.")
        self.tables.append(frame_table("describe", desc))

    def _op_count(self, step: dict[str, Any]) -> None:
        self.ops.append("len(df)")
        self.data["value"] = int(len(self.df))
        self.answers.append(f"{len(self.df)} row{'' if len(self.df) == 1 else 's'}")

    def _op_columns(self, step: dict[str, Any]) -> None:
        rows = [[str(c), str(t), int(self.df[c].notna().sum())] for c, t in self.df.dtypes.items()]
        self.ops.append("df.dtypes")
        self.data["items"] = [r[0] for r in rows]
        self.answers.append(f"{len(rows)} columns: {', '.join(self.data['items'])}")
        self.tables.append(Table("columns", ["column", "dtype", "non_null"], rows))

    def _op_head(self, step: dict[str, Any]) -> None:
        n = self._n(step, 5)
        self.df = self.df.head(n)
        self.ops.append(f"df = df.head({n})")

    def _n(self, step: dict[str, Any], default: int) -> int:
        n = step.get("n", default)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= 100_000:
            raise self.fail(f"'n' must be a whole number from 1 to 100000, got {n!r}.")
        return n

    def _op_filter(self, step: dict[str, Any]) -> None:
        import pandas as pd

        col = self.col(step.get("column"))
        op = step.get("operator", "==")
        if op == "=":
            op = "=="
        if op not in OPERATORS:
            raise self.fail(f"Unknown operator {op!r}; use one of {', '.join(OPERATORS)}.")
        if "value" not in step:
            raise self.fail(f"filter on {col!r} needs a 'value'.")
        value = step["value"]
        series = self.df[col]
        if op in ("contains", "startswith"):
            text = series.astype(str)
            mask = (
                text.str.contains(str(value), case=False, regex=False)
                if op == "contains"
                else text.str.lower().str.startswith(str(value).lower())
            )
        else:
            if pd.api.types.is_numeric_dtype(series) and not isinstance(value, (int, float)):
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise self.fail(f"Column {col!r} is numeric; {value!r} is not a number.") from None
            elif pd.api.types.is_datetime64_any_dtype(series):
                value = pd.Timestamp(value)
            elif not pd.api.types.is_numeric_dtype(series) and op not in ("==", "!="):
                value = str(value)
            mask = {
                "==": series == value,
                "!=": series != value,
                ">": series > value,
                ">=": series >= value,
                "<": series < value,
                "<=": series <= value,
            }[op]
        self.df = self.df[mask]
        self.ops.append(
            f"df = df[df[{col!r}] {op} {value!r}]"
            if op not in ("contains", "startswith")
            else f"df = df[df[{col!r}].str.{op}({value!r})]"
        )

    def _op_select(self, step: dict[str, Any]) -> None:
        cols = self.cols(step.get("columns"))
        self.df = self.df[cols]
        self.ops.append(f"df = df[{cols!r}]")

    def _op_sort(self, step: dict[str, Any]) -> None:
        col = self.col(step.get("column"))
        desc = bool(step.get("descending", False))
        self.df = self.df.sort_values(col, ascending=not desc, kind="stable")
        self.ops.append(f"df = df.sort_values({col!r}, ascending={not desc})")

    def _op_top(self, step: dict[str, Any], largest: bool = True) -> None:
        import pandas as pd

        col, n = self.col(step.get("column")), self._n(step, 5)
        if not pd.api.types.is_numeric_dtype(self.df[col]):
            self.df = self.df.sort_values(col, ascending=not largest, kind="stable").head(n)
        else:
            self.df = self.df.nlargest(n, col) if largest else self.df.nsmallest(n, col)
        self.ops.append(f"df = df.{'nlargest' if largest else 'nsmallest'}({n}, {col!r})")

    def _op_bottom(self, step: dict[str, Any]) -> None:
        self._op_top(step, largest=False)

    def _agg_name(self, step: dict[str, Any]) -> str:
        agg = step.get("agg", "sum")
        if agg == "avg":
            agg = "mean"
        if agg not in AGGS:
            raise self.fail(f"Unknown aggregate {agg!r}; use one of {', '.join(AGGS)}.")
        return str(agg)

    def _numeric(self, col: str) -> None:
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(self.df[col]):
            bad = self.df[col][pd.to_numeric(self.df[col], errors="coerce").isna() & self.df[col].notna()]
            where = f" (row {int(bad.index[0]) + 2}: {bad.iloc[0]!r})" if len(bad) else ""
            raise self.fail(f"Column {col!r} is not numeric{where}.")

    def _op_group(self, step: dict[str, Any]) -> None:
        by = self.cols(step.get("by"))
        agg = self._agg_name(step)
        if agg == "count" and not step.get("column"):
            self.df = self.df.groupby(by, dropna=False).size().reset_index(name="count")
            self.ops.append(f"df = df.groupby({by!r}).size().reset_index(name='count')")
            return
        col = self.col(step.get("column"))
        if agg != "count":
            self._numeric(col)
        out = f"{agg}_{col}"
        self.df = self.df.groupby(by, dropna=False)[col].agg(agg).reset_index(name=out)
        self.ops.append(f"df = df.groupby({by!r})[{col!r}].{agg}().reset_index()")

    def _op_pivot(self, step: dict[str, Any]) -> None:
        import pandas as pd

        index, column = self.col(step.get("index")), self.col(step.get("column"))
        value, agg = self.col(step.get("value")), self._agg_name(step)
        if agg != "count":
            self._numeric(value)
        table = pd.pivot_table(self.df, index=index, columns=column, values=value, aggfunc=agg)
        table.columns = [str(c) for c in table.columns]
        self.df = table.reset_index()
        self.ops.append(
            f"df = pd.pivot_table(df, index={index!r}, columns={column!r}, "
            f"values={value!r}, aggfunc={agg!r}).reset_index()"
        )

    def _op_join(self, step: dict[str, Any]) -> None:
        import pandas as pd

        if step.get("file"):
            self.name, self.df = self._load(step["file"])
        other_name, other = self._load(step.get("other"))
        how = step.get("how", "inner")
        if how not in ("inner", "left", "right", "outer"):
            raise self.fail(f"join 'how' must be inner, left, right or outer, got {how!r}.")
        on = self.col(step.get("on"))
        if on not in other.columns:
            self.name, saved = other_name, self.name
            on_other = self.col(on, other)
            self.name = saved
            other = other.rename(columns={on_other: on})
        self.df = pd.merge(self.df, other, on=on, how=how, suffixes=("", "_right"))
        self.ops.append(f"df = pd.merge(df, {other_name!r}, on={on!r}, how={how!r})")

    def _op_outliers(self, step: dict[str, Any]) -> None:
        col = self.col(step.get("column"))
        self._numeric(col)
        series = self.df[col].astype(float)
        method = step.get("method", "iqr")
        if method == "zscore":
            z = float(step.get("value", 3.0))
            mean, std = series.mean(), series.std(ddof=0)
            lower, upper = mean - z * std, mean + z * std
            self.ops.append(f"z = (df[{col!r}] - mean) / std; df = df[abs(z) > {z}]")
        elif method == "iqr":
            k = float(step.get("value", 1.5))
            q1, q3 = series.quantile(0.25), series.quantile(0.75)
            lower, upper = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
            self.ops.append(
                f"q1, q3 = df[{col!r}].quantile([.25, .75]); "
                f"df = df[(df[{col!r}] < q1 - {k}*iqr) | (df[{col!r}] > q3 + {k}*iqr)]"
            )
        else:
            raise self.fail(f"outlier method must be 'iqr' or 'zscore', got {method!r}.")
        self.df = self.df[(series < lower) | (series > upper)]
        self.data.update({"value": int(len(self.df)), "lower": float(lower), "upper": float(upper)})
        self.answers.append(f"{len(self.df)} outliers in {col} (outside {lower:g} .. {upper:g})")

    def _op_value_counts(self, step: dict[str, Any]) -> None:
        col = self.col(step.get("column"))
        self.df = self.df[col].value_counts(dropna=False).rename_axis(col).reset_index(name="count")
        self.ops.append(f"df = df[{col!r}].value_counts().reset_index()")

    def _op_aggregate(self, step: dict[str, Any]) -> None:
        col, agg = self.col(step.get("column")), self._agg_name(step)
        if agg != "count":
            self._numeric(col)
        value = getattr(self.df[col], agg)()
        value = value.item() if hasattr(value, "item") else value
        self.ops.append(f"df[{col!r}].{agg}()")
        self.data["value"] = value
        self.answers.append(
            f"{agg} of {col} = {value:.6g}" if isinstance(value, float) else f"{agg} of {col} = {value}"
        )

    def _op_unique(self, step: dict[str, Any]) -> None:
        col = self.col(step.get("column"))
        values = [v for v in self.df[col].dropna().unique().tolist()]
        self.ops.append(f"df[{col!r}].unique()")
        self.data["items"] = [str(v) for v in values]
        self.answers.append(f"{len(values)} distinct values in {col}: " + ", ".join(str(v) for v in values[:50]))
        self.tables.append(Table("unique", [col], [[v] for v in values]))

    def _op_correlation(self, step: dict[str, Any]) -> None:
        df = self.df[self.cols(step["columns"])] if step.get("columns") else self.df
        corr = df.corr(numeric_only=True)
        if corr.empty:
            raise self.fail(f"{self.name} has no numeric columns to correlate.")
        self.df = corr.reset_index().rename(columns={"index": "column"})
        self.ops.append("df.corr(numeric_only=True)")
        if corr.shape == (2, 2):
            self.data["value"] = float(corr.iloc[0, 1])
            self.answers.append(f"correlation of {corr.columns[0]} and {corr.columns[1]} = {corr.iloc[0, 1]:.4f}")

    def _op_plot(self, step: dict[str, Any]) -> None:
        from da_charts import line_chart

        y, x = self.col(step.get("column")), self.col(step.get("index"))
        self._numeric(y)
        chart = step.get("chart", "line")
        if chart not in ("line", "bar", "scatter"):
            raise self.fail(f"chart must be line, bar or scatter, got {chart!r}.")
        path, op, series = line_chart(self.df, x, y, chart, self.output_dir)
        self.artifacts.append(path)
        self.ops.append(op)
        self.tables.append(frame_table("plotted", series))
        self.answers.append(f"{chart} chart of {y} by {x} saved as {path.name} ({len(series)} points)")

    def _op_histogram(self, step: dict[str, Any]) -> None:
        from da_charts import histogram

        col = self.col(step.get("column"))
        self._numeric(col)
        path, op = histogram(self.df, col, self.output_dir)
        self.artifacts.append(path)
        self.ops.append(op)
        self.answers.append(f"histogram of {col} saved as {path.name}")
