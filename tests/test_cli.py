"""`rnn-exp` as a user runs it: real Hydra app in a subprocess, single runs and multiruns."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import read_json, run_cli


def test_single_run_prints_named_shapes_and_writes_results(tmp_path):
    done = run_cli(f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert "input  (batch=3, seq=5, feature=4)" in done.stdout
    assert "h_n    (layers*directions=1, batch=3, hidden=2)" in done.stdout
    assert f"results: {tmp_path}/run/results.json" in done.stdout
    results = read_json(tmp_path / "run" / "results.json")
    assert results["status"] == "completed"
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()


def test_default_run_dir_is_under_outputs_runs(tmp_path):
    run_cli("experiment=seed_slide", cwd=tmp_path)
    [results_path] = (tmp_path / "outputs" / "runs").glob("*/*/results.json")
    assert read_json(results_path)["shapes"]["h_n"] == [1, 5, 2]


def test_help_and_cfg_job_work(tmp_path):
    help_text = run_cli("--help", cwd=tmp_path).stdout
    assert "Configuration groups" in help_text and "model: gru, lstm, rnn" in help_text
    job = run_cli("--cfg", "job", "model=lstm", cwd=tmp_path).stdout
    assert "cell: lstm" in job and "hidden_size: 2" in job
    assert not (tmp_path / "outputs").exists()


def test_multirun_writes_one_dir_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    run_cli(
        "-m", "model.hidden_size=1,2,4", "model.batch_first=true,false",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )
    jobs = sorted(int(p.parent.name) for p in sweep.glob("*/results.json"))
    assert jobs == list(range(6))
    seen = set()
    for job in jobs:
        results = read_json(sweep / str(job) / "results.json")
        assert results["status"] == "completed"
        h_n = results["shapes"]["h_n"]
        seen.add((h_n[2], results["shapes"]["axes"]["input"][0]))
        assert h_n[1] == 3  # three words whichever way round
    assert seen == {(h, first) for h in (1, 2, 4) for first in ("batch", "seq")}


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep = tmp_path / "sweep"
    done = run_cli("-m", "model.hidden_size=0,3", f"hydra.sweep.dir={sweep}",
                   cwd=tmp_path, check=1)
    failed = read_json(sweep / "0" / "results.json")
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "UserError"
    assert read_json(sweep / "1" / "results.json")["status"] == "completed"
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("rnn-exp: 1 job(s) failed: 0 (UserError: model.hidden_size=0")


BAD_INPUTS = [
    (["data.words=[hellx,hello]"], ["data.words[0]='hellx'", "'x' at position 4", "data.vocab"]),
    (["data.words=[]"], ["data.words is empty"]),
    (["data.words=[hello,'']"], ["data.words[1] is an empty word"]),
    (["data.words=[hello,hel]"], ["different lengths", "padding"]),
    (["data.vocab=[h,e,l,o,o]"], ["'o' twice"]),
    (["data.vocab=[h,e,ll,o]"], ["data.vocab[2]='ll'", "single character"]),
    (["model.hidden_size=0"], ["model.hidden_size=0", ">= 1"]),
    (["model.num_layers=0"], ["model.num_layers=0", ">= 1"]),
    (["model.dropout=1.5"], ["model.dropout=1.5", "[0, 1)"]),
    (["model=gru", "model.nonlinearity=relu"], ["model.nonlinearity='relu'", "model.cell=rnn"]),
]


@pytest.mark.parametrize(("overrides", "fragments"), BAD_INPUTS)
def test_bad_input_gets_one_line_and_exit_2(tmp_path, overrides, fragments):
    done = run_cli(*overrides, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path, check=2)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rnn-exp: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert read_json(tmp_path / "run" / "results.json")["status"] == "failed"


@pytest.mark.skipif(torch.cuda.is_available(), reason="cuda is available on this machine")
def test_unavailable_device_lists_the_available_ones(tmp_path):
    done = run_cli("device=cuda", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path, check=2)
    assert done.stderr.strip() == (
        "rnn-exp: error: device='cuda' is not available here; available: cpu, auto"
    )


@pytest.mark.parametrize(
    ("override", "fragment"),
    [("model.hiden_size=3", "model.hiden_size"), ("model.hidden_size=two", "hidden_size")],
)
def test_unknown_keys_and_wrong_types_name_the_key_without_a_traceback(tmp_path, override,
                                                                       fragment):
    done = run_cli(override, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path, check=1)
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
