"""Build the recurrent cell (alone, or with a vocabulary head) and choose its device.

Reads only the model config (a `ModelConfig`-shaped object) and torch; knows nothing of Hydra,
files or results.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

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


def run_cell(
    cell: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor | None = None
) -> tuple[torch.Tensor, Any]:
    """Run `cell` on x; with `lengths` (a CPU int64 tensor), packed so pads are never seen.

    The packed output comes back padded with zeros to x's full length; the state is each
    word's state at its own last step.
    """
    if lengths is None:
        return cell(x)
    packed = pack_padded_sequence(x, lengths, batch_first=cell.batch_first, enforce_sorted=False)
    output, state = cell(packed)
    time_axis = 1 if cell.batch_first else 0
    output, _ = pad_packed_sequence(
        output, batch_first=cell.batch_first, total_length=x.shape[time_axis]
    )
    return output, state


class CharRNN(nn.Module):
    """The recurrent cell and, with model.head=linear, a Linear from its outputs to logits."""

    def __init__(self, model: Any, vocab_size: int) -> None:
        super().__init__()
        self.cell = build_cell(model, input_size=vocab_size)
        directions = 2 if model.bidirectional else 1
        self.head = (
            nn.Linear(model.hidden_size * directions, vocab_size)
            if model.head == "linear"
            else None
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits laid out like x: (batch, seq, vocab), or (seq, batch, vocab) if seq-major."""
        output, _ = run_cell(self.cell, x, lengths)
        return output if self.head is None else self.head(output)
