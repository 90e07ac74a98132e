"""Words to one-hot arrays.

Pure NumPy: checks the vocabulary and the words, and lays the one-hot codes out batch-major
(words, chars, vocab) or sequence-major (chars, words, vocab). Knows nothing of Hydra or torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnn_experiments.errors import UserError


def check_vocab(vocab: Sequence[str]) -> dict[str, int]:
    """Return char -> index, rejecting empty, multi-character and duplicate entries."""
    if len(vocab) == 0:
        raise UserError("data.vocab is empty; list at least one single character")
    index: dict[str, int] = {}
    for i, char in enumerate(vocab):
        if not isinstance(char, str) or len(char) != 1:
            raise UserError(
                f"data.vocab[{i}]={char!r} is not a single character; "
                "each vocabulary entry must be exactly one character"
            )
        if char in index:
            raise UserError(
                f"data.vocab has {char!r} twice (positions {index[char]} and {i}); "
                "vocabulary entries must be unique"
            )
        index[char] = i
    return index


def check_words(words: Sequence[str], vocab: Sequence[str]) -> dict[str, int]:
    """Validate words against the vocabulary; return the vocabulary index."""
    index = check_vocab(vocab)
    if len(words) == 0:
        raise UserError("data.words is empty; give at least one word")
    for w, word in enumerate(words):
        if len(word) == 0:
            raise UserError(f"data.words[{w}] is an empty word; every word needs a character")
        for pos, char in enumerate(word):
            if char not in index:
                raise UserError(
                    f"data.words[{w}]={word!r} has {char!r} at position {pos}, which is not in "
                    f"data.vocab {list(vocab)}"
                )
    lengths = {len(word) for word in words}
    if len(lengths) > 1:
        detail = ", ".join(f"{word!r}={len(word)}" for word in words)
        raise UserError(
            f"data.words have different lengths ({detail}); ragged words need padding "
            "(data.padding=pad or pack) or words of one length"
        )
    return index


def encode_words(
    words: Sequence[str], vocab: Sequence[str], *, batch_major: bool = True, dtype: str = "float32"
) -> np.ndarray:
    """One-hot encode equal-length words: (words, chars, vocab), or (chars, words, vocab)."""
    index = check_words(words, vocab)
    codes = np.array([[index[c] for c in word] for word in words], dtype=np.int64)
    onehot = np.eye(len(vocab), dtype=dtype)[codes]
    return onehot if batch_major else np.ascontiguousarray(onehot.transpose(1, 0, 2))
