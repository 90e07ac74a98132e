"""Run one experiment: encode the words, build the cell, execute the task, record the results.

Takes a typed config (an `ExperimentConfig` or a DictConfig of that shape) and a run directory;
returns the results dict it wrote to results.json. Failures are recorded too (status "failed",
with the error) and then re-raised for the CLI edge to report.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnn_experiments import run_store
from rnn_experiments.encoding import encode_words
from rnn_experiments.model import TORCH_DTYPES, build_cell, device_name, resolve_device
from rnn_experiments.reference import rnn_forward
from rnn_experiments.schema import check_config

# Largest tensor whose values are written out in results.json (students read them; sweeps don't
# need megabytes of floats).
MAX_RECORDED_VALUES = 256
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


def axis_names(batch_first: bool, directions: int) -> dict[str, list[str]]:
    """How torch reads each tensor's axes, which depends on batch_first alone."""
    hidden = "directions*hidden" if directions > 1 else "hidden"
    seq_axes = ["batch", "seq"] if batch_first else ["seq", "batch"]
    return {
        "input": [*seq_axes, "feature"],
        "output": [*seq_axes, hidden],
        "h_n": ["layers*directions", "batch", "hidden"],
        "c_n": ["layers*directions", "batch", "hidden"],
    }


# cuBLAS reads this when its first handle is created; ":4096:8" is one of the two settings torch
# documents for deterministic CUDA matmuls (https://pytorch.org/docs/stable/notes/randomness.html).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def seed_everything(seed: int, deterministic: bool = True) -> dict[str, Any]:
    """Seed python, numpy and torch; with `deterministic`, also make torch pick only
    deterministic kernels. Returns the settings in force, for provenance."""
    if deterministic:
        # Must precede CUDA's first matmul; a value the user set already is kept (and recorded).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.use_deterministic_algorithms(deterministic)
    if deterministic:
        torch.backends.cudnn.benchmark = False  # autotuning may pick a different kernel per run
    torch.backends.cudnn.deterministic = deterministic
    return {
        "deterministic": deterministic,
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    }


def input_is_batch_major(cfg: Any) -> bool:
    layout = cfg.data.layout
    return cfg.model.batch_first if layout == "auto" else layout == "batch_major"


def _norm(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t.double()))


def _values(t: torch.Tensor) -> list | None:
    return t.detach().cpu().tolist() if t.numel() <= MAX_RECORDED_VALUES else None


def run_forward(cfg: Any, run_dir: Path) -> dict[str, Any]:
    """The RNN-basics forward pass under no_grad, checked against the NumPy reference."""
    model_cfg = cfg.model
    device = resolve_device(cfg.device)
    x_np = encode_words(
        list(cfg.data.words),
        list(cfg.data.vocab),
        batch_major=input_is_batch_major(cfg),
        dtype=cfg.dtype,
    )
    cell = build_cell(model_cfg, input_size=len(cfg.data.vocab))
    cell = cell.to(device=device, dtype=TORCH_DTYPES[cfg.dtype]).eval()
    x = torch.from_numpy(x_np).to(device)
    with torch.no_grad():
        output, state = cell(x)
    h_n, c_n = state if model_cfg.cell == "lstm" else (state, None)

    directions = 2 if model_cfg.bidirectional else 1
    time_axis = 1 if model_cfg.batch_first else 0
    batch_axis = 1 - time_axis
    other = tuple(d for d in range(3) if d != time_axis)
    last_layer = h_n[-directions:]  # (directions, batch, hidden)

    tensors = {"input": x, "output": output, "h_n": h_n}
    if c_n is not None:
        tensors["c_n"] = c_n
    axes = axis_names(model_cfg.batch_first, directions)
    shapes: dict[str, Any] = {name: list(t.shape) for name, t in tensors.items()}
    shapes["axes"] = {name: axes[name] for name in tensors}

    norms: dict[str, Any] = {
        "output": _norm(output),
        "h_n": _norm(h_n),
        "output_per_step": torch.linalg.vector_norm(output.double(), dim=other).tolist(),
        "final_hidden_per_word": torch.linalg.vector_norm(
            last_layer.double(), dim=(0, 2)
        ).tolist(),
    }
    if c_n is not None:
        norms["c_n"] = _norm(c_n)

    weights = {k: v.detach().cpu().numpy() for k, v in cell.state_dict().items()}
    expected = rnn_forward(
        model_cfg.cell,
        weights,
        x_np,
        num_layers=model_cfg.num_layers,
        bidirectional=model_cfg.bidirectional,
        batch_first=model_cfg.batch_first,
        nonlinearity=model_cfg.nonlinearity or "tanh",
    )
    diff = max(
        float(np.max(np.abs(tensors[name].cpu().numpy() - value)))
        for name, value in expected.items()
    )
    tolerance = TOLERANCE[cfg.dtype]
    return {
        "input_layout": "batch_major" if input_is_batch_major(cfg) else "seq_major",
        "batch_size": int(x.shape[batch_axis]),
        "seq_len": int(x.shape[time_axis]),
        "shapes": shapes,
        "norms": norms,
        "reference": {
            "max_abs_diff": diff,
            "tolerance": tolerance,
            "within_tolerance": diff <= tolerance,
        },
        "values": {"output": _values(output), "h_n": _values(h_n)},
    }


# task name -> function(cfg, run_dir) returning the results fields it adds.
TASKS = {"forward": run_forward}


def provenance(cfg: Any, config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    prov: dict[str, Any] = {**run_store.package_versions(), **run_store.code_version()}
    prov.update(run_store.platform_info())
    prov.update(seed=cfg.seed, device=cfg.device, config_hash=run_store.config_hash(config))
    prov["run_dir"] = str(run_dir)
    return prov


def execute_run(cfg: Any, config: dict[str, Any], run_dir: str | Path) -> dict[str, Any]:
    """Run the configured task and write results.json; on failure record it, then re-raise.

    `config` is the resolved job config as plain containers: it is hashed into provenance.
    """
    run_dir = Path(run_dir)
    started, t0 = run_store.now_iso(), time.perf_counter()
    prov = provenance(cfg, config, run_dir)
    results: dict[str, Any] = {"schema_version": run_store.RESULTS_SCHEMA_VERSION}
    try:
        check_config(cfg)
        prov["determinism"] = seed_everything(cfg.seed, cfg.deterministic)
        outcome = TASKS[cfg.task.name](cfg, run_dir)
        resolved = resolve_device(cfg.device)
        prov["device_resolved"] = str(resolved)
        prov["device_name"] = device_name(resolved)
        results.update(status="completed", task=cfg.task.name, **outcome)
    except BaseException as exc:
        results.update(
            status="failed",
            task=cfg.task.name,
            error={
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc(),
            },
        )
        raise
    finally:
        prov.update(
            start_time=started,
            end_time=run_store.now_iso(),
            duration_s=time.perf_counter() - t0,
        )
        results["provenance"] = prov
        run_store.write_results(run_dir, results)
    return results
