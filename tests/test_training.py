"""The train task: the classic presets, determinism, records on disk, progress, bad configs.

Most runs are in-process (real Hydra composition, real torch, real files in tmp_path); a few
run the real `rnn-exp` console script to see exactly what a user sees.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from rnn_experiments.errors import UserError
from rnn_experiments.model import CharRNN
from rnn_experiments.runner import execute_run
from rnn_experiments.training import METRICS_FILE, MODEL_FILE, build_training_data, run_train
from tests.conftest import compose_config, read_json, run_cli

LONG_SENTENCE = (
    "if you want to build a ship, don't drum up people together to collect wood and don't "
    "assign them tasks and work, but rather teach them to long for the endless immensity of "
    "the sea."
)


def train(run_dir: Path, *overrides: str) -> dict[str, Any]:
    cfg = compose_config(*overrides)
    return execute_run(OmegaConf.to_container(cfg, resolve=True), run_dir)


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / METRICS_FILE, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_hihello_with_linear_head_predicts_ihello(tmp_path: Path) -> None:
    results = train(tmp_path, "experiment=hihello", "model.head=linear")
    metrics = results["metrics"]
    assert metrics["prediction"] == ["ihello"]
    assert metrics["target"] == ["ihello"]
    assert metrics["accuracy"] == 1.0
    assert metrics["epochs"] == 100
    rows = metrics_rows(tmp_path)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 101))
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert json.loads(rows[-1]["prediction"]) == ["ihello"]
    assert read_json(tmp_path / "results.json")["metrics"] == metrics


def test_model_pt_loads_with_weights_only_and_reproduces_the_prediction(tmp_path: Path) -> None:
    results = train(tmp_path, "experiment=hihello", "model.head=linear", "task.epochs=40")
    state = torch.load(tmp_path / MODEL_FILE, weights_only=True)
    assert {"cell.weight_ih_l0", "head.weight", "head.bias"} <= set(state)

    cfg = compose_config("experiment=hihello", "model.head=linear")
    model = CharRNN(cfg.model, len(cfg.data.vocab))
    model.load_state_dict(state)
    data = build_training_data(cfg, torch.device("cpu"))
    with torch.no_grad():
        codes = model.eval()(data.x).argmax(dim=-1)[0].tolist()
    assert ["".join(cfg.data.vocab[c] for c in codes)] == results["metrics"]["prediction"]


def test_hihello_without_head_uses_raw_outputs_as_logits(tmp_path: Path) -> None:
    results = train(tmp_path, "experiment=hihello")
    state = torch.load(tmp_path / MODEL_FILE, weights_only=True)
    assert not any(key.startswith("head.") for key in state)
    assert results["shapes"]["logits"] == [1, 6, 5]
    (prediction,) = results["metrics"]["prediction"]
    assert len(prediction) == 6 and set(prediction) <= set("hielo")


def test_charseq_runs(tmp_path: Path) -> None:
    results = train(tmp_path, "experiment=charseq", "task.epochs=5")
    assert results["shapes"]["input"] == [1, 15, 10]
    assert results["metrics"]["target"] == ["if you want you"]
    assert len(results["metrics"]["prediction"][0]) == 15
    assert len(metrics_rows(tmp_path)) == 5


def test_longseq_reconstructs_the_sentence(tmp_path: Path) -> None:
    results = train(tmp_path, "experiment=longseq")
    metrics = results["metrics"]
    assert results["batch_size"] == len(LONG_SENTENCE) - 10
    assert results["shapes"]["input"] == [len(LONG_SENTENCE) - 10, 10, 25]
    assert metrics["reconstructed_target"] == LONG_SENTENCE[1:]
    assert len(metrics["reconstructed"]) == len(LONG_SENTENCE) - 1
    # The lesson's network learns most of the sentence in 100 epochs.
    assert metrics["accuracy"] > 0.8


def test_packed_words_train_padded_or_packed_alike(tmp_path: Path) -> None:
    common = ("experiment=packed", "task=train", "model.head=linear", "task.epochs=5")
    padded = train(tmp_path / "pad", *common, "data.padding=pad")
    packed = train(tmp_path / "pack", *common, "data.padding=pack")
    assert packed["lengths"] == [10, 7, 10, 3, 12]
    # The loss counts valid steps only, which a forward cell computes the same either way.
    pad_losses = [float(r["loss"]) for r in metrics_rows(tmp_path / "pad")]
    pack_losses = [float(r["loss"]) for r in metrics_rows(tmp_path / "pack")]
    assert pad_losses == pytest.approx(pack_losses, rel=1e-4)
    assert padded["metrics"]["final_loss"] == pytest.approx(
        packed["metrics"]["final_loss"], rel=1e-4
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_seq_major_bidirectional_cells_train_packed(tmp_path: Path, cell: str) -> None:
    results = train(
        tmp_path,
        "experiment=packed",
        "task=train",
        f"model={cell}",
        "model.hidden_size=8",
        "model.head=linear",
        "model.batch_first=false",
        "model.bidirectional=true",
        "task.epochs=3",
    )
    assert results["input_layout"] == "seq_major"
    assert results["shapes"]["logits"] == [12, 5, 19]
    assert results["shapes"]["axes"]["logits"] == ["seq", "batch", "vocab"]
    assert [len(p) for p in results["metrics"]["prediction"]] == [10, 7, 10, 3, 12]
    assert len(metrics_rows(tmp_path)) == 3


def test_same_config_gives_bit_identical_metrics(tmp_path: Path) -> None:
    # Two layers with dropout, so the random stream matters during training too.
    overrides = ("experiment=charseq", "model.num_layers=2", "model.dropout=0.3", "task.epochs=15")
    first = train(tmp_path / "a", *overrides)
    second = train(tmp_path / "b", *overrides)
    other_seed = train(tmp_path / "c", *overrides, "seed=1")
    assert first["metrics"] == second["metrics"]
    csv_a = (tmp_path / "a" / METRICS_FILE).read_bytes()
    assert csv_a == (tmp_path / "b" / METRICS_FILE).read_bytes()
    assert csv_a != (tmp_path / "c" / METRICS_FILE).read_bytes()
    assert other_seed["metrics"]["final_loss"] != first["metrics"]["final_loss"]
    state_a = torch.load(tmp_path / "a" / MODEL_FILE, weights_only=True)
    state_b = torch.load(tmp_path / "b" / MODEL_FILE, weights_only=True)
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_sgd_with_momentum_and_clipping_trains(tmp_path: Path) -> None:
    results = train(
        tmp_path,
        "experiment=hihello",
        "model.head=linear",
        "task.optimizer=sgd",
        "task.lr=0.5",
        "task.momentum=0.9",
        "task.grad_clip=1.0",
        "task.epochs=30",
    )
    rows = metrics_rows(tmp_path)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert results["metrics"]["final_loss"] < float(rows[0]["loss"])


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        cfg = compose_config("experiment=hihello", "task.epochs=3")
        run_train(cfg, tmp_path, progress_stream=terminal)
        terminal.flush()
        shown = os.read(leader, 65536).decode()
    os.close(leader)
    assert "train" in shown and "3/3" in shown


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["task.lr=0"], "task.lr=0.0 is not valid; it must be > 0"),
        (["task.lr=-0.1"], "task.lr=-0.1 is not valid; it must be > 0"),
        (["task.epochs=0"], "task.epochs=0 is not valid; it must be >= 1"),
        (["task.optimizer=rmsprop"], "task.optimizer='rmsprop' is not valid; choose one of: adam"),
        (["task.momentum=0.9"], "task.momentum=0.9 is only for task.optimizer=sgd"),
        (["model.head=dense"], "model.head='dense' is not valid; choose one of: none, linear"),
        (["model.hidden_size=4"], "must equal the vocabulary size 5"),
        (["data.words=[hixello]"], "has 'x' at position 2, which is not in data.vocab"),
        (["data.words=[h]"], "too short to train on"),
        (["data.window=7"], "too few for data.window=7"),
        (["data.layout=seq_major"], "data.layout='seq_major' is for the forward task"),
    ],
)
def test_bad_training_config_is_a_user_error(
    tmp_path: Path, overrides: list[str], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("(", r"\(")):
        train(tmp_path, "experiment=hihello", *overrides)
    recorded = read_json(tmp_path / "results.json")
    assert recorded["status"] == "failed" and recorded["error"]["type"] == "UserError"
    assert not (tmp_path / METRICS_FILE).exists() and not (tmp_path / MODEL_FILE).exists()


def test_head_and_window_are_for_training_only(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="model.head='linear' is for task=train only"):
        train(tmp_path, "model.head=linear")
    with pytest.raises(UserError, match="data.window=3 is for task=train only"):
        train(tmp_path, "data.window=3")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.lr=0", "rnn-exp: error: task.lr=0.0 is not valid; it must be > 0"),
        ("data.words=[hixello]", "rnn-exp: error: data.words[0]='hixello' has 'x' at position 2"),
    ],
)
def test_cli_rejects_bad_training_config_in_one_line(
    tmp_path: Path, override: str, message: str
) -> None:
    done = run_cli(
        "experiment=hihello", override, f"hydra.run.dir={tmp_path}", cwd=tmp_path, check=2
    )
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_cli_training_run_summary_and_log_lines(tmp_path: Path) -> None:
    done = run_cli(
        "experiment=hihello",
        "model.head=linear",
        "task.epochs=20",
        "task.log_every=5",
        f"hydra.run.dir={tmp_path}",
        cwd=tmp_path,
    )
    assert "rnn-exp: train run completed (20 epochs)" in done.stdout
    assert f"metrics.csv:  {tmp_path / METRICS_FILE}" in done.stdout
    assert f"model.pt:     {tmp_path / MODEL_FILE}" in done.stdout
    # Not a terminal: plain log lines every 5 epochs, no progress bar.
    logged = [line.split(" - ", 1)[1] for line in done.stdout.splitlines() if " - epoch " in line]
    assert [line.split(" loss")[0] for line in logged] == [
        f"epoch {e}/20" for e in (5, 10, 15, 20)
    ]
    assert "it/s" not in done.stderr and "epoch/s" not in done.stderr
    results = read_json(tmp_path / "results.json")
    assert f"final loss {results['metrics']['final_loss']:.6f}" in done.stdout
