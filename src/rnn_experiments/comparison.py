"""Comparing a run with its reproduction: a verdict and the fields that differ.

`compare_runs` reads two run dirs (results.json, metrics.csv, any other files the run made) and
says whether they match bit for bit, within a tolerance (when platform, device or package
versions differ), or not at all. Pure: reads files only, imports neither torch nor Hydra.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rnn_experiments import run_store

METRICS_FILE = "metrics.csv"

# Differ on every run by nature; never compared.
IGNORED_FIELDS = frozenset(
    {
        "provenance.start_time",
        "provenance.end_time",
        "provenance.duration_s",
        "provenance.run_dir",
        "error.traceback",  # holds file paths; error.type and error.message are compared
    }
)
# Shown when they differ, but they say where a run happened, not what it computed.
INFORMATIONAL_FIELDS = frozenset({"provenance.host", "provenance.executable"})
# When all of these match, results must match bit for bit; otherwise within a tolerance.
ENVIRONMENT_FIELDS = tuple(
    f"provenance.{name}"
    for name in (
        "python",
        "torch",
        "numpy",
        "hydra-core",
        "omegaconf",
        "platform",
        "machine",
        "device_resolved",
        "device_name",
    )
)
# metrics.csv columns holding clock readings, which differ on every run.
TIME_COLUMN_WORDS = frozenset({"time", "timestamp", "duration", "elapsed", "wall"})
# (rtol, atol) per dtype, used across platforms, devices or package versions.
DEFAULT_TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}

EXACT = "reproduced exactly"
WITHIN = "reproduced within tolerance"
FAILED = "did not reproduce"


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


@dataclass
class Difference:
    """One field that differs; `kind` is "result" (decides the verdict), "context" (code, packages,
    device, config) or "info" (host, interpreter path)."""

    field: str
    original: Any
    reproduction: Any
    kind: str
    note: str = ""


@dataclass
class Comparison:
    original: Path
    reproduction: Path
    verdict: str
    tolerance: Tolerance
    same_environment: bool
    differences: list[Difference] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return self.verdict != FAILED

    def headline(self) -> str:
        if self.verdict == WITHIN:
            return f"{WITHIN} ({self.tolerance}; platform, device or package versions differ)"
        return self.verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "original": str(self.original),
            "reproduction": str(self.reproduction),
            "verdict": self.verdict,
            "reproduced": self.reproduced,
            "same_environment": self.same_environment,
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "differences": [d.__dict__ for d in self.differences],
        }


def flatten_fields(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (`norms.h_n`); lists and scalars are the leaves."""
    if isinstance(obj, dict) and (obj or not prefix):
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            flat.update(flatten_fields(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: obj}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Bit-for-bit equality of JSON values (NaN equals NaN; types must agree)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (
            math.isnan(a) and math.isnan(b)
        )
    return type(a) is type(b) and a == b


def max_abs_diff(a: Any, b: Any) -> float | None:
    """Largest |a - b| over matching numbers; None when the two are not alike in shape or kind."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None
        worst = 0.0
        for x, y in zip(a, b, strict=True):
            d = max_abs_diff(x, y)
            if d is None:
                return None
            worst = max(worst, d)
        return worst
    if _is_number(a) and _is_number(b):
        if math.isnan(a) or math.isnan(b):
            return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
        return abs(a - b) if a != b else 0.0
    return 0.0 if _same(a, b) else None


def _within(a: Any, b: Any, tol: Tolerance) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_within(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):  # counts and shapes must stay exact
        if not (_is_number(a) and _is_number(b)):
            return False
        if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
            return _same(float(a), float(b))
        return abs(a - b) <= tol.atol + tol.rtol * abs(a)
    return _same(a, b)


def _numeric_note(a: Any, b: Any, within: bool) -> str:
    diff = max_abs_diff(a, b)
    if diff is None:
        return "differs"
    return f"max |diff| {diff:.3g}, {'within' if within else 'beyond'} tolerance"


def read_metrics_columns(path: Path) -> dict[str, list[Any]]:
    """metrics.csv as column -> values (numbers where a cell parses as one)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]

    def cell(text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    return {
        name: [cell(row[i]) if i < len(row) else None for row in body]
        for i, name in enumerate(header)
    }


def is_time_column(name: str) -> bool:
    return bool(TIME_COLUMN_WORDS & set(name.lower().replace("-", "_").split("_")))


def _file_digests(run_dir: Path) -> dict[str, str]:
    """sha256 of every file a run made besides results.json, metrics.csv, logs and Hydra's own."""
    digests = {}
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if not path.is_file() or rel.parts[0] == run_store.HYDRA_DIR or path.name.startswith("."):
            continue
        if rel.as_posix() in (run_store.RESULTS_FILE, METRICS_FILE) or path.suffix == ".log":
            continue
        digests[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def recorded_config(run_dir: Path) -> dict[str, Any]:
    """The job config Hydra saved with the run ({} when it is missing or unreadable)."""
    try:
        config = yaml.safe_load((run_dir / run_store.HYDRA_DIR / "config.yaml").read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


def compare_runs(
    original: Path, reproduction: Path, tolerance: Tolerance | None = None
) -> Comparison:
    """Compare a reproduction's results (and metrics.csv, and other files) with the original's.

    Bit for bit when platform, device and package versions match; otherwise numbers may differ
    by `tolerance` (default by the run's dtype). Everything else that differs is listed too.
    """
    original, reproduction = Path(original), Path(reproduction)
    if tolerance is None:
        tolerance = Tolerance(
            *DEFAULT_TOLERANCE.get(
                str(recorded_config(original).get("dtype")), DEFAULT_TOLERANCE["float32"]
            )
        )
    old = flatten_fields(run_store.read_results(original))
    if not (reproduction / run_store.RESULTS_FILE).is_file():
        return Comparison(
            original,
            reproduction,
            FAILED,
            tolerance,
            same_environment=False,
            differences=[Difference(run_store.RESULTS_FILE, "present", "absent", "result")],
        )
    new = flatten_fields(run_store.read_results(reproduction))
    same_env = all(old.get(key) == new.get(key) for key in ENVIRONMENT_FIELDS)

    differences: list[Difference] = []
    result_ok = []  # per differing result field: acceptable under the environment rule?

    def result_difference(name: str, a: Any, b: Any) -> None:
        within = _within(a, b, tolerance)
        if same_env:
            diff = max_abs_diff(a, b)
            note = "" if diff is None else f"max |diff| {diff:.3g}; "
            note += "not bit-identical on the same platform, device and packages"
        else:
            note = _numeric_note(a, b, within)
        differences.append(Difference(name, a, b, "result", note))
        result_ok.append(within and not same_env)

    missing = object()
    for name in sorted(set(old) | set(new), key=lambda k: (k.startswith("provenance."), k)):
        if name in IGNORED_FIELDS:
            continue
        a, b = old.get(name, missing), new.get(name, missing)
        if a is not missing and b is not missing and _same(a, b):
            continue
        a = "(absent)" if a is missing else a
        b = "(absent)" if b is missing else b
        if name in INFORMATIONAL_FIELDS:
            differences.append(Difference(name, a, b, "info"))
        elif name.startswith("provenance."):
            differences.append(Difference(name, a, b, "context"))
        else:
            result_difference(name, a, b)

    # Which config keys changed, when the config hash says something did.
    old_config = flatten_fields(recorded_config(original))
    new_config = flatten_fields(recorded_config(reproduction))
    for key in sorted(set(old_config) | set(new_config)):
        a, b = old_config.get(key, "(absent)"), new_config.get(key, "(absent)")
        if not _same(a, b):
            differences.append(Difference(f"config {key}", a, b, "context"))

    old_metrics, new_metrics = original / METRICS_FILE, reproduction / METRICS_FILE
    if old_metrics.is_file() or new_metrics.is_file():
        if not (old_metrics.is_file() and new_metrics.is_file()):
            present = ("present", "absent") if old_metrics.is_file() else ("absent", "present")
            differences.append(Difference(METRICS_FILE, *present, "result", "file"))
            result_ok.append(False)
        else:
            a_cols, b_cols = read_metrics_columns(old_metrics), read_metrics_columns(new_metrics)
            if list(a_cols) != list(b_cols):
                differences.append(
                    Difference(f"{METRICS_FILE} columns", list(a_cols), list(b_cols), "result")
                )
                result_ok.append(False)
            for column in a_cols:
                if column in b_cols and not is_time_column(column):
                    if not _same(a_cols[column], b_cols[column]):
                        result_difference(
                            f"{METRICS_FILE}:{column}", a_cols[column], b_cols[column]
                        )

    old_files, new_files = _file_digests(original), _file_digests(reproduction)
    for name in sorted(set(old_files) | set(new_files)):
        a, b = old_files.get(name, "(absent)"), new_files.get(name, "(absent)")
        if a == b:
            continue
        both = name in old_files and name in new_files
        if both and not same_env:
            # Numbers reached through results/metrics were compared within tolerance already.
            differences.append(Difference(f"file {name}", a[:12], b[:12], "info", "bytes differ"))
        else:
            differences.append(Difference(f"file {name}", a[:12], b[:12], "result", "sha256"))
            result_ok.append(False)

    if not result_ok:
        verdict = EXACT
    elif all(result_ok):
        verdict = WITHIN
    else:
        verdict = FAILED
    return Comparison(original, reproduction, verdict, tolerance, same_env, differences)


def _short(value: Any, width: int = 34) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_comparison(comparison: Comparison) -> str:
    lines = [
        f"{comparison.original}",
        f"  reproduction: {comparison.reproduction}",
        f"  verdict: {comparison.headline()}",
    ]
    if not comparison.differences:
        lines.append("  no field differs")
        return "\n".join(lines)
    rows = [("field", "original", "reproduction", "kind", "note")]
    rows += [
        (d.field, _short(d.original), _short(d.reproduction), d.kind, d.note)
        for d in comparison.differences
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)
