"""Determinism settings: what `deterministic` switches in torch, and that it is recorded."""

from __future__ import annotations

import os

import pytest
import torch

from rnn_experiments.runner import CUBLAS_WORKSPACE_CONFIG, execute_run, seed_everything


@pytest.fixture
def restore_torch_state(monkeypatch):
    """seed_everything changes process-wide torch flags; put them back after the test."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
    )
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[1:]


def test_deterministic_switches_torch_and_cudnn_and_cublas(restore_torch_state):
    torch.backends.cudnn.benchmark = True
    settings = seed_everything(3, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark is False
    assert torch.backends.cudnn.deterministic is True
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE_CONFIG
    assert settings == {
        "deterministic": True,
        "torch_deterministic_algorithms": True,
        "cudnn_benchmark": False,
        "cudnn_deterministic": True,
        "cublas_workspace_config": CUBLAS_WORKSPACE_CONFIG,
    }


def test_user_cublas_setting_is_kept_and_recorded(restore_torch_state, monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    assert seed_everything(0)["cublas_workspace_config"] == ":16:8"


def test_nondeterministic_mode_lifts_the_restriction(restore_torch_state):
    settings = seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert settings["deterministic"] is False
    assert settings["torch_deterministic_algorithms"] is False
    assert settings["cublas_workspace_config"] is None


def test_same_seed_same_numbers_across_libraries(restore_torch_state):
    import random

    import numpy as np

    seed_everything(11)
    first = (random.random(), np.random.rand(), torch.rand(3).tolist())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(3).tolist()) == first


def test_run_records_determinism_in_provenance(compose_cfg, tmp_path, restore_torch_state):
    from omegaconf import OmegaConf

    cfg = compose_cfg("deterministic=false")
    results = execute_run(OmegaConf.to_container(cfg, resolve=True), tmp_path)
    assert results["provenance"]["determinism"]["deterministic"] is False
    assert results["provenance"]["determinism"]["torch_deterministic_algorithms"] is False


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_forward_is_bitwise_repeatable(compose_cfg, tmp_path, restore_torch_state):
    from omegaconf import OmegaConf

    cfg = compose_cfg("device=cuda", "model=lstm", "model.hidden_size=64", "model.num_layers=2")
    config = OmegaConf.to_container(cfg, resolve=True)
    first = execute_run(config, tmp_path / "a")
    second = execute_run(config, tmp_path / "b")
    assert first["provenance"]["determinism"]["cudnn_deterministic"] is True
    assert first["norms"] == second["norms"]
