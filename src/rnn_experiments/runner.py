"""Run one experiment: encode the words, build the cell, execute the task, record the results.

The forward task lives here; the train task in `training`.

Takes the resolved job config (plain containers, read through `as_attributes`) and a run
directory; returns the results dict it wrote to results.json. Failures are recorded too (status
"failed", with the error) and then re-raised for the CLI edge to report.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnn_experiments import run_store
from rnn_experiments.encoding import encode_padded_words, encode_words, valid_steps
from rnn_experiments.model import TORCH_DTYPES, build_cell, device_name, resolve_device, run_cell
from rnn_experiments.reference import rnn_forward
from rnn_experiments.schema import check_config
from rnn_experiments.training import run_train

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


def set_deterministic_algorithms(mode: bool) -> None:
    """torch.use_deterministic_algorithms, without importing torch._inductor when unused.

    The public call imports torch._inductor (1.7 s here) only to copy the flag into the
    compiler's config; nothing in this project compiles. If the compiler is already loaded,
    the public call keeps both in step.
    """
    if "torch._inductor" in sys.modules:
        torch.use_deterministic_algorithms(mode)
    else:
        torch._C._set_deterministic_algorithms(mode, warn_only=False)


def seed_everything(seed: int, deterministic: bool = True) -> dict[str, Any]:
    """Seed python, numpy and torch; with `deterministic`, also make torch pick only
    deterministic kernels. Returns the settings in force, for provenance."""
    if deterministic:
        # Must precede CUDA's first matmul; a value the user set already is kept (and recorded).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    # torch.manual_seed, minus its lazy seeding of absent accelerators: on a CPU-only machine
    # that queued three captured stack traces per call (0.4 ms a run, growing a list forever).
    torch.random.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    set_deterministic_algorithms(deterministic)
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


def word_steps(a: Any, word: int, length: int, batch_first: bool) -> Any:
    """One word's valid steps of a padded (batch, seq, ...) or (seq, batch, ...) array."""
    return a[word : word + 1, :length] if batch_first else a[:length, word : word + 1]


def packed_reference_diff(
    cfg: Any,
    weights: dict[str, np.ndarray],
    x_np: np.ndarray,
    lengths: np.ndarray,
    tensors: dict[str, torch.Tensor],
) -> float:
    """Max |torch - NumPy| with each word run alone over its own valid steps, as packing means."""
    model_cfg = cfg.model
    diff = 0.0
    for w, n in enumerate(lengths.tolist()):
        expected = rnn_forward(
            model_cfg.cell,
            weights,
            word_steps(x_np, w, n, model_cfg.batch_first),
            num_layers=model_cfg.num_layers,
            bidirectional=model_cfg.bidirectional,
            batch_first=model_cfg.batch_first,
            nonlinearity=model_cfg.nonlinearity or "tanh",
        )
        got = {"output": word_steps(tensors["output"], w, n, model_cfg.batch_first)}
        got.update({k: tensors[k][:, w : w + 1] for k in ("h_n", "c_n") if k in tensors})
        diff = max(
            diff, *(float(np.max(np.abs(got[k].cpu().numpy() - v))) for k, v in expected.items())
        )
    return diff


def pad_vs_pack(
    cell: torch.nn.RNNBase,
    x: torch.Tensor,
    lengths: np.ndarray,
    packed_output: torch.Tensor,
    tolerance: float,
) -> dict[str, Any]:
    """Run the padded batch as is and compare it with the packed run on every valid step."""
    batch_first = cell.batch_first
    with torch.no_grad():
        padded_output, padded_state = cell(x)
        packed = pack_padded_sequence(
            x, torch.from_numpy(lengths), batch_first=batch_first, enforce_sorted=False
        )
    h_n = padded_state[0] if isinstance(padded_state, tuple) else padded_state
    diff = max(
        float(
            torch.max(
                torch.abs(
                    word_steps(packed_output, w, n, batch_first)
                    - word_steps(padded_output, w, n, batch_first)
                )
            )
        )
        for w, n in enumerate(lengths.tolist())
    )
    return {
        "lengths": lengths.tolist(),
        "padded": {
            "shapes": {
                "input": list(x.shape),
                "output": list(padded_output.shape),
                "h_n": list(h_n.shape),
            }
        },
        "packed": {
            "shapes": {
                "data": list(packed.data.shape),
                "batch_sizes": list(packed.batch_sizes.shape),
            },
            "batch_sizes": packed.batch_sizes.tolist(),
            "sorted_indices": packed.sorted_indices.tolist(),
        },
        "max_abs_diff_valid_steps": diff,
        "tolerance": tolerance,
        "agree": diff <= tolerance,
    }


def run_forward(cfg: Any, run_dir: Path) -> dict[str, Any]:
    """The RNN-basics forward pass under no_grad, checked against the NumPy reference.

    With data.padding=pad or pack, words may differ in length: output norms cover valid steps
    only (see README, "Ragged words").
    """
    model_cfg = cfg.model
    device = resolve_device(cfg.device)
    words, vocab = list(cfg.data.words), list(cfg.data.vocab)
    padding = cfg.data.padding
    batch_major = input_is_batch_major(cfg)
    lengths: np.ndarray | None = None
    if padding == "none":
        x_np = encode_words(words, vocab, batch_major=batch_major, dtype=cfg.dtype)
    else:
        x_np, lengths = encode_padded_words(words, vocab, batch_major=batch_major, dtype=cfg.dtype)
    cell = build_cell(model_cfg, input_size=len(vocab))
    cell = cell.to(device=device, dtype=TORCH_DTYPES[cfg.dtype]).eval()
    x = torch.from_numpy(x_np).to(device)
    pack_lengths = torch.from_numpy(lengths) if padding == "pack" else None
    with torch.no_grad():
        output, state = run_cell(cell, x, pack_lengths)
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

    # Padded steps are not the words' own: they count in no output norm.
    valid_output = output
    if lengths is not None:
        mask = torch.from_numpy(valid_steps(lengths, batch_major=model_cfg.batch_first))
        valid_output = output * mask.to(device=device, dtype=output.dtype).unsqueeze(-1)
    norms: dict[str, Any] = {
        "output": _norm(valid_output),
        "h_n": _norm(h_n),
        "output_per_step": torch.linalg.vector_norm(valid_output.double(), dim=other).tolist(),
        "final_hidden_per_word": torch.linalg.vector_norm(
            last_layer.double(), dim=(0, 2)
        ).tolist(),
    }
    if c_n is not None:
        norms["c_n"] = _norm(c_n)

    weights = {k: v.detach().cpu().numpy() for k, v in cell.state_dict().items()}
    tolerance = TOLERANCE[cfg.dtype]
    if padding == "pack":
        diff = packed_reference_diff(cfg, weights, x_np, lengths, tensors)
    else:
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
    results: dict[str, Any] = {
        "input_layout": "batch_major" if batch_major else "seq_major",
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
    if lengths is not None:
        results["padding"] = padding
        results["lengths"] = lengths.tolist()
    if padding == "pack":
        results["pad_vs_pack"] = pad_vs_pack(cell, x, lengths, output, tolerance)
    return results


# task name -> function(cfg, run_dir) returning the results fields it adds.
TASKS = {"forward": run_forward, "train": run_train}


def provenance(cfg: Any, config: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    prov: dict[str, Any] = {**run_store.package_versions(), **run_store.code_version()}
    prov.update(run_store.platform_info())
    prov.update(seed=cfg.seed, device=cfg.device, config_hash=run_store.config_hash(config))
    prov["run_dir"] = str(run_dir)
    return prov


def as_attributes(tree: Any) -> Any:
    """Plain containers as nested namespaces, read like the typed config (`cfg.model.cell`).

    The runner reads the resolved job config this way: an attribute costs nanoseconds, where a
    DictConfig's validated lookup costs ~20 us, dozens of times per run.
    """
    if isinstance(tree, Mapping):
        return SimpleNamespace(**{key: as_attributes(value) for key, value in tree.items()})
    if isinstance(tree, list):
        return [as_attributes(value) for value in tree]
    return tree


def execute_run(config: Mapping[str, Any], run_dir: str | Path) -> dict[str, Any]:
    """Run the configured task and write results.json; on failure record it, then re-raise.

    `config` is the resolved job config as plain containers (OmegaConf.to_container with
    resolve=True, without the hydra node); it is hashed into provenance.
    """
    cfg = as_attributes(config)
    run_dir = Path(run_dir)
    started, t0 = run_store.now_iso(), time.perf_counter()
    prov = provenance(cfg, config, run_dir)
    results: dict[str, Any] = {"schema_version": run_store.RESULTS_SCHEMA_VERSION}
    try:
        check_config(cfg)
        if cfg.num_threads is not None:
            torch.set_num_threads(cfg.num_threads)
        prov["num_threads"] = torch.get_num_threads()
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
