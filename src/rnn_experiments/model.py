"""Build the recurrent cell and choose the device it runs on.

Reads only the model config (a `ModelConfig`-shaped object) and torch; knows nothing of Hydra,
files or results.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnn_experiments.errors import UserError

CELL_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str) -> torch.device:
    """Map the `device` config value to an available torch.device (`auto` prefers cuda, mps)."""
    available = available_devices()
    if name == "auto":
        name = next((d for d in ("cuda", "mps") if d in available), "cpu")
    if name not in available:
        raise UserError(
            f"device={name!r} is not available here; available: {', '.join(available + ['auto'])}"
        )
    return torch.device(name)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def build_cell(model: Any, input_size: int) -> nn.RNNBase:
    """The torch recurrent layer the model config describes."""
    kwargs: dict[str, Any] = dict(
        input_size=input_size,
        hidden_size=model.hidden_size,
        num_layers=model.num_layers,
        bias=model.bias,
        batch_first=model.batch_first,
        bidirectional=model.bidirectional,
        dropout=model.dropout,
    )
    if model.cell == "rnn":
        kwargs["nonlinearity"] = model.nonlinearity or "tanh"
    return CELL_CLASSES[model.cell](**kwargs)
