"""rnn-exp-resume: a real sweep killed part-way (SIGKILL), then finished in its own dir."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd

from rnn_experiments.comparison import IGNORED_FIELDS, flatten_fields
from tests.conftest import BIN, read_json, run_cli

# Training jobs of ~0.2 s each: slow enough that the kill lands mid-sweep (a forward job takes
# ~30 ms under the fast launcher, too close to the test's polling), and their metrics.csv and
# model.pt are among the files that must survive the resume untouched.
SWEEP = ["seed=0,1,2,3,4,5", "experiment=hihello", "task.epochs=200"]
JOBS = 6


def hash_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def completed_jobs(sweep_dir: Path) -> list[int]:
    done = []
    for num in range(JOBS):
        path = sweep_dir / str(num) / "results.json"
        if path.is_file() and read_json(path)["status"] == "completed":
            done.append(num)
    return done


def comparable_results(job_dir: Path) -> dict:
    """A job's results without what differs on every run (times, dirs)."""
    flat = flatten_fields(read_json(job_dir / "results.json"))
    return {k: v for k, v in flat.items() if k not in IGNORED_FIELDS}


def start_and_kill_sweep(cwd: Path, sweep_dir: Path) -> None:
    """Start `rnn-exp -m`, and SIGKILL its process group once two jobs have results."""
    proc = subprocess.Popen(
        [str(BIN / "rnn-exp"), "-m", *SWEEP, f"hydra.sweep.dir={sweep_dir}"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while len(list(sweep_dir.glob("*/results.json"))) < 2:
            assert proc.poll() is None, f"the sweep ended (status {proc.returncode}) before 2 jobs"
            assert time.monotonic() < deadline, "the sweep made no progress in 300 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_killed_sweep_resumes_without_touching_completed_jobs(tmp_path):
    killed = tmp_path / "killed"
    start_and_kill_sweep(tmp_path, killed)
    survivors = completed_jobs(killed)
    assert 2 <= len(survivors) < JOBS, f"kill left {survivors} completed; expected part of {JOBS}"
    before = {num: hash_tree(killed / str(num)) for num in survivors}

    done = run_cli(str(killed), cwd=tmp_path, command="rnn-exp-resume")

    for num in range(JOBS):
        action = "completed, config unchanged: skipped" if num in survivors else "re-running"
        assert any(
            line.startswith(f"  job {num}: ") and line.endswith(action)
            for line in done.stdout.splitlines()
        ), done.stdout
    assert f"{len(survivors)} job(s) skipped, {JOBS - len(survivors)} run, 0 failed" in done.stdout
    assert completed_jobs(killed) == list(range(JOBS))
    assert {num: hash_tree(killed / str(num)) for num in survivors} == before

    clean = tmp_path / "clean"
    run_cli("-m", *SWEEP, f"hydra.sweep.dir={clean}", cwd=tmp_path)
    for num in range(JOBS):
        assert comparable_results(killed / str(num)) == comparable_results(clean / str(num)), num
    assert sorted(p.name for p in killed.iterdir()) == sorted(p.name for p in clean.iterdir())
    # The merged table the resume wrote at its end equals the uninterrupted sweep's.
    pd.testing.assert_frame_equal(merged_table(killed), merged_table(clean))


def merged_table(sweep_dir: Path) -> pd.DataFrame:
    table = pd.read_parquet(sweep_dir / "results.parquet")
    ignored = [c for c in table.columns if c in ("run_dir", "sweep_dir") or c in IGNORED_FIELDS]
    return table.drop(columns=ignored)


def test_changed_config_reruns_and_failed_jobs_are_named(tmp_path):
    # A preset outside conf/, found through the sweep's own hydra.searchpath, edited later.
    preset = tmp_path / "extra" / "experiment" / "wide.yaml"
    preset.parent.mkdir(parents=True)
    preset.write_text("# @package _global_\nmodel:\n  hidden_size: 3\n", encoding="utf-8")
    sweep_dir = tmp_path / "sweep"
    run_cli(
        "-m",
        f"hydra.searchpath=[file://{tmp_path / 'extra'}]",
        "experiment=wide",
        "dtype=float32,float16",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
        check=1,  # float16 is not a valid dtype: job 1 fails, job 0 completes
    )
    assert completed_jobs(sweep_dir) == [0]
    preset.write_text("# @package _global_\nmodel:\n  hidden_size: 4\n", encoding="utf-8")

    done = run_cli(str(sweep_dir), cwd=tmp_path, command="rnn-exp-resume", check=1)

    assert (
        "  job 0: config changed since it ran: model.hidden_size: 3 -> 4: re-running"
        in done.stdout.splitlines()
    )
    assert "  job 1: failed (UserError: dtype='float16' is not valid" in done.stdout
    assert done.stderr.splitlines()[-1].startswith(
        "rnn-exp-resume: 1 job(s) failed: 1 (UserError: dtype='float16' is not valid"
    )
    results = read_json(sweep_dir / "0" / "results.json")
    assert results["status"] == "completed"
    assert results["shapes"]["output"] == [3, 5, 4]


def test_not_a_sweep_dir_is_one_line_and_exit_2(tmp_path):
    done = run_cli(str(tmp_path), cwd=tmp_path, command="rnn-exp-resume", check=2)
    assert done.stderr == (
        f"rnn-exp-resume: error: {tmp_path} is not a sweep dir: it has no multirun.yaml "
        "(give the directory `rnn-exp -m` printed, holding multirun.yaml and job dirs)\n"
    )
    assert not list(tmp_path.iterdir())
