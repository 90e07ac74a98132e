"""One-hot encoding of words, and the one-line errors for bad vocabularies and words."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_experiments.encoding import encode_words
from rnn_experiments.errors import UserError

VOCAB = ["h", "e", "l", "o"]
WORDS = ["hello", "eolll", "lleel"]


def test_hello_is_one_hot_batch_major():
    x = encode_words(WORDS, VOCAB)
    assert x.shape == (3, 5, 4)
    assert x.dtype == np.float32
    h, e, l, o = np.eye(4)  # noqa: E741
    np.testing.assert_array_equal(x[0], [h, e, l, l, o])
    np.testing.assert_array_equal(x[2], [l, l, e, e, l])


def test_seq_major_is_the_transpose():
    x = encode_words(WORDS, VOCAB, batch_major=False, dtype="float64")
    assert x.shape == (5, 3, 4) and x.dtype == np.float64
    np.testing.assert_array_equal(x, encode_words(WORDS, VOCAB).transpose(1, 0, 2))


@pytest.mark.parametrize(
    ("words", "vocab", "fragments"),
    [
        (["hellx"], VOCAB, ["data.words[0]='hellx'", "'x' at position 4", "['h', 'e', 'l', 'o']"]),
        ([], VOCAB, ["data.words is empty"]),
        (["hello", ""], VOCAB, ["data.words[1] is an empty word"]),
        (["hello", "hel"], VOCAB, ["different lengths", "'hel'=3", "padding"]),
        (["hello"], ["h", "e", "l", "o", "l"], ["'l' twice", "unique"]),
        (["hello"], ["h", "e", "ll", "o"], ["data.vocab[2]='ll'", "single character"]),
        (["hello"], [], ["data.vocab is empty"]),
    ],
)
def test_bad_words_and_vocab_get_one_clear_line(words, vocab, fragments):
    with pytest.raises(UserError) as info:
        encode_words(words, vocab)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
