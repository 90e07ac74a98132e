"""The runner in-process: shapes, the batch_first lesson, recorded results and failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from rnn_experiments.errors import UserError
from rnn_experiments.run_store import RESULTS_FILE, config_hash
from rnn_experiments.runner import execute_run
from tests.conftest import compose_config, read_json


def run(tmp_path, *overrides):
    cfg = compose_config(*overrides)
    return execute_run(OmegaConf.to_container(cfg, resolve=True), tmp_path)


def test_default_run_has_batch_first_shapes(tmp_path):
    results = run(tmp_path)
    assert results["status"] == "completed"
    shapes = results["shapes"]
    assert shapes["input"] == [3, 5, 4]
    assert shapes["output"] == [3, 5, 2]
    assert shapes["h_n"] == [1, 3, 2]
    assert shapes["axes"]["input"] == ["batch", "seq", "feature"]
    assert shapes["axes"]["h_n"] == ["layers*directions", "batch", "hidden"]
    assert len(results["norms"]["output_per_step"]) == 5
    assert len(results["norms"]["final_hidden_per_word"]) == 3
    assert results["reference"]["max_abs_diff"] <= 1e-5
    assert read_json(tmp_path / RESULTS_FILE) == json.loads(json.dumps(results))


def test_seed_slide_reproduces_the_original_mix_up(tmp_path):
    results = run(tmp_path, "experiment=seed_slide")
    shapes = results["shapes"]
    assert shapes["input"] == [3, 5, 4]
    assert shapes["axes"]["input"] == ["seq", "batch", "feature"]
    assert shapes["output"] == [3, 5, 2]
    assert shapes["h_n"] == [1, 5, 2]  # 5 "sequences", not 3 words
    assert len(results["norms"]["output_per_step"]) == 3
    assert len(results["norms"]["final_hidden_per_word"]) == 5


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_batch_first_true_and_false_agree_when_the_layout_follows(tmp_path, cell):
    first = run(tmp_path / "bf", f"model={cell}", "model.hidden_size=3", "model.batch_first=true")
    second = run(tmp_path / "sf", f"model={cell}", "model.hidden_size=3", "model.batch_first=false")
    assert second["shapes"]["input"] == [5, 3, 4]
    assert first["shapes"]["h_n"] == second["shapes"]["h_n"] == [1, 3, 3]
    np.testing.assert_array_equal(
        np.array(first["values"]["output"]), np.array(second["values"]["output"]).transpose(1, 0, 2)
    )
    assert first["values"]["h_n"] == second["values"]["h_n"]
    assert first["norms"] == second["norms"]


def test_lstm_records_its_cell_state(tmp_path):
    results = run(tmp_path, "model=lstm")
    assert results["shapes"]["c_n"] == [1, 3, 2]
    assert "c_n" in results["norms"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deep_bidirectional_stays_within_reference_tolerance(tmp_path, dtype):
    results = run(tmp_path, "experiment=deep_bigru", f"dtype={dtype}")
    assert results["shapes"]["h_n"] == [4, 3, 3]
    assert results["shapes"]["output"] == [3, 5, 6]
    assert results["reference"]["max_abs_diff"] <= results["reference"]["tolerance"]
    assert results["reference"]["tolerance"] == {"float32": 1e-5, "float64": 1e-12}[dtype]


def test_provenance_says_how_the_result_was_made(tmp_path):
    cfg = compose_config("seed=3")
    config = OmegaConf.to_container(cfg, resolve=True)
    prov = execute_run(config, tmp_path)["provenance"]
    for key in ("python", "torch", "numpy", "hydra-core", "host", "start_time", "end_time"):
        assert prov[key]
    assert prov["seed"] == 3
    assert prov["device_name"] == "cpu"
    assert prov["duration_s"] >= 0
    assert prov["config_hash"] == config_hash(config)
    assert "git_commit" in prov and "git_dirty" in prov


def test_config_hash_is_stable_and_sensitive():
    a = OmegaConf.to_container(compose_config(), resolve=True)
    b = OmegaConf.to_container(compose_config(), resolve=True)
    c = OmegaConf.to_container(compose_config("model.hidden_size=3"), resolve=True)
    assert config_hash(a) == config_hash(b) != config_hash(c)


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    a = run(tmp_path / "a", "seed=1")
    b = run(tmp_path / "b", "seed=1")
    c = run(tmp_path / "c", "seed=2")
    assert a["values"] == b["values"] != c["values"]


def test_a_rejected_config_is_recorded_as_failed(tmp_path):
    cfg = compose_config("model.hidden_size=0")
    with pytest.raises(UserError):
        execute_run(OmegaConf.to_container(cfg, resolve=True), tmp_path)
    results = read_json(tmp_path / RESULTS_FILE)
    assert results["status"] == "failed"
    assert results["error"]["type"] == "UserError"
    assert "model.hidden_size=0" in results["error"]["message"]
    assert "Traceback" in results["error"]["traceback"]
    assert [p.name for p in tmp_path.iterdir()] == [RESULTS_FILE]  # no temp file left behind


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_matches_the_reference(tmp_path):
    results = run(tmp_path, "device=cuda", "experiment=deep_bigru")
    assert results["provenance"]["device_resolved"].startswith("cuda")
    assert results["reference"]["max_abs_diff"] <= 1e-5


def test_results_are_readable_like_any_written_file(tmp_path):
    run(tmp_path)
    mode = (tmp_path / RESULTS_FILE).stat().st_mode & 0o777
    probe = tmp_path / "probe"
    probe.write_text("x")
    assert mode == probe.stat().st_mode & 0o777
