"""Words to one-hot arrays and index codes.

Pure NumPy: checks the vocabulary and the words, and lays the one-hot codes out batch-major
(words, chars, vocab) or sequence-major (chars, words, vocab). Ragged words are padded to the
longest and come with their lengths; training pairs (input, next-character target) are cut here
too. Knows nothing of Hydra or torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnn_experiments.errors import UserError

# The one multi-character vocabulary entry: the padding token. Padded steps encode as its
# one-hot when the vocabulary has it, as all zeros otherwise.
PAD_TOKEN = "<pad>"


def check_vocab(vocab: Sequence[str]) -> dict[str, int]:
    """Return char -> index, rejecting empty, multi-character and duplicate entries."""
    if len(vocab) == 0:
        raise UserError("data.vocab is empty; list at least one single character")
    index: dict[str, int] = {}
    for i, char in enumerate(vocab):
        if not isinstance(char, str) or (len(char) != 1 and char != PAD_TOKEN):
            raise UserError(
                f"data.vocab[{i}]={char!r} is not a single character; "
                f"each vocabulary entry must be exactly one character (or {PAD_TOKEN!r})"
            )
        if char in index:
            raise UserError(
                f"data.vocab has {char!r} twice (positions {index[char]} and {i}); "
                "vocabulary entries must be unique"
            )
        index[char] = i
    return index


def check_words(
    words: Sequence[str], vocab: Sequence[str], *, ragged: bool = False
) -> dict[str, int]:
    """Validate words against the vocabulary (and, unless `ragged`, their common length)."""
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
    if len(lengths) > 1 and not ragged:
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


def pad_codes(
    words: Sequence[str], index: dict[str, int], fill: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index codes (words, longest) with `fill` after each word's end, and the word lengths."""
    lengths = np.array([len(word) for word in words], dtype=np.int64)
    codes = np.full((len(words), int(lengths.max())), fill, dtype=np.int64)
    for w, word in enumerate(words):
        codes[w, : len(word)] = [index[c] for c in word]
    return codes, lengths


def encode_padded_words(
    words: Sequence[str], vocab: Sequence[str], *, batch_major: bool = True, dtype: str = "float32"
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot encode words of any lengths, padded to the longest; also return the lengths.

    Padded steps hold the one-hot of PAD_TOKEN if the vocabulary has it, else zeros.
    """
    index = check_words(words, vocab, ragged=True)
    codes, lengths = pad_codes(words, index, fill=len(vocab))
    table = np.zeros((len(vocab) + 1, len(vocab)), dtype=dtype)
    table[: len(vocab)] = np.eye(len(vocab), dtype=dtype)
    if PAD_TOKEN in index:
        table[len(vocab), index[PAD_TOKEN]] = 1
    onehot = table[codes]
    return (onehot if batch_major else np.ascontiguousarray(onehot.transpose(1, 0, 2))), lengths


def valid_steps(lengths: np.ndarray, batch_major: bool = True) -> np.ndarray:
    """Boolean mask of the steps inside each word: (words, longest), or (longest, words)."""
    mask = np.arange(int(lengths.max()))[None, :] < np.asarray(lengths)[:, None]
    return mask if batch_major else mask.T


def next_char_pairs(words: Sequence[str], window: int | None) -> tuple[list[str], list[str]]:
    """Training pairs: each word's word[:-1] -> word[1:], or its sliding windows of `window`."""
    inputs: list[str] = []
    targets: list[str] = []
    for w, word in enumerate(words):
        if window is None:
            if len(word) < 2:
                raise UserError(
                    f"data.words[{w}]={word!r} is too short to train on; next-character "
                    "training needs at least 2 characters"
                )
            inputs.append(word[:-1])
            targets.append(word[1:])
            continue
        if len(word) <= window:
            raise UserError(
                f"data.words[{w}] has {len(word)} characters, too few for data.window={window}; "
                f"each word needs more than {window} characters"
            )
        for start in range(len(word) - window):
            inputs.append(word[start : start + window])
            targets.append(word[start + 1 : start + window + 1])
    return inputs, targets
