"""An independent NumPy forward pass for torch's RNN, LSTM and GRU.

Written from the equations in torch's documentation, not from torch's code, so agreement is
evidence both are right. It reads weights named as in torch's state_dict
(`weight_ih_l{k}{_reverse}` ...) and never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _run_direction(
    cell: str,
    nonlinearity: str,
    x: np.ndarray,
    params: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """x is (seq, batch, features); returns outputs (seq, batch, hidden), h_T and c_T."""
    w_ih, w_hh, b_ih, b_hh = params
    seq, batch, _ = x.shape
    hidden = w_hh.shape[1]
    h = np.zeros((batch, hidden), dtype=x.dtype)
    c = np.zeros((batch, hidden), dtype=x.dtype) if cell == "lstm" else None
    out = np.empty((seq, batch, hidden), dtype=x.dtype)
    steps = range(seq - 1, -1, -1) if reverse else range(seq)
    for t in steps:
        gi = x[t] @ w_ih.T
        gh = h @ w_hh.T
        if b_ih is not None:
            gi = gi + b_ih
            gh = gh + b_hh
        if cell == "rnn":
            pre = gi + gh
            h = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)
        elif cell == "lstm":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        else:  # gru: the reset gate scales the hidden part of the candidate, bias included
            r_i, z_i, n_i = np.split(gi, 3, axis=1)
            r_h, z_h, n_h = np.split(gh, 3, axis=1)
            r = _sigmoid(r_i + r_h)
            z = _sigmoid(z_i + z_h)
            n = np.tanh(n_i + r * n_h)
            h = (1 - z) * n + z * h
        out[t] = h
    return out, h, c


def rnn_forward(
    cell: str,
    weights: Mapping[str, np.ndarray],
    x: np.ndarray,
    *,
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
    nonlinearity: str = "tanh",
) -> dict[str, np.ndarray]:
    """Forward pass from a zero state; returns output, h_n (and c_n for lstm) as torch does."""
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}")
    layer_in = x.transpose(1, 0, 2) if batch_first else x
    suffixes = ["", "_reverse"] if bidirectional else [""]
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for suffix in suffixes:
            key = f"l{layer}{suffix}"
            params = (
                weights[f"weight_ih_{key}"],
                weights[f"weight_hh_{key}"],
                weights.get(f"bias_ih_{key}"),
                weights.get(f"bias_hh_{key}"),
            )
            out, h, c = _run_direction(cell, nonlinearity, layer_in, params, suffix == "_reverse")
            outs.append(out)
            h_n.append(h)
            if c is not None:
                c_n.append(c)
        layer_in = np.concatenate(outs, axis=2)
    output = layer_in.transpose(1, 0, 2) if batch_first else layer_in
    result = {"output": output, "h_n": np.stack(h_n)}
    if cell == "lstm":
        result["c_n"] = np.stack(c_n)
    return result
