"""The real config, composed through Hydra: defaults, groups, presets, and rejected typos."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from rnn_experiments.errors import UserError
from rnn_experiments.schema import check_config
from tests.conftest import compose_config


def test_defaults_reproduce_the_rnn_basics_example():
    cfg = compose_config()
    assert list(cfg.data.vocab) == ["h", "e", "l", "o"]
    assert list(cfg.data.words) == ["hello", "eolll", "lleel"]
    assert cfg.model.cell == "rnn"
    assert cfg.model.hidden_size == 2
    assert cfg.model.num_layers == 1
    assert cfg.model.batch_first is True
    assert cfg.seed == 0
    assert cfg.device == "cpu"
    assert cfg.task.name == "forward"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_model_group_selects_the_cell(cell):
    cfg = compose_config(f"model={cell}")
    assert cfg.model.cell == cell
    assert cfg.model.nonlinearity is None


def test_seed_slide_preset_feeds_batch_major_data_to_a_seq_first_rnn():
    cfg = compose_config("experiment=seed_slide")
    assert cfg.model.batch_first is False
    assert cfg.data.layout == "batch_major"
    assert cfg.model.hidden_size == 2


def test_deep_bigru_preset_overrides_the_model_group():
    cfg = compose_config("experiment=deep_bigru")
    assert (cfg.model.cell, cfg.model.num_layers, cfg.model.bidirectional) == ("gru", 2, True)


@pytest.mark.parametrize(
    "override",
    ["model.hiden_size=3", "data.vocabulary=[a]", "model.hidden_size=two", "model.bias=maybe"],
)
def test_typos_and_wrong_types_are_rejected_at_composition(override):
    with pytest.raises(ConfigCompositionException):
        compose_config(override)


def test_config_is_typed_all_the_way_down():
    cfg = compose_config("model.hidden_size=7", "model.dropout=0")
    assert OmegaConf.get_type(cfg.model).__name__ == "ModelConfig"
    assert isinstance(cfg.model.dropout, float)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (["model.hidden_size=0"], "model.hidden_size=0"),
        (["model.num_layers=0"], "model.num_layers=0"),
        (["model.dropout=1.0"], "[0, 1)"),
        (["model.dropout=-0.1"], "[0, 1)"),
        (["model=lstm", "model.nonlinearity=relu"], "only for model.cell=rnn"),
        (["model.nonlinearity=sigmoid"], "tanh, relu"),
        (["model.cell=transformer"], "rnn, lstm, gru"),
        (["dtype=float16"], "float32, float64"),
    ],
)
def test_check_config_names_the_value_and_what_is_valid(overrides, fragment):
    with pytest.raises(UserError) as info:
        check_config(compose_config(*overrides))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
