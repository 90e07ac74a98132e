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
PADDINGS = ("none",)


@dataclass
class DataConfig:
    # One entry per one-hot position; order is the index order.
    vocab: list[str] = field(default_factory=lambda: ["h", "e", "l", "o"])
    words: list[str] = field(default_factory=lambda: ["hello", "eolll", "lleel"])
    # How the encoded array is laid out: `auto` follows model.batch_first; `batch_major`
    # (words, chars, vocab) or `seq_major` (chars, words, vocab) force a layout whatever the
    # model expects -- that is how the original example's mix-up is reproduced.
    layout: str = "auto"
    padding: str = "none"


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


@dataclass
class ForwardTaskConfig:
    name: str = "forward"


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


def register_configs() -> None:
    """Put the schemas where conf/*.yaml's defaults lists find them."""
    cs = ConfigStore.instance()
    cs.store(name="experiment_schema", node=ExperimentConfig)
    cs.store(group="task", name="forward_schema", node=ForwardTaskConfig)


def _one_of(key: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UserError(f"{key}={value!r} is not valid; choose one of: {', '.join(valid)}")


def check_config(cfg: Any) -> None:
    """Reject values the types allow but the experiment cannot use (ranges, combinations)."""
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
