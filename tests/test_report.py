"""The report: load_runs over real Hydra run and sweep dirs, rnn-exp-report, the automatic merge.

One module-scoped set of real `rnn-exp` runs (two sweeps, one with a failing job, and a single
run) feeds every test; tests that break runs work on copies.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from rnn_experiments import load_runs
from rnn_experiments.errors import UserError
from rnn_experiments.hydra_files import flatten, flatten_simple_yaml, flatten_yaml
from rnn_experiments.report import parse_results
from rnn_experiments.tables import group_metrics
from tests.conftest import read_json, run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict:
    """Real runs: sweep a (hidden 1,2 x seed 0,1), sweep b (an LSTM whose job 0 fails),
    a single run, and a sweep with the merge switched off."""
    root = tmp_path_factory.mktemp("outputs")
    done = {}
    done["done_a"] = run_cli(
        "-m", "model.hidden_size=1,2", "seed=0,1", f"hydra.sweep.dir={root}/sweeps/a", cwd=root
    )
    done["done_b"] = run_cli(
        "-m",
        "model=lstm",
        "model.num_layers=0,1",
        f"hydra.sweep.dir={root}/sweeps/b",
        cwd=root,
        check=1,
    )
    done["done_single"] = run_cli("seed=3", f"hydra.run.dir={root}/runs/one", cwd=root)
    done["done_off"] = run_cli(
        "-m",
        "seed=5",
        "hydra.callbacks.merge_results.enabled=false",
        f"hydra.sweep.dir={root}/off",
        cwd=root,
    )
    return {"root": root, "a": root / "sweeps" / "a", "b": root / "sweeps" / "b", **done}


def copy_sweep(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for name in ("results.csv", "results.parquet"):
        (dst / name).unlink(missing_ok=True)
    return dst


# --- the automatic merge -----------------------------------------------------------------------


def test_multirun_end_writes_merged_table_matching_load_runs(outputs):
    sweep = outputs["a"]
    assert f"merged 4 runs: 4 completed\n  {sweep / 'results.csv'}" in outputs["done_a"].stdout
    assert str(sweep / "results.parquet") in outputs["done_a"].stdout
    expected = load_runs(sweep)
    merged = pd.read_parquet(sweep / "results.parquet")
    pd.testing.assert_frame_equal(merged, expected)
    from_csv = pd.read_csv(sweep / "results.csv")
    assert list(from_csv.columns) == list(expected.columns)
    assert list(from_csv["norms.h_n"]) == list(expected["norms.h_n"])


def test_failed_job_still_fails_the_sweep_after_the_merge(outputs):
    done, sweep = outputs["done_b"], outputs["b"]
    assert "1 job(s) failed: 0 (UserError: model.num_layers=0" in done.stderr
    assert "merged 2 runs: 1 completed, 1 failed" in done.stdout
    runs = pd.read_parquet(sweep / "results.parquet")
    assert list(runs["status"]) == ["failed", "completed"]
    assert runs["reason"][0].startswith("UserError: model.num_layers=0 is not valid")
    assert list(runs["model"]) == ["lstm", "lstm"]  # the config-group override's own column


def test_merge_can_be_switched_off(outputs):
    off = outputs["root"] / "off"
    assert (off / "0" / "results.json").is_file()
    assert not (off / "results.csv").exists() and not (off / "results.parquet").exists()
    assert "merged" not in outputs["done_off"].stdout


# --- load_runs -----------------------------------------------------------------------------------


def test_single_runs_and_two_sweeps_in_one_table(outputs):
    root = outputs["root"]
    runs = load_runs(root / "sweeps", root / "runs", outputs["a"] / "0")  # a/0 found twice
    assert len(runs) == 7  # ordered by path: runs/one, then sweeps a and b by job
    assert (
        list(runs["sweep_dir"].fillna("-"))
        == ["-"] + [str(outputs["a"])] * 4 + [str(outputs["b"])] * 2
    )
    assert runs["job"].dtype == "Int64"
    assert list(runs["job"].astype("float").fillna(-1)) == [-1, 0, 1, 2, 3, 0, 1]
    single = runs.iloc[0]
    assert single["run_dir"] == str(root / "runs" / "one")
    assert single["seed"] == 3 and single["overrides"] == "seed=3"
    first = runs.iloc[1]
    assert first["overrides"] == "model.hidden_size=1 seed=0"
    assert first["model.hidden_size"] == 1 and first["seed"] == 0
    assert first["data.words"] == "hello,eolll,lleel"
    assert first["shapes.h_n"] == "1x3x1" and first["shapes.input"] == "3x5x4"
    assert first["shapes.axes.h_n"] == "layers*directions,batch,hidden"
    results = read_json(outputs["a"] / "0" / "results.json")
    assert first["norms.h_n"] == results["norms"]["h_n"]
    assert first["reference.max_abs_diff"] == results["reference"]["max_abs_diff"]
    assert first["provenance.config_hash"] == results["provenance"]["config_hash"]
    assert not [c for c in runs.columns if c.startswith("values.") or c == "error.traceback"]
    assert list(runs.columns[:6]) == [
        "run_dir",
        "sweep_dir",
        "job",
        "status",
        "reason",
        "overrides",
    ]
    assert runs["norms.c_n"].notna().tolist() == [False] * 5 + [False, True]
    lone = load_runs(outputs["a"] / "2")
    assert lone["sweep_dir"].tolist() == [str(outputs["a"])] and lone["job"].tolist() == [2]


def test_jobs_are_ordered_as_numbers(outputs, tmp_path):
    sweep = copy_sweep(outputs["a"], tmp_path / "sweep")
    for job in range(4, 12):
        shutil.copytree(sweep / "0", sweep / str(job))
    runs = load_runs(sweep)
    assert runs["job"].tolist() == list(range(12))
    assert runs["run_dir"].tolist() == [str(sweep / str(job)) for job in range(12)]


def test_job_numbers_come_from_hydra_yaml_when_dirs_are_not_named_by_number(outputs, tmp_path):
    sweep = copy_sweep(outputs["a"], tmp_path / "sweep")
    multirun = sweep / "multirun.yaml"
    text = multirun.read_text()
    assert "    subdir: ${hydra.job.num}\n" in text
    multirun.write_text(text.replace("subdir: ${hydra.job.num}", "subdir: run_${hydra.job.num}"))
    for job in (3, 2, 1, 0):
        (sweep / str(job)).rename(sweep / f"z{3 - job}")  # names sort against job order
    runs = load_runs(sweep)
    assert runs["job"].tolist() == [0, 1, 2, 3]
    assert runs["run_dir"].tolist() == [str(sweep / f"z{3 - job}") for job in range(4)]


def test_broken_runs_become_rows_with_a_reason(outputs, tmp_path):
    sweep = copy_sweep(outputs["a"], tmp_path / "sweep")
    (sweep / "1" / "results.json").unlink()
    text = (sweep / "2" / "results.json").read_text()
    (sweep / "2" / "results.json").write_text(text[: len(text) // 2])
    shutil.rmtree(sweep / "3" / ".hydra")
    runs = load_runs(sweep)
    assert runs["status"].tolist() == ["completed", "incomplete", "corrupt", "completed"]
    reasons = runs["reason"].tolist()
    assert pd.isna(reasons[0])
    assert reasons[1] == "no results.json (still running, or killed)"
    assert reasons[2].startswith("unreadable results.json: ")
    assert reasons[3] == "no .hydra dir, so no config columns"
    assert pd.isna(runs["model.hidden_size"][3]) and runs["norms.h_n"].notna()[3]
    assert runs["model.hidden_size"][1] == 1 and pd.isna(runs["norms.h_n"][1])
    done = run_cli(str(sweep), str(outputs["b"]), cwd=tmp_path, command="rnn-exp-report")
    assert "6 runs: 3 completed, 1 failed, 1 incomplete, 1 corrupt" in done.stdout
    assert "no results.json (still running, or killed)" in done.stdout


def test_group_by_gives_mean_std_count_across_seeds(outputs):
    runs = load_runs(outputs["a"])
    table = group_metrics(runs, ["model.hidden_size"])
    assert table["model.hidden_size"].tolist() == [1, 2]
    assert table["runs"].tolist() == [2, 2]
    for size in (1, 2):
        values = runs.loc[runs["model.hidden_size"] == size, "norms.h_n"]
        got = table.loc[table["model.hidden_size"] == size]
        assert math.isclose(got["norms.h_n.mean"].item(), values.mean())
        assert math.isclose(got["norms.h_n.std"].item(), values.std())
        assert got["norms.h_n.count"].item() == 2
    done = run_cli(
        str(outputs["a"]),
        "--group-by",
        "model.hidden_size",
        "--columns",
        "norms.output",
        cwd=outputs["root"],
        command="rnn-exp-report",
    )
    header = done.stdout.splitlines()[0].split()
    assert header == [
        "model.hidden_size",
        "runs",
        "norms.output.mean",
        "norms.output.std",
        "norms.output.count",
    ]


# --- rnn-exp-report ------------------------------------------------------------------------------


def test_default_view_shows_what_varies_and_the_key_metrics(outputs):
    done = run_cli(str(outputs["a"]), cwd=outputs["a"], command="rnn-exp-report")
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "run",
        "status",
        "model.hidden_size",
        "seed",
        "norms.output",
        "norms.h_n",
        "reference.max_abs_diff",
        "reference.within_tolerance",
    ]
    assert lines[1].split()[:4] == ["0", "completed", "1", "0"]
    assert lines[-1] == "4 runs: 4 completed"


def test_csv_and_parquet_round_trip(outputs, tmp_path):
    expected = load_runs(outputs["root"])
    for name in ("all.csv", "all.parquet"):
        done = run_cli(
            str(outputs["root"]), "-o", str(tmp_path / name), cwd=tmp_path, command="rnn-exp-report"
        )
        assert f"wrote 8 rows x {len(expected.columns)} columns" in done.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "all.parquet"), expected)
    from_csv = pd.read_csv(tmp_path / "all.csv", dtype={"job": "Int64"})
    assert list(from_csv.columns) == list(expected.columns)
    for column in expected.columns:
        left, right = from_csv[column], expected[column]
        assert left.isna().tolist() == right.isna().tolist(), column
        if pd.api.types.is_float_dtype(right):
            assert left.dropna().tolist() == right.dropna().tolist(), column  # exact floats
        else:
            assert [str(v) for v in left.dropna()] == [str(v) for v in right.dropna()], column


def test_markdown_output(outputs, tmp_path):
    run_cli(
        str(outputs["a"]), "-o", str(tmp_path / "t.md"), cwd=outputs["a"], command="rnn-exp-report"
    )
    lines = (tmp_path / "t.md").read_text().splitlines()
    assert lines[0].startswith("| run | status | model.hidden_size | seed | norms.output |")
    assert set(lines[1]) == {"|", "-"} and len(lines) == 2 + 4
    assert lines[2].startswith("| 0 | completed | 1 | 0 | ")


def test_plot_is_a_real_png(outputs, tmp_path):
    out = tmp_path / "h.png"
    done = run_cli(
        str(outputs["a"]),
        "--plot",
        "model.hidden_size",
        "norms.h_n",
        "--hue",
        "seed",
        "--out",
        str(out),
        cwd=tmp_path,
        command="rnn-exp-report",
    )
    assert f"plot of norms.h_n against model.hidden_size written to {out}" in done.stdout
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(out)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # something is drawn


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["EMPTY"], "rnn-exp-report: error: no runs found under"),
        (["MISSING"], "rnn-exp-report: error: path"),
        (["A", "-o", "t.txt"], "rnn-exp-report: error: -o 't.txt' is not valid"),
        (
            ["A", "--columns", "model.hiden_size"],
            "rnn-exp-report: error: unknown column 'model.hiden_size'; did you mean "
            "'model.hidden_size'?",
        ),
        (["A", "--plot", "seed", "status"], "rnn-exp-report: error: column 'status' is not"),
    ],
)
def test_errors_are_one_line_and_exit_2(outputs, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    where = {
        "EMPTY": str(tmp_path / "empty"),
        "MISSING": str(tmp_path / "nope"),
        "A": str(outputs["a"]),
    }
    done = run_cli(
        *[where.get(a, a) for a in args], cwd=tmp_path, command="rnn-exp-report", check=2
    )
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_report_never_imports_torch(outputs):
    code = (
        "import sys, rnn_experiments\n"
        "assert 'pandas' not in sys.modules\n"
        "runs = rnn_experiments.load_runs(sys.argv[1])\n"
        "from rnn_experiments import report_cli\n"
        "report_cli.main([sys.argv[1], '--group-by', 'seed'])\n"
        "print(len(runs), 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(outputs["root"])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "8 False"


def test_load_runs_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no runs found under"):
        load_runs(tmp_path)
    with pytest.raises(UserError, match="no path given"):
        load_runs()


# --- the fast readers give what the standard parsers give -------------------------------------


def test_hydra_config_takes_the_fast_path(outputs):
    text = (outputs["a"] / "0" / ".hydra" / "config.yaml").read_text()
    fast = flatten_simple_yaml(text)
    assert fast is not None and fast == flatten(yaml.safe_load(text), {})


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="$"), max_size=30
    ),
    st.sampled_from(
        [
            "null",
            "true",
            "Yes",
            "OFF",
            "010",
            "1_0",
            "-0",
            "0x1f",
            ".inf",
            "seed=5",
            "model.hidden_size=2",
            "1e3",
            "-1",
            "- x",
            "a: b",
            "'q'",
            "#c",
            "2026-12-03",
            "~",
            "on",
            "[1]",
            "x" * 90 + " y" * 20,
        ]
    ),
)
keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
    st.sampled_from(["null", "on", "true", "1", "a b", "x.y", "-k"]),
)
configs = st.recursive(
    st.dictionaries(keys, st.one_of(scalars, st.lists(scalars, max_size=4)), max_size=5),
    lambda children: st.dictionaries(
        keys, st.one_of(children, st.lists(children, max_size=2)), max_size=4
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(configs)
def test_fast_yaml_flattening_agrees_with_pyyaml(config):
    for text in (
        OmegaConf.to_yaml(OmegaConf.create(config)),
        yaml.safe_dump(config, sort_keys=False, default_flow_style=False),
    ):
        expected = flatten(yaml.safe_load(text), {})
        fast = flatten_simple_yaml(text)
        assert fast is None or fast == expected
        assert flatten_yaml(text) == expected


def test_results_are_parsed_without_their_values(outputs):
    data = (outputs["a"] / "0" / "results.json").read_bytes()
    full = json.loads(data)
    parsed = parse_results(data)
    assert "values" not in parsed
    del full["values"]
    assert parsed == full
    with pytest.raises(ValueError):
        parse_results(data[: len(data) - 40])
