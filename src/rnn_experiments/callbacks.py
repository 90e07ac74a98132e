"""Hydra callbacks that run in the launching process at the start and end of a multirun.

`SweepSummary` records the sweep in multirun.yaml when the sweeper does not, and at the end
reads the results.json of every job in the sweep dir (whatever launcher ran them, in whatever
process) and notes the failed ones for `rnn-exp` to report in its exit status.
`MergeResults` writes the sweep's merged table (report.load_runs) as results.csv and
results.parquet into the sweep dir. No torch here; pandas loads only when a merge runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from rnn_experiments.run_store import MULTIRUN_FILE, RESULTS_FILE, write_text_atomic

log = logging.getLogger("rnn_experiments")

# Filled by SweepSummary.on_multirun_end; read by cli.main after the app returns.
FAILED_JOBS: list[dict[str, Any]] = []


def failed_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """Jobs under `sweep_dir` whose results.json records a failure, in job-number order."""
    failed = []
    for path in sweep_dir.rglob(RESULTS_FILE):
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if results.get("status") == "failed":
            error = results.get("error", {})
            job = path.parent.relative_to(sweep_dir).as_posix()
            failed.append({"job": job, "reason": f"{error.get('type')}: {error.get('message')}"})
    return sorted(failed, key=lambda j: (len(j["job"]), j["job"]))


class SweepSummary(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Record the sweep in multirun.yaml as Hydra's basic sweeper does, for sweepers that
        don't (optuna): the report and rnn-exp-resume recognise a sweep dir by that file.
        The basic sweeper writes its own over this one."""
        path = Path(config.hydra.sweep.dir) / MULTIRUN_FILE
        if not path.exists():
            write_text_atomic(path, OmegaConf.to_yaml(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        FAILED_JOBS[:] = failed_jobs(sweep_dir)
        for job in FAILED_JOBS:
            log.error("job %s failed: %s", job["job"], job["reason"])


MERGED_FILES = ("results.csv", "results.parquet")


class MergeResults(Callback):
    """At multirun end, merge every job of the sweep into results.csv and results.parquet in
    the sweep dir and print where they are. Switch off with
    `hydra.callbacks.merge_results.enabled=false`."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        from rnn_experiments.errors import UserError
        from rnn_experiments.report import load_runs
        from rnn_experiments.tables import status_counts, write_table

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            runs = load_runs(sweep_dir)
        except UserError as exc:
            print(f"rnn-exp: no merged results: {exc}")
            return
        paths = [write_table(runs, sweep_dir / name) for name in MERGED_FILES]
        print(f"rnn-exp: merged {status_counts(runs)}")
        for path in paths:
            print(f"  {path}")
