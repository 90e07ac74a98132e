"""The NumPy reference agrees with torch across cells, sizes, layers, directions and dtypes."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_experiments.model import CELL_CLASSES
from rnn_experiments.reference import rnn_forward
from rnn_experiments.runner import TOLERANCE


@st.composite
def rnn_cases(draw):
    cell = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    return dict(
        cell=cell,
        nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if cell == "rnn" else "tanh",
        input_size=draw(st.integers(1, 6)),
        hidden_size=draw(st.integers(1, 6)),
        num_layers=draw(st.integers(1, 3)),
        bias=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        batch=draw(st.integers(1, 4)),
        seq=draw(st.integers(1, 7)),
        dtype=draw(st.sampled_from(["float32", "float64"])),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=80, deadline=None)
@given(rnn_cases())
def test_numpy_reference_matches_torch(case):
    torch.manual_seed(case["seed"])
    kwargs = dict(
        input_size=case["input_size"],
        hidden_size=case["hidden_size"],
        num_layers=case["num_layers"],
        bias=case["bias"],
        batch_first=case["batch_first"],
        bidirectional=case["bidirectional"],
    )
    if case["cell"] == "rnn":
        kwargs["nonlinearity"] = case["nonlinearity"]
    dtype = {"float32": torch.float32, "float64": torch.float64}[case["dtype"]]
    module = CELL_CLASSES[case["cell"]](**kwargs).to(dtype).eval()
    shape = (
        (case["batch"], case["seq"], case["input_size"])
        if case["batch_first"]
        else (case["seq"], case["batch"], case["input_size"])
    )
    x = torch.randn(shape, dtype=dtype)
    with torch.no_grad():
        output, state = module(x)
    h_n, c_n = state if case["cell"] == "lstm" else (state, None)

    weights = {k: v.numpy() for k, v in module.state_dict().items()}
    expected = rnn_forward(
        case["cell"],
        weights,
        x.numpy(),
        num_layers=case["num_layers"],
        bidirectional=case["bidirectional"],
        batch_first=case["batch_first"],
        nonlinearity=case["nonlinearity"],
    )
    tolerance = TOLERANCE[case["dtype"]]
    assert expected["output"].shape == tuple(output.shape)
    assert expected["h_n"].shape == tuple(h_n.shape)
    assert expected["output"].dtype == np.dtype(case["dtype"])
    np.testing.assert_allclose(expected["output"], output.numpy(), rtol=0, atol=tolerance)
    np.testing.assert_allclose(expected["h_n"], h_n.numpy(), rtol=0, atol=tolerance)
    if c_n is not None:
        np.testing.assert_allclose(expected["c_n"], c_n.numpy(), rtol=0, atol=tolerance)
    else:
        assert "c_n" not in expected


def test_reference_catches_a_wrong_weight():
    """The comparison is not vacuous: perturbing one weight breaks agreement."""
    torch.manual_seed(0)
    module = torch.nn.GRU(3, 2).eval()
    x = torch.randn(4, 2, 3)
    with torch.no_grad():
        output, _ = module(x)
    weights = {k: v.numpy().copy() for k, v in module.state_dict().items()}
    weights["bias_hh_l0"][4] += 0.1  # the hidden bias of the candidate gate, scaled by r
    expected = rnn_forward("gru", weights, x.numpy(), num_layers=1, bidirectional=False,
                           batch_first=False)
    assert np.max(np.abs(expected["output"] - output.numpy())) > 1e-4
