"""Ragged words in the forward task: data.padding pad and pack, and the packed preset.

Real composition and real torch; the NumPy reference must agree on every valid step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from rnn_experiments.encoding import encode_padded_words, valid_steps
from rnn_experiments.errors import UserError
from rnn_experiments.runner import execute_run
from tests.conftest import compose_config


def forward(run_dir: Path, *overrides: str) -> dict[str, Any]:
    cfg = compose_config(*overrides)
    return execute_run(OmegaConf.to_container(cfg, resolve=True), run_dir)


def test_packed_preset_records_both_ways_and_they_agree(tmp_path: Path) -> None:
    results = forward(tmp_path, "experiment=packed")
    assert results["lengths"] == [11, 8, 11, 4, 13]
    compared = results["pad_vs_pack"]
    assert compared["packed"]["batch_sizes"] == [5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, 1, 1]
    assert compared["packed"]["shapes"]["data"] == [47, 19]
    assert compared["padded"]["shapes"]["output"] == [5, 13, 30]
    assert compared["agree"] and compared["max_abs_diff_valid_steps"] <= 1e-5
    assert results["shapes"]["input"] == [5, 13, 19]
    assert results["reference"]["within_tolerance"]


def test_padded_norms_cover_valid_steps_only(tmp_path: Path) -> None:
    """A padded batch's output norm is the norm of each word run on its own."""
    words = ["hello", "hel", "lo"]
    padded = forward(tmp_path / "pad", f"data.words=[{','.join(words)}]", "data.padding=pad")
    alone = [forward(tmp_path / w, f"data.words=[{w}]") for w in words]
    assert padded["norms"]["output"] == pytest.approx(
        math.sqrt(sum(r["norms"]["output"] ** 2 for r in alone)), rel=1e-5
    )
    assert padded["shapes"]["output"] == [3, 5, 2]
    assert padded["reference"]["within_tolerance"]


def test_equal_lengths_pad_like_no_padding(tmp_path: Path) -> None:
    plain = forward(tmp_path / "none")
    padded = forward(tmp_path / "pad", "data.padding=pad")
    assert padded["norms"] == plain["norms"]
    assert padded["values"] == plain["values"]
    assert padded["lengths"] == [5, 5, 5]


def test_ragged_words_without_padding_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="ragged words need padding"):
        forward(tmp_path, "data.words=[hello,hel]")


def test_padding_needs_the_models_layout(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data.layout='seq_major' does not match"):
        forward(tmp_path, "data.words=[hello,hel]", "data.padding=pack", "data.layout=seq_major")


def test_pad_token_encodes_padded_steps() -> None:
    x, lengths = encode_padded_words(["ab", "b"], ["<pad>", "a", "b"])
    assert lengths.tolist() == [2, 1]
    assert x[1, 1].tolist() == [1.0, 0.0, 0.0]
    zeros, _ = encode_padded_words(["ab", "b"], ["a", "b"])
    assert zeros[1, 1].tolist() == [0.0, 0.0]
    assert valid_steps(lengths).tolist() == [[True, True], [True, False]]


ragged_words = st.lists(st.text(alphabet="helo", min_size=1, max_size=6), min_size=1, max_size=4)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    words=ragged_words,
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    padding=st.sampled_from(["pad", "pack"]),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
)
def test_ragged_forward_matches_the_numpy_reference(
    tmp_path: Path,
    words: list[str],
    cell: str,
    padding: str,
    batch_first: bool,
    bidirectional: bool,
) -> None:
    results = forward(
        tmp_path,
        f"model={cell}",
        f"data.words=[{','.join(words)}]",
        f"data.padding={padding}",
        f"model.batch_first={str(batch_first).lower()}",
        f"model.bidirectional={str(bidirectional).lower()}",
    )
    assert results["reference"]["within_tolerance"], results["reference"]
    assert results["lengths"] == [len(w) for w in words]
    if padding == "pack":
        compared = results["pad_vs_pack"]
        assert compared["packed"]["shapes"]["data"][0] == sum(len(w) for w in words)
        assert compared["packed"]["batch_sizes"] == [
            int(np.sum(np.array(results["lengths"]) > t)) for t in range(max(map(len, words)))
        ]
        if not bidirectional:
            # The reverse direction of a padded run starts in the pads; a forward one never does.
            assert compared["agree"], compared
