"""Between text and token ids for generation: checking options, encoding a prime, spelling out tokens.

A character-level prime may only hold characters the model was trained on (an unknown one is an error
that lists them); a word-level prime reads unknown words as ``<unk>``. Generated word tokens are joined
with single spaces, and ``<eos>`` becomes a line break.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import torch

from rnnkit.data.text import tokenize
from rnnkit.data.vocab import EOS, Vocab
from rnnkit.errors import ConfigError, RnnkitError

logger = logging.getLogger(__name__)


def check_sampling_options(
    length: int, temperature: float, top_k: int | None, top_p: float | None, greedy: bool, num_samples: int
) -> None:
    """ConfigError for options that cannot sample (checked before any output is produced)."""
    if not greedy and temperature <= 0:
        raise ConfigError(f"temperature must be > 0 (or use greedy decoding), got {temperature}")
    if (top_k is not None and top_k < 1) or (top_p is not None and not 0 < top_p <= 1):
        raise ConfigError(f"top-k must be >= 1 and top-p in (0, 1], got {top_k} and {top_p}")
    if length < 1 or num_samples < 1:
        raise ConfigError(f"length and num_samples must be >= 1, got {length} and {num_samples}")


def encode_prime(vocab: Vocab, level: str, prime: str) -> list[int]:
    """The ids generation starts from.

    An empty prime starts at a line break (or at the most frequent character). A word-level prime that
    does not end with a newline continues its last line, so no ``<eos>`` is added after it.

    Example:
        >>> v = Vocab(["<pad>", "<unk>", "a", "b", "\\n"])
        >>> encode_prime(v, "char", "ab")
        [2, 3]
        >>> encode_prime(v, "char", "abc")
        Traceback (most recent call last):
        rnnkit.errors.RnnkitError: the prime holds 1 character(s) the model never saw: 'c' (U+0063)
    """
    if level == "char":
        unknown = vocab.unknown(prime)
        if unknown:
            listed = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in unknown)
            raise RnnkitError(f"the prime holds {len(unknown)} character(s) the model never saw: {listed}")
        if not prime:  # ids 0 and 1 are <pad> and <unk>; 2 is the most frequent character
            return [vocab.id("\n") if "\n" in vocab else 2]
        return vocab.encode(prime)
    words = tokenize(prime, "word")
    if not prime.endswith("\n") and words:
        words = words[:-1]  # the prime's last line goes on: no <eos> after it
    unknown = vocab.unknown(words)
    if unknown:
        logger.warning("prime words not in the vocabulary, read as <unk>: %s", " ".join(unknown))
    return vocab.encode(words or [EOS])


def text_pieces(vocab: Vocab, level: str, tokens: Iterator[torch.Tensor], line_start: bool) -> Iterator[list[str]]:
    """Per step, token ids (N,) -> the text each of the N samples gains.

    Example:
        >>> v = Vocab(["<pad>", "<unk>", "<eos>", "hi", "there"])
        >>> steps = iter([torch.tensor([3]), torch.tensor([4]), torch.tensor([2]), torch.tensor([3])])
        >>> "".join(p[0] for p in text_pieces(v, "word", steps, line_start=True))
        'hi there\\nhi'
    """
    at_start: list[bool] | None = None  # word level: no space before a line's first word
    for step in tokens:
        pieces = vocab.decode(step.tolist())
        if level == "word":
            at_start = at_start or [line_start] * len(pieces)
            for row, token in enumerate(pieces):
                pieces[row] = "\n" if token == EOS else token if at_start[row] else " " + token
                at_start[row] = token == EOS
        yield pieces


def join_samples(stream: Iterator[list[str]]) -> list[str]:
    """The full text of each sample from the per-token pieces that :meth:`LanguageModel.stream` yields.

    Example:
        >>> join_samples(iter([["a", "x"], ["b", "y"]]))
        ['ab', 'xy']
    """
    rows = [list(row) for row in zip(*stream, strict=True)]
    return ["".join(row) for row in rows]
