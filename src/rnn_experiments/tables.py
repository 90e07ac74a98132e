"""Views of a runs table and the files made from it: the default view, group-by, csv,
parquet and markdown tables, plots.

Takes the DataFrame `report.load_runs` builds; writes only through run_store's atomic writers.
No torch; matplotlib (Agg) loads only when a plot is drawn.
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rnn_experiments.errors import UserError
from rnn_experiments.report import STATUSES
from rnn_experiments.run_store import write_bytes_atomic

# Where the results columns start (the first top-level results.json fields after the config).
RESULT_COLUMNS_START = frozenset({"schema_version", "task"})
# Shown by default when present; every `metrics.*` column is added to these.
KEY_METRICS = (
    "norms.output",
    "norms.h_n",
    "norms.c_n",
    "reference.max_abs_diff",
    "reference.within_tolerance",
)
TABLE_SUFFIXES = (".csv", ".parquet", ".md")

def key_metric_columns(frame: pd.DataFrame) -> list[str]:
    """The headline results present in `frame`: norms, reference check, and every metrics.*."""
    present = [c for c in KEY_METRICS if c in frame.columns]
    return present + [c for c in frame.columns if c.startswith("metrics.")]


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that describe how a run was made: the config-group and config columns."""
    start = frame.columns.get_loc("overrides") + 1
    end = next(
        (i for i, c in enumerate(frame.columns) if c in RESULT_COLUMNS_START), len(frame.columns)
    )
    return list(frame.columns[start:end])


def varying_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Those of `columns` that take more than one value across the rows (missing counts)."""
    return [c for c in columns if frame[c].nunique(dropna=False) > 1]


def default_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The readable table: which run, its status, the parameters that vary, the key metrics,
    and why a run is not plainly completed (when any is not)."""
    shown = frame.copy()
    shown.insert(0, "run", [_short_path(p) for p in frame["run_dir"]])
    columns = ["run", "status"]
    columns += varying_columns(frame, parameter_columns(frame))
    columns += key_metric_columns(frame)
    if frame["reason"].notna().any():
        columns.append("reason")
    return shown[columns]


def _short_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise UserError naming the first column `frame` does not have, with a close match."""
    for column in columns:
        if column not in frame.columns:
            close = difflib.get_close_matches(column, list(frame.columns), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(
                f"unknown column {column!r}{hint} ({len(frame.columns)} columns: "
                f"e.g. {', '.join(list(frame.columns)[:6])}, ...)"
            )


def group_metrics(
    frame: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean, std and count of each numeric metric per group of `by` (e.g. across seeds).

    `metrics` defaults to the numeric key metrics present. Columns are `<metric>.mean`,
    `<metric>.std`, `<metric>.count` (non-missing values), after `runs` (rows in the group).
    """
    check_columns(frame, by)
    if metrics is None:
        metrics = [c for c in key_metric_columns(frame) if c not in by]
    check_columns(frame, metrics)
    numeric = [
        c
        for c in metrics
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not numeric:
        raise UserError(
            f"no numeric column to aggregate among {', '.join(metrics) or '(none)'}; "
            "pick some with --columns"
        )
    grouped = frame.groupby(list(by), dropna=False, sort=True)
    table = grouped[numeric].agg(["mean", "std", "count"])
    table.columns = [f"{metric}.{stat}" for metric, stat in table.columns]
    table.insert(0, "runs", grouped.size())
    return table.reset_index()


def table_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    """`frame` as the bytes of a .csv, .parquet or .md file."""
    if suffix == ".csv":
        return frame.to_csv(index=False).encode("utf-8")
    if suffix == ".parquet":
        buffer = io.BytesIO()
        _parquet_safe(frame).to_parquet(buffer, index=False)
        return buffer.getvalue()
    if suffix == ".md":
        return markdown_table(frame).encode("utf-8")
    raise UserError(f"output file suffix {suffix!r} is not valid; use one of {TABLE_SUFFIXES}")


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write `frame` to `path` (.csv, .parquet or .md, by suffix) atomically."""
    path = Path(path)
    write_bytes_atomic(path, table_bytes(frame, path.suffix.lower()))
    return path


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet wants one type per column: a column mixing types (say ints in one sweep and
    strings in another) is written as strings, missing values kept missing."""
    mixed = [
        c
        for c in frame.columns
        if frame[c].dtype == object
        and pd.api.types.infer_dtype(frame[c], skipna=True)
        in ("mixed", "mixed-integer", "mixed-integer-float")
    ]
    if not mixed:
        return frame
    frame = frame.copy()
    for c in mixed:
        frame[c] = frame[c].map(lambda v: v if v is None or v is pd.NA else str(v)).astype(object)
    return frame


def format_cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (floats to 6 significant digits, missing as blank)."""

    def cell(value: Any) -> str:
        return format_cell(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def status_counts(frame: pd.DataFrame) -> str:
    """ "12 runs: 10 completed, 1 failed, 1 incomplete" (known statuses first)."""
    counts = frame["status"].value_counts()
    order = [s for s in STATUSES if s in counts] + [s for s in counts.index if s not in STATUSES]
    parts = ", ".join(f"{counts[s]} {s}" for s in order)
    return f"{len(frame)} run{'s' if len(frame) != 1 else ''}: {parts}"


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def plot_bytes(
    frame: pd.DataFrame, x: str, y: str, hue: str | None = None, suffix: str = ".png"
) -> bytes:
    """Y against X, one line per value of `hue`, as the bytes of a .png/.svg/.pdf (Agg).

    Runs sharing an X (e.g. seeds) are drawn as their mean with a std error bar."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if suffix not in PLOT_SUFFIXES:
        raise UserError(f"plot file suffix {suffix!r} is not valid; use one of {PLOT_SUFFIXES}")
    check_columns(frame, [x, y] + ([hue] if hue else []))
    if not pd.api.types.is_numeric_dtype(frame[y]) or pd.api.types.is_bool_dtype(frame[y]):
        raise UserError(f"column {y!r} is not numeric ({frame[y].dtype}); plot a numeric Y")
    data = frame[frame[y].notna() & frame[x].notna()]
    if data.empty:
        raise UserError(f"no run has values for both {x!r} and {y!r}")
    if pd.api.types.is_bool_dtype(data[x]) or not pd.api.types.is_numeric_dtype(data[x]):
        data = data.assign(**{x: data[x].astype(str)})
    groups = data.groupby(hue, dropna=False, sort=True) if hue else [(None, data)]
    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for value, group in groups:
        stats = group.groupby(x, sort=True)[y].agg(["mean", "std", "count"])
        error = stats["std"].where(stats["count"] > 1)
        label = None if hue is None else f"{hue}={format_cell(value) or 'missing'}"
        axes.errorbar(
            stats.index, stats["mean"], yerr=error.fillna(0), marker="o", capsize=3, label=label
        )
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(f"{y} vs {x} ({len(data)} runs)")
    axes.grid(alpha=0.3)
    if hue is not None:
        axes.legend(title=hue, fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix[1:], dpi=120)
    return buffer.getvalue()


def write_plot(
    frame: pd.DataFrame, x: str, y: str, path: str | os.PathLike[str], hue: str | None = None
) -> Path:
    """Draw `y` against `x` (see plot_bytes) into `path`, atomically."""
    path = Path(path)
    write_bytes_atomic(path, plot_bytes(frame, x, y, hue, path.suffix.lower()))
    return path


def format_table(frame: pd.DataFrame) -> str:
    """A plain-text table for the terminal: floats to 6 significant digits, missing as blank."""
    if frame.empty:
        return "(no rows)"
    return frame.map(format_cell).to_string(index=False)
