"""`rnn-exp-reproduce`: re-run recorded runs from their saved configs and say whether they match.

`rerun` starts `rnn-exp` in a subprocess on a run's saved job config (`.hydra/config.yaml`) into a
new run dir under the reproductions dir; `comparison.compare_runs` then gives the verdict.
Nothing here writes inside the original run dirs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from rnn_experiments import run_store
from rnn_experiments.comparison import (
    DEFAULT_TOLERANCE,
    Comparison,
    Difference,
    Tolerance,
    compare_runs,
    format_comparison,
)
from rnn_experiments.errors import ArgumentParser, UserError


def is_run_dir(path: Path) -> bool:
    return (path / run_store.HYDRA_DIR / "config.yaml").is_file()


def job_sort_key(sweep_dir: Path, job_dir: Path) -> tuple[int, str]:
    rel = job_dir.relative_to(sweep_dir).as_posix()
    return (len(rel), rel)


def expand_run_dirs(paths: list[Path]) -> list[Path]:
    """Run dirs as given; a sweep dir (with multirun.yaml) stands for each of its job dirs."""
    runs: list[Path] = []
    for path in paths:
        if is_run_dir(path):
            found = [path]
        elif (path / "multirun.yaml").is_file():
            found = sorted(
                (p.parent.parent for p in path.rglob(f"{run_store.HYDRA_DIR}/config.yaml")),
                key=lambda job: job_sort_key(path, job),
            )
            if not found:
                raise UserError(f"sweep dir {path} has no job dirs (none holds .hydra/config.yaml)")
        else:
            raise UserError(
                f"{path} is not a run dir (no .hydra/config.yaml) nor a sweep dir "
                "(no multirun.yaml); give directories that rnn-exp wrote"
            )
        for run in found:
            if not (run / run_store.RESULTS_FILE).is_file():
                raise UserError(
                    f"{run} has no {run_store.RESULTS_FILE} (the run never finished); there is "
                    "nothing to compare with (for a sweep, run rnn-exp-resume first)"
                )
        runs.extend(found)
    return runs


def quote_override_value(text: str) -> str:
    """`text` as a single-quoted Hydra override value (paths may hold commas, quotes, `=`)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def recorded_env(run_dir: Path) -> dict[str, str]:
    """The environment variables the run's Hydra config set for the job (hydra.job.env_set)."""
    try:
        hydra_yaml = run_dir / run_store.HYDRA_DIR / "hydra.yaml"
        hydra_cfg = yaml.safe_load(hydra_yaml.read_text("utf-8"))
        env_set = hydra_cfg["hydra"]["job"]["env_set"] or {}
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return {}
    return {str(k): str(v) for k, v in env_set.items()}


def rerun(original: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """Run `rnn-exp` on the original's saved job config, writing into `target`.

    The saved `.hydra/config.yaml` is the fully composed job config, so it is used as the
    primary config (on top of the typed schema, which checks it again); the defaults list and
    the conf/ files of today play no part. The new run records its own `.hydra/`.
    """
    job_config = (original / run_store.HYDRA_DIR / "config.yaml").read_text(encoding="utf-8")
    primary = "defaults:\n  - experiment_schema\n  - _self_\n\n" + job_config
    env = {**os.environ, **recorded_env(original)}
    with tempfile.TemporaryDirectory(prefix="rnn-exp-reproduce-") as config_dir:
        run_store.write_text_atomic(Path(config_dir) / "recorded_run.yaml", primary)
        command = [
            sys.executable,
            "-m",
            "rnn_experiments",
            "--config-dir",
            config_dir,
            "--config-name",
            "recorded_run",
            f"hydra.run.dir={quote_override_value(str(target.resolve()))}",
        ]
        return subprocess.run(command, env=env, capture_output=True, text=True)


def default_out_dir() -> Path:
    base = Path("outputs") / "reproductions" / datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
    out, n = base, 0
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def reproduce(runs: list[Path], out_dir: Path, tolerance: Tolerance | None) -> list[Comparison]:
    comparisons = []
    for i, original in enumerate(runs):
        target = out_dir / str(i)
        done = rerun(original, target)
        comparison = compare_runs(original, target, tolerance)
        if done.returncode != 0 and not (target / run_store.RESULTS_FILE).is_file():
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            comparison.differences.append(
                Difference("rnn-exp exit status", 0, done.returncode, "result", last)
            )
        comparisons.append(comparison)
        print(format_comparison(comparison), flush=True)
    run_store.write_json_atomic(
        out_dir / "reproduce.json", {"runs": [c.to_json() for c in comparisons]}
    )
    return comparisons


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(
        prog="rnn-exp-reproduce",
        description="Re-run recorded runs from their saved configs and compare the results.",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="run or sweep dir")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the re-runs go (default outputs/reproductions/<date>/<time>/<n>)",
    )
    parser.add_argument("--rtol", type=float, default=None, help="relative tolerance")
    parser.add_argument("--atol", type=float, default=None, help="absolute tolerance")
    try:
        args = parser.parse_args(argv)
        runs = expand_run_dirs(args.runs)
        tolerance = None
        if args.rtol is not None or args.atol is not None:
            rtol, atol = DEFAULT_TOLERANCE["float32"]
            tolerance = Tolerance(
                args.rtol if args.rtol is not None else rtol,
                args.atol if args.atol is not None else atol,
            )
        out_dir = args.out if args.out is not None else default_out_dir()
        if out_dir.exists() and any(out_dir.iterdir()):
            raise UserError(f"--out {out_dir} is not empty; give a new or empty directory")
    except UserError as exc:
        print(f"rnn-exp-reproduce: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    comparisons = reproduce(runs, out_dir, tolerance)
    failed = [c for c in comparisons if not c.reproduced]
    print(
        f"rnn-exp-reproduce: {len(comparisons) - len(failed)} of {len(comparisons)} run(s) "
        f"reproduced; re-runs in {out_dir}"
    )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
