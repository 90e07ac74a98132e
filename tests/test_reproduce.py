"""rnn-exp-reproduce: real runs re-run from their saved configs, and the comparison's rules."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from rnn_experiments.comparison import (
    EXACT,
    FAILED,
    WITHIN,
    Tolerance,
    compare_runs,
    flatten_fields,
)
from tests.conftest import read_json, run_cli


def hash_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory) -> Path:
    """One real forward run (an LSTM, so c_n is recorded too)."""
    cwd = tmp_path_factory.mktemp("recorded")
    run_cli("model=lstm", "seed=7", "hydra.run.dir=outputs/runs/original", cwd=cwd)
    return cwd / "outputs" / "runs" / "original"


def copy_run(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir, dest)
    return dest


def test_forward_run_reproduces_exactly_without_touching_the_original(recorded_run, tmp_path):
    before = hash_tree(recorded_run)
    done = run_cli(str(recorded_run), "--out", "repro", cwd=tmp_path, command="rnn-exp-reproduce")
    assert f"verdict: {EXACT}" in done.stdout
    assert "1 of 1 run(s) reproduced" in done.stdout
    assert hash_tree(recorded_run) == before

    summary = read_json(tmp_path / "repro" / "reproduce.json")["runs"]
    assert [run["verdict"] for run in summary] == [EXACT]
    assert summary[0]["same_environment"] is True
    original = flatten_fields(read_json(recorded_run / "results.json"))
    again = flatten_fields(read_json(tmp_path / "repro" / "0" / "results.json"))
    assert again["norms.c_n"] == original["norms.c_n"]
    assert again["values.h_n"] == original["values.h_n"]
    assert again["provenance.config_hash"] == original["provenance.config_hash"]
    assert again["provenance.determinism.deterministic"] is True
    # The re-run is a run of its own, with Hydra's record of how it was made.
    assert (tmp_path / "repro" / "0" / ".hydra" / "config.yaml").is_file()


def test_tampered_result_does_not_reproduce_and_names_the_field(recorded_run, tmp_path):
    tampered = copy_run(recorded_run, tmp_path / "tampered")
    results = read_json(tampered / "results.json")
    results["norms"]["h_n"] += 1e-3
    write_json(tampered / "results.json", results)

    done = run_cli(str(tampered), cwd=tmp_path, command="rnn-exp-reproduce", check=1)
    assert f"verdict: {FAILED}" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines()]
    assert any(row[:1] == ["norms.h_n"] and "result" in row for row in rows), done.stdout
    assert "0 of 1 run(s) reproduced" in done.stdout
    # The default place for re-runs, next to the other outputs of the working dir.
    assert list((tmp_path / "outputs" / "reproductions").glob("*/*/0/results.json"))


def test_training_run_reproduces_exactly_metrics_and_weights_included(tmp_path):
    run_cli("experiment=hihello", "model.head=linear", "task.epochs=15", "hydra.run.dir=train",
            cwd=tmp_path)
    done = run_cli("train", "--out", "repro", cwd=tmp_path, command="rnn-exp-reproduce")
    assert f"verdict: {EXACT}" in done.stdout
    original, again = tmp_path / "train", tmp_path / "repro" / "0"
    assert (again / "metrics.csv").read_bytes() == (original / "metrics.csv").read_bytes()
    assert (again / "model.pt").read_bytes() == (original / "model.pt").read_bytes()
    assert read_json(again / "results.json")["metrics"] == read_json(original / "results.json")[
        "metrics"
    ]


def test_sweep_dir_reproduces_every_job(tmp_path):
    run_cli("-m", "model=rnn,gru", "hydra.sweep.dir=sweep", cwd=tmp_path)
    done = run_cli("sweep", "--out", "repro", cwd=tmp_path, command="rnn-exp-reproduce")
    assert done.stdout.count(f"verdict: {EXACT}") == 2
    summary = read_json(tmp_path / "repro" / "reproduce.json")["runs"]
    assert [Path(run["original"]).name for run in summary] == ["0", "1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "nowhere is not a run dir (no .hydra/config.yaml) nor a sweep dir"),
        ([], "the following arguments are required: RUN_DIR"),
        (["{run}", "--rtol", "tight"], "argument --rtol: invalid float value: 'tight'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(recorded_run, tmp_path, args, message):
    args = [a.format(run=recorded_run) for a in args]
    done = run_cli(*args, cwd=tmp_path, command="rnn-exp-reproduce", check=2)
    assert done.stderr.startswith(f"rnn-exp-reproduce: error: {message}")
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "outputs").exists()


def test_unfinished_run_is_bad_input(recorded_run, tmp_path):
    unfinished = copy_run(recorded_run, tmp_path / "unfinished")
    (unfinished / "results.json").unlink()
    done = run_cli(str(unfinished), cwd=tmp_path, command="rnn-exp-reproduce", check=2)
    assert "has no results.json (the run never finished)" in done.stderr


# The comparison alone, on copies of a real run dir: the rules a verdict follows.


@pytest.fixture
def pair(recorded_run, tmp_path) -> tuple[Path, Path]:
    return copy_run(recorded_run, tmp_path / "a"), copy_run(recorded_run, tmp_path / "b")


def edit_results(run_dir: Path, edit) -> None:
    results = read_json(run_dir / "results.json")
    edit(results)
    write_json(run_dir / "results.json", results)


def test_times_dirs_and_host_do_not_decide(pair):
    a, b = pair

    def move(results):
        prov = results["provenance"]
        prov.update(start_time="x", end_time="y", duration_s=99.0, run_dir="/elsewhere")
        prov["host"] = "another-host"

    edit_results(b, move)
    comparison = compare_runs(a, b)
    assert comparison.verdict == EXACT
    assert [(d.field, d.kind) for d in comparison.differences] == [("provenance.host", "info")]


def test_code_change_is_listed_but_results_decide(pair):
    a, b = pair
    def other_checkout(results):
        prov = results["provenance"]
        prov.update(git_commit="0" * 40, git_dirty=not prov["git_dirty"])

    edit_results(b, other_checkout)
    comparison = compare_runs(a, b)
    assert comparison.verdict == EXACT
    assert {d.field: d.kind for d in comparison.differences} == {
        "provenance.git_commit": "context",
        "provenance.git_dirty": "context",
    }


def test_same_environment_demands_bit_identical_numbers(pair):
    a, b = pair
    edit_results(b, lambda r: r["norms"].update(output=r["norms"]["output"] * (1 + 1e-12)))
    comparison = compare_runs(a, b)
    assert comparison.verdict == FAILED
    (diff,) = comparison.differences
    assert diff.field == "norms.output" and "not bit-identical" in diff.note


def test_other_torch_version_allows_the_tolerance_and_says_so(pair):
    a, b = pair

    def port(results):
        results["provenance"]["torch"] = "9.9.9"
        results["norms"]["output"] *= 1 + 1e-7
        results["values"]["h_n"][0][0][0] += 1e-7

    edit_results(b, port)
    comparison = compare_runs(a, b, Tolerance(rtol=1e-5, atol=1e-6))
    assert comparison.verdict == WITHIN
    assert comparison.headline().startswith(f"{WITHIN} (rtol=1e-05, atol=1e-06;")
    fields = {d.field for d in comparison.differences}
    assert fields == {"provenance.torch", "norms.output", "values.h_n"}

    edit_results(b, lambda r: r["values"]["h_n"][0][0].__setitem__(1, 5.0))
    comparison = compare_runs(a, b, Tolerance(rtol=1e-5, atol=1e-6))
    assert comparison.verdict == FAILED
    note = next(d.note for d in comparison.differences if d.field == "values.h_n")
    assert "beyond tolerance" in note


def test_shapes_and_flags_must_match_even_across_platforms(pair):
    a, b = pair

    def port(results):
        results["provenance"]["platform"] = "Other-OS"
        results["shapes"]["h_n"] = [2, 3, 2]

    edit_results(b, port)
    assert compare_runs(a, b, Tolerance(rtol=1.0, atol=1.0)).verdict == FAILED


def test_metrics_csv_is_compared_column_by_column_except_clock_columns(pair):
    a, b = pair
    rows = "epoch,loss,accuracy,epoch_time_s\n1,1.3862943611,0.25,0.0112\n2,1.2011,0.5,0.0098\n"
    (a / "metrics.csv").write_text(rows, encoding="utf-8")
    (b / "metrics.csv").write_text(rows.replace("0.0098", "0.0131"), encoding="utf-8")
    assert compare_runs(a, b).verdict == EXACT

    (b / "metrics.csv").write_text(rows.replace("1.2011", "1.2012"), encoding="utf-8")
    comparison = compare_runs(a, b)
    assert comparison.verdict == FAILED
    assert [d.field for d in comparison.differences] == ["metrics.csv:loss"]

    (b / "metrics.csv").unlink()
    comparison = compare_runs(a, b)
    assert comparison.verdict == FAILED
    assert [(d.field, d.original, d.reproduction) for d in comparison.differences] == [
        ("metrics.csv", "present", "absent")
    ]


def test_other_run_files_must_be_byte_identical(pair):
    a, b = pair
    (a / "model.pt").write_bytes(b"\x00weights-a")
    (b / "model.pt").write_bytes(b"\x00weights-b")
    comparison = compare_runs(a, b)
    assert comparison.verdict == FAILED
    assert [d.field for d in comparison.differences] == ["file model.pt"]
    # Logs and Hydra's own files are the run's diary, not its results.
    (b / "model.pt").write_bytes(b"\x00weights-a")
    (b / "rnn-exp.log").write_text("another day\n", encoding="utf-8")
    assert compare_runs(a, b).verdict == EXACT


def test_comparison_needs_no_torch():
    import subprocess
    import sys

    code = (
        "import sys, rnn_experiments.reproduce, rnn_experiments.comparison; "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
