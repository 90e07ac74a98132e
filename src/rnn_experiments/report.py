"""The report room: many run dirs in, one pandas table out (views and files: tables.py).

`load_runs` walks run dirs and sweep dirs (os.scandir), reads each run's `.hydra/config.yaml`,
`.hydra/overrides.yaml` and `results.json`, and flattens them into one row per run with dotted
column names. It reads files only; it writes nothing, and it never imports torch or Hydra.

How cells look (so that columns stay readable and comparable):
- a shape (a list of ints under `shapes.`, e.g. `shapes.h_n`) is one string of sizes joined by
  "x": [1, 3, 2] -> "1x3x2";
- any other list of scalars is one string joined by ",": data.words -> "hello,eolll,lleel",
  norms.output_per_step -> "1.515...,1.448...,..."; lists holding lists or mappings are JSON;
- `values.*` (raw tensor values) and `error.traceback` stay in results.json, out of the table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import yaml

from rnn_experiments.errors import UserError
from rnn_experiments.hydra_files import YamlLoader, flatten, flatten_yaml, load_yaml_list
from rnn_experiments.run_store import HYDRA_DIR, MULTIRUN_FILE, RESULTS_FILE

STATUSES = ("completed", "failed", "incomplete", "corrupt")
IDENTITY_COLUMNS = ("run_dir", "sweep_dir", "job", "status", "reason", "overrides")
# Results fields left out of the table: raw tensor values, and tracebacks (reason says enough).
SKIPPED_RESULTS = frozenset({"values", "error.traceback"})



# --- finding run dirs -------------------------------------------------------------------------


def _sweep_subdir_is_job_num(sweep_dir: str) -> bool:
    """Whether the sweep used Hydra's default job subdir (`${hydra.job.num}`), so that a job's
    dir name is its number and hydra.yaml need not be read."""
    try:
        with open(os.path.join(sweep_dir, MULTIRUN_FILE), encoding="utf-8") as f:
            multirun = yaml.load(f.read(), Loader=YamlLoader)
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
        num = yaml.load(text, Loader=YamlLoader)["hydra"]["job"]["num"]
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
