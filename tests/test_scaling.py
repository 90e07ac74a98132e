"""Sweeps beyond one process, through Hydra's own launcher plugins (joblib, submitit)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import yaml
from hydra import compose, initialize_config_dir
from hydra.utils import get_class

from rnn_experiments import load_runs
from rnn_experiments.cli import CONF_DIR
from tests.conftest import read_json, run_cli

VOLATILE_PROVENANCE = ("start_time", "end_time", "duration_s", "run_dir")


def job_results(sweep_dir) -> dict[int, dict]:
    """Each job's results.json without the fields that differ between any two runs."""
    jobs = {}
    for path in sweep_dir.glob("*/results.json"):
        results = read_json(path)
        for key in VOLATILE_PROVENANCE:
            results["provenance"].pop(key, None)
        jobs[int(path.parent.name)] = results
    return jobs


def merged_table(sweep_dir) -> pd.DataFrame:
    """The sweep's automatic merge, without the columns that differ between any two sweeps."""
    table = pd.read_parquet(sweep_dir / "results.parquet")
    assert table.equals(load_runs(sweep_dir)), "the merge at sweep end is load_runs' table"
    run_specific = ["run_dir", "sweep_dir"] + [f"provenance.{key}" for key in VOLATILE_PROVENANCE]
    return table.drop(columns=run_specific).reset_index(drop=True)


def test_joblib_sweep_equals_the_sequential_sweep_row_by_row(tmp_path):
    sweep = ["-m", "model.hidden_size=1,3", "model=rnn,gru"]
    run_cli(*sweep, "hydra/launcher=basic", f"hydra.sweep.dir={tmp_path}/basic", cwd=tmp_path)
    run_cli(*sweep, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={tmp_path}/joblib", cwd=tmp_path)
    basic, joblib = job_results(tmp_path / "basic"), job_results(tmp_path / "joblib")
    assert sorted(basic) == sorted(joblib) == [0, 1, 2, 3]
    assert basic == joblib
    pd.testing.assert_frame_equal(
        merged_table(tmp_path / "basic"), merged_table(tmp_path / "joblib")
    )
    for job in range(4):
        assert (tmp_path / "basic" / str(job) / ".hydra" / "overrides.yaml").read_text() == (
            tmp_path / "joblib" / str(job) / ".hydra" / "overrides.yaml"
        ).read_text()


def test_a_failed_job_under_joblib_is_recorded_like_a_sequential_one(tmp_path):
    sweep_dir = tmp_path / "sweep"
    done = run_cli("-m", "model.hidden_size=2,0,3", "hydra/launcher=joblib",
                   "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}",
                   cwd=tmp_path, check=1)
    statuses = {job: r["status"] for job, r in job_results(sweep_dir).items()}
    assert statuses == {0: "completed", 1: "failed", 2: "completed"}
    assert read_json(sweep_dir / "1" / "results.json")["error"]["type"] == "UserError"
    assert "rnn-exp: 1 job(s) failed: 1 (UserError: model.hidden_size=0" in done.stderr
    table = merged_table(sweep_dir)
    assert table["status"].tolist() == ["completed", "failed", "completed"]
    assert "model.hidden_size=0" in table.loc[1, "reason"]


def test_submitit_local_runs_each_job_in_its_own_process(tmp_path):
    sweep_dir = tmp_path / "sweep"
    run_cli("-m", "model.hidden_size=2,3", "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=5", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    results = job_results(sweep_dir)
    assert sorted(results) == [0, 1]
    assert [results[j]["shapes"]["h_n"] for j in (0, 1)] == [[1, 3, 2], [1, 3, 3]]
    assert all(r["status"] == "completed" for r in results.values())
    assert list((sweep_dir / ".submitit").iterdir()), "submitit keeps its job files here"
    assert merged_table(sweep_dir)["shapes.h_n"].tolist() == ["1x3x2", "1x3x3"]


def test_slurm_preset_composes_to_the_submitit_slurm_launcher():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", ["hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert get_class(launcher._target_).__name__ == "SlurmLauncher"
    assert launcher.partition == "gpu"
    assert (launcher.timeout_min, launcher.cpus_per_task, launcher.mem_gb) == (60, 2, 4)
    assert launcher.array_parallelism == 64


def test_a_missing_plugin_is_named_with_how_to_install_it(tmp_path):
    """The plugin is hidden from the import system (as if not installed) in a real subprocess."""
    script = (
        "import sys; sys.modules['hydra_plugins.hydra_joblib_launcher'] = None; "
        "from rnn_experiments.cli import main; "
        "sys.argv = ['rnn-exp', '-m', 'hydra/launcher=joblib']; main()"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "rnn-exp: error: hydra/launcher=joblib needs the Hydra plugin hydra-joblib-launcher, "
        "which is not installed; install it with: pip install hydra-joblib-launcher  "
        "(or: pip install -e '.[sweep]')"
    )
    assert not (tmp_path / "multirun").exists() and not (tmp_path / "outputs").exists()


def test_optuna_search_is_repeatable_with_a_fixed_sampler_seed(tmp_path):
    search = ["-m", "hparams_search=hihello_optuna", "hydra.sweeper.n_trials=4",
              "hydra.sweeper.sampler.seed=7", "task.epochs=3"]
    for name in ("a", "b"):
        run_cli(*search, f"hydra.sweep.dir={tmp_path}/{name}", cwd=tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    best = yaml.safe_load((a / "optimization_results.yaml").read_text())
    assert best == yaml.safe_load((b / "optimization_results.yaml").read_text())
    losses = {}
    for job in range(4):
        trial = (a / str(job) / ".hydra" / "overrides.yaml").read_text()
        assert trial == (b / str(job) / ".hydra" / "overrides.yaml").read_text()
        assert "task.lr=" in trial and "model.cell=" in trial and "model.hidden_size=" in trial
        losses[job] = read_json(a / str(job) / "results.json")["metrics"]["final_loss"]
    assert best["best_value"] == min(losses.values())
    table = merged_table(a)
    assert table["job"].tolist() == [0, 1, 2, 3], "every trial is a row of the merged table"
    assert table["metrics.final_loss"].tolist() == [losses[job] for job in range(4)]
    assert set(best["best_params"]) == {"model.hidden_size", "task.lr", "model.cell"}
