"""The report room: many run dirs in, one pandas table out, plus the views and files made from it.

`load_runs` walks run dirs and sweep dirs (os.scandir), reads each run's `.hydra/config.yaml`,
`.hydra/overrides.yaml` and `results.json`, and flattens them into one row per run with dotted
column names. It reads files only; it writes nothing, and it never imports torch or Hydra.
`write_table` writes a table as csv, parquet or markdown through run_store's atomic writers.

How cells look (so that columns stay readable and comparable):
- a shape (a list of ints under `shapes.`, e.g. `shapes.h_n`) is one string of sizes joined by
  "x": [1, 3, 2] -> "1x3x2";
- any other list of scalars is one string joined by ",": data.words -> "hello,eolll,lleel",
  norms.output_per_step -> "1.515...,1.448...,..."; lists holding lists or mappings are JSON;
- `values.*` (raw tensor values) and `error.traceback` stay in results.json, out of the table.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml

from rnn_experiments.errors import UserError
from rnn_experiments.run_store import MULTIRUN_FILE, RESULTS_FILE, write_bytes_atomic

HYDRA_DIR = ".hydra"
STATUSES = ("completed", "failed", "incomplete", "corrupt")
IDENTITY_COLUMNS = ("run_dir", "sweep_dir", "job", "status", "reason", "overrides")
# Results fields left out of the table: raw tensor values, and tracebacks (reason says enough).
SKIPPED_RESULTS = frozenset({"values", "error.traceback"})
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

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- reading the YAML Hydra writes, flattened ------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_NOT_SIMPLE = object()  # "this text needs the full YAML parser"
_SCALAR_TYPES = (str, int, float, bool, type(None))
_SCALAR_TYPE_SET = frozenset(_SCALAR_TYPES)
# Sweeps repeat the same few hundred lines and values: each is parsed once per process.
_SCALAR_CACHE: dict[str, Any] = {}
_LINE_CACHE: dict[str, Any] = {}
_CACHE_LIMIT = 200_000
_ITEM, _VALUE, _OPEN, _EMPTY_LIST, _EMPTY_MAP = range(5)
# Scalars whose YAML reading is certain without PyYAML: decimal ints (no octal-looking leading
# zeros, no underscores) and words starting with a letter that are not YAML's booleans/nulls.
_DECIMAL = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")
_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.=,/+\-]*\Z")
_YAML_WORDS = frozenset(
    f(word)
    for word in ("yes", "no", "true", "false", "on", "off", "null")
    for f in (str.lower, str.title, str.upper)
)


def _scalar(raw: str) -> Any:
    """One single-line YAML scalar exactly as PyYAML's safe loader reads it, or _NOT_SIMPLE."""
    try:
        return _SCALAR_CACHE[raw]
    except KeyError:
        pass
    if not raw or raw[0] in "|>&*!%@`{[]},#" or (raw[0] in "-?:" and raw[1:2] in ("", " ")):
        return _NOT_SIMPLE
    quoted = raw[0] in "'\""
    if quoted and (len(raw) < 2 or raw[-1] != raw[0]):
        return _NOT_SIMPLE  # a quoted string wrapped over several lines
    if not quoted and (": " in raw or " #" in raw or raw.endswith(":")):
        return _NOT_SIMPLE
    if _DECIMAL.match(raw):
        value: Any = int(raw)
    elif _PLAIN_WORD.match(raw) and raw not in _YAML_WORDS:
        value = raw  # no YAML resolver claims it: a string, without building a loader
    else:
        try:
            value = yaml.load(raw, Loader=_YamlLoader)
        except yaml.YAMLError:
            return _NOT_SIMPLE
    if type(value) not in _SCALAR_TYPE_SET:
        return _NOT_SIMPLE  # dates, binary, anything that is not a plain scalar
    if len(_SCALAR_CACHE) > _CACHE_LIMIT:
        _SCALAR_CACHE.clear()
    _SCALAR_CACHE[raw] = value
    return value


def _parse_line(line: str) -> tuple[int, int, str | None, Any] | None:
    """(indent, kind, key, value) of one line of block YAML, or None if it is not that simple."""
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    if stripped.startswith("- "):
        value = _scalar(stripped[2:])
        return None if value is _NOT_SIMPLE else (indent, _ITEM, None, value)
    key, sep, raw = stripped.partition(": ")
    if not sep:
        if not stripped.endswith(":"):
            return None
        key, raw = stripped[:-1], ""
    if not _PLAIN_KEY.match(key) or _scalar(key) != key:
        return None
    if not raw:
        return (indent, _OPEN, key, None)
    if raw == "[]":
        return (indent, _EMPTY_LIST, key, None)
    if raw == "{}":
        return (indent, _EMPTY_MAP, key, None)
    value = _scalar(raw)
    return None if value is _NOT_SIMPLE else (indent, _VALUE, key, value)


def flatten_simple_yaml(text: str) -> dict[str, Any] | None:
    """`flatten(yaml.safe_load(text))` for the block YAML that OmegaConf and PyYAML dump
    (nested mappings of plain keys, indentless sequences of one-line scalars, [] and {}), or
    None for any other text. Several times faster than PyYAML's C loader on a Hydra config:
    each top-level entry is parsed once per process, and a sweep's jobs share most of them."""
    out: dict[str, Any] = {}
    entries = _TOP_LEVEL_ENTRY.split(text.rstrip("\n"))
    for entry in entries:
        try:
            flat = _ENTRY_CACHE[entry]
        except KeyError:
            flat = _flatten_simple_block(entry)
            if len(_ENTRY_CACHE) > _CACHE_LIMIT:
                _ENTRY_CACHE.clear()
            _ENTRY_CACHE[entry] = flat
        if flat is None:
            return None
        out.update(flat)
    if len({entry.partition(":")[0] for entry in entries}) != len(entries):
        return None  # a top-level key given twice: let PyYAML decide
    return out


# A new top-level entry starts at a line that begins with neither a space nor "-".
_TOP_LEVEL_ENTRY = re.compile(r"\n(?=[^ \n-])")
_ENTRY_CACHE: dict[str, dict[str, Any] | None] = {}


def _flatten_simple_block(text: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    seen: set[str] = set()
    prefixes = [(0, "")]  # (indent, dotted prefix) of the open mappings
    pending: tuple[int, str] | None = None  # a "key:" line waiting for its block
    items: list[Any] | None = None
    items_indent, items_name = 0, ""
    for line in text.splitlines():
        parsed = _LINE_CACHE.get(line)
        if parsed is None:
            parsed = _parse_line(line)
            if parsed is None:
                return None
            if len(_LINE_CACHE) > _CACHE_LIMIT:
                _LINE_CACHE.clear()
            _LINE_CACHE[line] = parsed
        indent, kind, key, value = parsed
        if kind == _ITEM:
            if pending is not None and indent == pending[0]:
                items, items_indent, items_name, pending = [], indent, pending[1], None
            elif items is None or indent != items_indent:
                return None
            items.append(value)
            continue
        if items is not None:
            out[items_name] = list_cell(items_name, items)
            items = None
        if pending is not None:
            if indent == pending[0] + 2:
                prefixes.append((indent, pending[1] + "."))
            else:
                out[pending[1]] = None  # "key:" with nothing under it is null
            pending = None
        while prefixes[-1][0] > indent:
            prefixes.pop()
        if prefixes[-1][0] != indent:
            return None
        name = prefixes[-1][1] + key
        if name in seen:
            return None
        seen.add(name)
        if kind == _VALUE:
            out[name] = value
        elif kind == _OPEN:
            pending = (indent, name)
        elif kind == _EMPTY_LIST:
            out[name] = ""
    if items is not None:
        out[items_name] = list_cell(items_name, items)
    if pending is not None:
        out[pending[1]] = None
    return out if seen else None


def flatten_yaml(text: str) -> dict[str, Any]:
    """A YAML mapping as flat dotted columns (see `flatten`); {} if the text is no mapping."""
    flat = flatten_simple_yaml(text)
    if flat is None:
        loaded = yaml.load(text, Loader=_YamlLoader)
        flat = flatten(loaded, {}) if isinstance(loaded, dict) else {}
    return flat


def load_yaml_list(text: str) -> list[Any]:
    """A top-level YAML sequence such as .hydra/overrides.yaml ([] if it is not one)."""
    items = []
    for line in text.splitlines():
        value = _scalar(line[2:]) if line.startswith("- ") else _NOT_SIMPLE
        if value is _NOT_SIMPLE:
            loaded = yaml.load(text, Loader=_YamlLoader)
            return loaded if isinstance(loaded, list) else []
        items.append(value)
    return items


# --- flattening -------------------------------------------------------------------------------


def list_cell(name: str, values: list[Any]) -> str:
    """One readable, comparable string for a list: "1x3x2" for a shape, "a,b,c" otherwise."""
    if all(type(v) is str for v in values):
        return ",".join(values)
    types = set(map(type, values))
    if types <= _SCALAR_TYPE_SET:
        if types == {int} and name.startswith("shapes."):
            return "x".join(map(str, values))
        return ",".join(map(str, values))
    return json.dumps(values, default=str)


def flatten(
    obj: dict[Any, Any],
    out: dict[str, Any],
    prefix: str = "",
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Nested mappings into `out` with dotted keys; lists become one string (see list_cell)."""
    for key, value in obj.items():
        name = prefix + str(key)
        if name in skip:
            continue
        kind = type(value)
        if kind is dict:
            flatten(value, out, name + ".", skip)
        elif kind is list:
            out[name] = list_cell(name, value)
        elif kind in _SCALAR_TYPE_SET:
            out[name] = value
        else:
            out[name] = str(value)
    return out


# --- finding run dirs -------------------------------------------------------------------------


def _sweep_subdir_is_job_num(sweep_dir: str) -> bool:
    """Whether the sweep used Hydra's default job subdir (`${hydra.job.num}`), so that a job's
    dir name is its number and hydra.yaml need not be read."""
    try:
        with open(os.path.join(sweep_dir, MULTIRUN_FILE), encoding="utf-8") as f:
            multirun = yaml.load(f.read(), Loader=_YamlLoader)
        return multirun["hydra"]["sweep"]["subdir"] == "${hydra.job.num}"
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return False


def _job_num_from_hydra_yaml(run_dir: str) -> int | None:
    """hydra.job.num from .hydra/hydra.yaml: the `num:` line of the `job:` block, else YAML."""
    try:
        with open(os.path.join(run_dir, HYDRA_DIR, "hydra.yaml"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    start = text.find("\n  job:\n")
    if start >= 0:
        for line in text[start + 8 :].splitlines():
            if not line.startswith("    "):
                break
            if line.startswith("    num: "):
                raw = line[9:].strip()
                return int(raw) if raw.isdigit() else None
    try:
        num = yaml.load(text, Loader=_YamlLoader)["hydra"]["job"]["num"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None
    return num if isinstance(num, int) else None


def _enclosing_sweep_dir(path: str) -> str | None:
    for parent in Path(path).parents:
        if (parent / MULTIRUN_FILE).is_file():
            return str(parent)
    return None


class RunDir(NamedTuple):
    path: str
    sweep_dir: str | None
    has_hydra: bool
    has_results: bool


def find_run_dirs(*paths: str | os.PathLike[str]) -> list[RunDir]:
    """Every run dir under `paths`, once each, with its sweep dir (None for a single run).

    A run dir holds `.hydra/` or results.json; the walk does not descend into run dirs or
    hidden dirs. A run's sweep dir is the nearest dir above it holding multirun.yaml.
    """
    found: dict[str, RunDir] = {}

    def walk(directory: str, sweep_dir: str | None) -> None:
        try:
            names = os.listdir(directory)
        except (NotADirectoryError, PermissionError):
            return
        has_hydra, has_results = HYDRA_DIR in names, RESULTS_FILE in names
        if has_hydra or has_results:
            found.setdefault(directory, RunDir(directory, sweep_dir, has_hydra, has_results))
            return
        if MULTIRUN_FILE in names:
            sweep_dir = directory
        with os.scandir(directory) as entries:
            subdirs = [e.path for e in entries if not e.name.startswith(".") and e.is_dir()]
        for subdir in subdirs:
            walk(subdir, sweep_dir)

    for path in paths:
        start = os.path.abspath(path)
        if not os.path.exists(start):
            raise UserError(f"path {str(path)!r} does not exist; give a run dir or a sweep dir")
        if not os.path.isdir(start):
            raise UserError(f"path {str(path)!r} is not a directory; give a run dir or sweep dir")
        walk(start, _enclosing_sweep_dir(start))
    return list(found.values())


# --- one row per run --------------------------------------------------------------------------


def _read_bytes(path: str) -> bytes | None:
    """A small file's bytes, or None if it is not there (os.read: no buffered file object)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _config_columns(run_dir: str, notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(`overrides` and a column per overridden config group, the flattened resolved config)."""
    hydra_dir = os.path.join(run_dir, HYDRA_DIR)
    config_bytes = _read_bytes(os.path.join(hydra_dir, "config.yaml"))
    if config_bytes is None:
        notes.append("no .hydra/config.yaml, so no config columns")
        return {}, {}
    try:
        config_part = flatten_yaml(config_bytes.decode("utf-8"))
        overrides_bytes = _read_bytes(os.path.join(hydra_dir, "overrides.yaml"))
        overrides = load_yaml_list(overrides_bytes.decode("utf-8")) if overrides_bytes else []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        notes.append(f"unreadable .hydra yaml: {type(exc).__name__}")
        return {}, {}
    override_part: dict[str, Any] = {"overrides": " ".join(map(str, overrides))}
    for override in overrides:
        key, sep, value = str(override).partition("=")
        key = key.lstrip("+~")
        # A config key already has its resolved, typed value; a config-group choice
        # (model=lstm, experiment=seed_slide) gets a column of its own.
        if sep and key not in config_part and key not in IDENTITY_COLUMNS:
            override_part[key] = value
    return override_part, config_part


def _results_columns(
    run_dir: str, has_results: bool, notes: list[str]
) -> tuple[str, dict[str, Any]]:
    """(status, the flattened results without status, values and traceback)."""
    if not has_results:
        notes.insert(0, "no results.json (still running, or killed)")
        return "incomplete", {}
    try:
        results = parse_results(_read_bytes(os.path.join(run_dir, RESULTS_FILE)) or b"")
        if not isinstance(results, dict):
            raise ValueError(f"top level is a {type(results).__name__}, not an object")
    except (ValueError, OSError) as exc:
        notes.insert(0, f"unreadable results.json: {exc}")
        return "corrupt", {}
    status = results.pop("status", None)
    if status == "failed":
        error = results.get("error") or {}
        notes.insert(0, f"{error.get('type')}: {error.get('message')}")
    elif not isinstance(status, str):
        notes.insert(0, "results.json has no status")
        status = "corrupt"
    return status, flatten(results, {}, skip=SKIPPED_RESULTS)


_VALUES_ENTRY = b'\n  "values": '
_NEXT_ENTRY = b'\n  "'


def parse_results(data: bytes) -> Any:
    """results.json as JSON, except that its `values` entry (raw tensor values, most of the
    bytes and never a table column) is cut out unparsed when the file is laid out as run_store
    writes it (indent 2, one top-level key per line at two spaces). Every other byte is parsed:
    a truncated or garbled file still fails with ValueError."""
    start = data.find(_VALUES_ENTRY)
    if start >= 0:
        end = data.find(_NEXT_ENTRY, start + len(_VALUES_ENTRY))
        if end >= 0:
            data = data[:start] + data[end:]
    return json.loads(data)


class _Columns:
    """Every column seen so far, in first-seen order within each group of the table."""

    def __init__(self) -> None:
        self.overrides: dict[str, None] = {}
        self.config: dict[str, None] = {}
        self.results: dict[str, None] = {}

    def ordered(self) -> list[str]:
        results = [c for c in self.results if not c.startswith("provenance.")]
        provenance = [c for c in self.results if c.startswith("provenance.")]
        overrides = [c for c in self.overrides if c != "overrides"]
        return [*IDENTITY_COLUMNS, *overrides, *self.config, *results, *provenance]


def read_run(run: RunDir, job: int | None, columns: _Columns | None = None) -> dict[str, Any]:
    """One run dir as one flat row (see the module docstring for how cells look)."""
    notes: list[str] = []
    if run.has_hydra:
        override_part, config_part = _config_columns(run.path, notes)
    else:
        override_part, config_part = {}, {}
        notes.append("no .hydra dir, so no config columns")
    status, results_part = _results_columns(run.path, run.has_results, notes)
    row: dict[str, Any] = {"run_dir": run.path, "sweep_dir": run.sweep_dir, "job": job}
    row.update(status=status, reason="; ".join(notes) or None, overrides=None)
    row.update(override_part)
    row.update(config_part)
    clashes = results_part.keys() & row.keys()
    if clashes:  # a results field never hides a config value of the same dotted name
        results_part = {f"results.{k}" if k in clashes else k: v for k, v in results_part.items()}
    row.update(results_part)
    if columns is not None:
        columns.overrides.update(dict.fromkeys(override_part))
        columns.config.update(dict.fromkeys(config_part))
        columns.results.update(dict.fromkeys(results_part))
    return row


def _job_number(run_dir: str, sweep_dir: str | None, default_subdir: dict[str, bool]) -> int | None:
    if sweep_dir is None:
        return None
    if sweep_dir not in default_subdir:
        default_subdir[sweep_dir] = _sweep_subdir_is_job_num(sweep_dir)
    name = os.path.basename(run_dir)
    if default_subdir[sweep_dir] and name.isdigit() and os.path.dirname(run_dir) == sweep_dir:
        return int(name)
    return _job_num_from_hydra_yaml(run_dir)


def load_runs(*paths: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per run found under `paths` (run dirs, sweep dirs, or any dir above them).

    Columns: run_dir, sweep_dir, job (Int64; <NA> for single runs), status (completed, failed,
    incomplete, corrupt), reason (why a run is not plainly completed, else <NA>), overrides (as
    typed on the command line), a column per overridden config group (e.g. `model`), the
    flattened resolved config (`model.hidden_size`, `data.words`), the flattened results
    (`shapes.h_n` as "1x3x2", `norms.h_n`, `reference.max_abs_diff`, `metrics.*`), and
    `provenance.*`. Rows are ordered by sweep dir then job number (0, 1, 2, ..., 10), single
    runs by their dir. Raises UserError when a path is missing or no run dir is found.
    """
    if not paths:
        raise UserError("no path given; give one or more run dirs or sweep dirs")
    run_dirs = find_run_dirs(*paths)
    if not run_dirs:
        shown = ", ".join(repr(str(p)) for p in paths)
        raise UserError(f"no runs found under {shown} (a run dir holds .hydra/ or results.json)")
    default_subdir: dict[str, bool] = {}
    columns = _Columns()
    rows = [
        read_run(run, _job_number(run.path, run.sweep_dir, default_subdir), columns)
        for run in run_dirs
    ]
    rows.sort(
        key=lambda r: (
            r["sweep_dir"] or r["run_dir"],
            -1 if r["job"] is None else r["job"],
            r["run_dir"],
        )
    )
    frame = pd.DataFrame.from_records(rows, columns=columns.ordered())
    frame["job"] = pd.array(frame["job"].tolist(), dtype="Int64")
    return _tidy_dtypes(frame)


def _tidy_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Give columns with missing cells a dtype that keeps them missing through csv/parquet:
    true/false with gaps -> nullable boolean, text with gaps -> str."""
    for column in [c for c in frame.columns if frame[c].dtype is np.dtype(object)]:
        kind = pd.api.types.infer_dtype(frame[column], skipna=True)
        if kind == "boolean":
            frame[column] = frame[column].astype("boolean")
        elif kind == "string":
            frame[column] = frame[column].astype("str")
    return frame


# --- views of the table and the files made from it --------------------------------------------


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
