"""Pretrained word vectors in the word2vec / GloVe text format, read into a vocabulary's order.

Format: one word a line followed by its E numbers, separated by spaces; word2vec files start with a
header line ``N E`` (count and dimension), GloVe files do not. Only the vectors of words in the given
vocabulary are kept, so a multi-gigabyte file streams through in constant memory. A word missing from
the file keeps its random initialisation; a word found only in lower case (``Paris`` → ``paris``) takes
the lower-case vector. A line with the wrong number of values is a DataError naming the file and line.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError

logger = logging.getLogger(__name__)


def read_vectors(path: str | Path, vocab: Vocab, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The vectors of ``vocab``'s symbols found in ``path``.

    Args:
        path: a word2vec or GloVe text file.
        vocab: the symbols wanted, in id order.
        dim: E, the expected vector size (the model's embedding size).

    Returns:
        vectors: (V, E) float tensor, zeros where no vector was found.
        found: (V,) bool tensor, True where a vector was found.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("2 3\\nthe 1 2 3\\nparis 0 1 0\\n")
        >>> vectors, found = read_vectors(f.name, Vocab(["<pad>", "<unk>", "the", "Paris"]), dim=3)
        >>> found.tolist(), vectors[3].tolist()
        ([False, False, True, True], [0.0, 1.0, 0.0])
        >>> os.remove(f.name)
    """
    name = display_name(path)
    vectors = torch.zeros(len(vocab), dim)
    found = torch.zeros(len(vocab), dtype=torch.bool)
    exact = torch.zeros(len(vocab), dtype=torch.bool)  # an exact match beats a lower-case one
    lowered: dict[str, list[int]] = {}
    for i, symbol in enumerate(vocab.symbols):
        lowered.setdefault(symbol.lower(), []).append(i)
    for number, line in numbered_lines(path):
        cells = line.rstrip().split(" ")
        if number == 1 and len(cells) == 2 and all(c.isdigit() for c in cells):
            if int(cells[1]) != dim:
                raise DataError(name, f"vectors have {cells[1]} dimensions, the model's embeddings {dim}", 1)
            continue  # the word2vec header
        if len(cells) != dim + 1:
            raise DataError(name, f"expected a word and {dim} numbers, found {len(cells) - 1} values", number)
        word = cells[0]
        targets = [vocab.index[word]] if word in vocab.index else []
        targets += [i for i in lowered.get(word, []) if not exact[i] and i not in targets]
        if not targets:
            continue
        try:
            vector = torch.tensor([float(c) for c in cells[1:]])
        except ValueError:
            raise DataError(name, "a vector value is not a number", number) from None
        for i in targets:
            vectors[i] = vector
            found[i] = True
        if word in vocab.index:
            exact[vocab.index[word]] = True
    logger.info("%s: vectors for %d of %d words", name, int(found.sum()), len(vocab))
    return vectors, found
