"""Typed config schemas, registered in Hydra's ConfigStore.

The dataclasses mirror conf/: Hydra merges the YAML files into them, so an unknown key
(`model.hiden_size`) or a wrong type (`model.hidden_size=two`) is rejected before anything runs.
Checks that need more than a type (ranges, combinations) live in `check_config`, which raises
UserError. This module knows Hydra's ConfigStore and nothing downstream of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from rnn_experiments.errors import UserError

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu")
DTYPES = ("float32", "float64")
LAYOUTS = ("auto", "batch_major", "seq_major")
PADDINGS = ("none", "pad", "pack")
HEADS = ("none", "linear")
OPTIMIZERS = ("adam", "sgd")


@dataclass
class DataConfig:
    # One entry per one-hot position; order is the index order.
    vocab: list[str] = field(default_factory=lambda: ["h", "e", "l", "o"])
    words: list[str] = field(default_factory=lambda: ["hello", "eolll", "lleel"])
    # How the encoded array is laid out: `auto` follows model.batch_first; `batch_major`
    # (words, chars, vocab) or `seq_major` (chars, words, vocab) force a layout whatever the
    # model expects -- that is how the original example's mix-up is reproduced.
    layout: str = "auto"
    # none: words must share one length. pad: shorter words are padded to the longest (with the
    # one-hot of a "<pad>" vocab entry, else zeros) and the cell runs over the pads too. pack:
    # padded, then packed, so the cell sees each word's valid steps only.
    padding: str = "none"
    # task=train only: cut each word into sliding windows of this many characters, each window
    # predicting the window shifted by one; null trains on word[:-1] -> word[1:].
    window: int | None = None


@dataclass
class ModelConfig:
    cell: str = "rnn"
    hidden_size: int = 2
    num_layers: int = 1
    # rnn only; null means torch's default (tanh).
    nonlinearity: str | None = None
    bias: bool = True
    batch_first: bool = True
    bidirectional: bool = False
    dropout: float = 0.0
    # task=train: `linear` maps each output to vocabulary logits; `none` uses the raw outputs
    # as logits, as the original lessons did (so hidden_size * directions must equal the vocab).
    head: str = "none"


@dataclass
class ForwardTaskConfig:
    name: str = "forward"


@dataclass
class TrainTaskConfig:
    name: str = "train"
    optimizer: str = "adam"
    lr: float = 0.1
    epochs: int = 100
    momentum: float = 0.0  # sgd only
    weight_decay: float = 0.0
    # Largest gradient norm before each step; null means no clipping.
    grad_clip: float | None = None
    # Without a terminal, log one line every this many epochs (0: only the last).
    log_every: int = 10


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    task: Any = MISSING
    device: str = "cpu"
    dtype: str = "float32"
    seed: int = 0
    # Seeds alone are not enough on GPUs: this also makes torch use deterministic kernels only.
    deterministic: bool = True
    # torch's intra-op CPU threads. These models are tiny: one thread is fastest, and with two
    # threads on a busy 2-core machine one RNN call took 35-60 ms instead of 0.2 ms. A fixed
    # count also keeps CPU reductions, hence results, the same on machines of any core count.
    # null = torch's default (one per core).
    num_threads: int | None = 1


def register_configs() -> None:
    """Put the schemas where conf/*.yaml's defaults lists find them."""
    cs = ConfigStore.instance()
    cs.store(name="experiment_schema", node=ExperimentConfig)
    cs.store(group="task", name="forward_schema", node=ForwardTaskConfig)
    cs.store(group="task", name="train_schema", node=TrainTaskConfig)


def _one_of(key: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UserError(f"{key}={value!r} is not valid; choose one of: {', '.join(valid)}")


def check_config(cfg: Any) -> None:
    """Reject values the types allow but the experiment cannot use (ranges, combinations)."""
    if cfg.num_threads is not None and cfg.num_threads < 1:
        raise UserError(f"num_threads={cfg.num_threads} is not valid; it must be >= 1 or null")
    model = cfg.model
    _one_of("model.cell", model.cell, CELLS)
    if model.hidden_size < 1:
        raise UserError(f"model.hidden_size={model.hidden_size} is not valid; it must be >= 1")
    if model.num_layers < 1:
        raise UserError(f"model.num_layers={model.num_layers} is not valid; it must be >= 1")
    if not 0.0 <= model.dropout < 1.0:
        raise UserError(f"model.dropout={model.dropout} is not valid; it must be in [0, 1)")
    if model.nonlinearity is not None:
        if model.cell != "rnn":
            raise UserError(
                f"model.nonlinearity={model.nonlinearity!r} is only for model.cell=rnn "
                f"(got model.cell={model.cell!r}); set model.nonlinearity=null"
            )
        _one_of("model.nonlinearity", model.nonlinearity, NONLINEARITIES)
    _one_of("dtype", cfg.dtype, DTYPES)
    _one_of("data.layout", cfg.data.layout, LAYOUTS)
    _one_of("data.padding", cfg.data.padding, PADDINGS)
    _one_of("model.head", model.head, HEADS)
    data = cfg.data
    if data.padding != "none" and data.layout != "auto" and (
        (data.layout == "batch_major") != model.batch_first
    ):
        raise UserError(
            f"data.layout={data.layout!r} does not match model.batch_first={model.batch_first}; "
            f"with data.padding={data.padding!r} the lengths must follow the model's layout "
            "(use data.layout=auto)"
        )
    if cfg.task.name == "train":
        check_train_config(cfg)
    else:
        if data.window is not None:
            raise UserError(
                f"data.window={data.window} is for task=train only; set data.window=null"
            )
        if model.head != "none":
            raise UserError(
                f"model.head={model.head!r} is for task=train only; the {cfg.task.name} task "
                "runs the bare cell (set model.head=none)"
            )


def check_train_config(cfg: Any) -> None:
    """Ranges and combinations of the train task (optimizer, lr, epochs, head vs vocab)."""
    task, model, data = cfg.task, cfg.model, cfg.data
    _one_of("task.optimizer", task.optimizer, OPTIMIZERS)
    if not task.lr > 0:
        raise UserError(f"task.lr={task.lr} is not valid; it must be > 0")
    if task.epochs < 1:
        raise UserError(f"task.epochs={task.epochs} is not valid; it must be >= 1")
    if task.momentum < 0:
        raise UserError(f"task.momentum={task.momentum} is not valid; it must be >= 0")
    if task.momentum != 0 and task.optimizer != "sgd":
        raise UserError(
            f"task.momentum={task.momentum} is only for task.optimizer=sgd "
            f"(got {task.optimizer!r}); set task.momentum=0"
        )
    if task.weight_decay < 0:
        raise UserError(f"task.weight_decay={task.weight_decay} is not valid; it must be >= 0")
    if task.grad_clip is not None and not task.grad_clip > 0:
        raise UserError(
            f"task.grad_clip={task.grad_clip} is not valid; it must be > 0 (or null: no clipping)"
        )
    if task.log_every < 0:
        raise UserError(f"task.log_every={task.log_every} is not valid; it must be >= 0")
    if data.window is not None and data.window < 1:
        raise UserError(f"data.window={data.window} is not valid; it must be >= 1 (or null)")
    if data.layout != "auto":
        raise UserError(
            f"data.layout={data.layout!r} is for the forward task; training lays its inputs "
            "out as model.batch_first says (use data.layout=auto)"
        )
    if model.head == "none":
        outputs = model.hidden_size * (2 if model.bidirectional else 1)
        if outputs != len(data.vocab):
            raise UserError(
                f"model.head=none uses the RNN outputs as logits, so their size "
                f"(model.hidden_size * directions = {outputs}) must equal the vocabulary size "
                f"{len(data.vocab)}; set model.hidden_size={len(data.vocab)} or model.head=linear"
            )
