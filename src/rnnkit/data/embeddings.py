"""Pretrained word vectors in the word2vec / GloVe text format: read into a vocabulary's order, and written.

Format: one word a line followed by its E numbers, separated by spaces; word2vec files start with a
header line ``N E`` (count and dimension), GloVe files do not. Only the vectors of words in the given
vocabulary are kept, so a multi-gigabyte file streams through in constant memory. A word missing from
the file keeps its random initialisation; a word found only in lower case (``Paris`` → ``paris``) takes
the lower-case vector. A line with the wrong number of values is a DataError naming the file and line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
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


def write_vectors(path: str | Path, words: Sequence[str], vectors: torch.Tensor, digits: int = 4) -> None:
    """Write ``vectors`` (V, E), row i the vector of ``words[i]``, in word2vec text format (header ``V E``).

    Written to a temporary sibling, flushed to disk and renamed into place, so an interrupted write never
    leaves a truncated file. A word that is empty or holds white space could not be read back: ValueError.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "vectors.txt")
        >>> write_vectors(path, ["the", "cat"], torch.tensor([[1.0, 0.5], [0.0, -2.0]]))
        >>> open(path).read()
        '2 2\\nthe 1.0000 0.5000\\ncat 0.0000 -2.0000\\n'
        >>> read_vectors(path, Vocab(["<unk>", "cat"]), dim=2)[0].tolist()
        [[0.0, 0.0], [0.0, -2.0]]
    """
    if vectors.dim() != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"vectors must be ({len(words)}, E), got {tuple(vectors.shape)}")
    bad = next((w for w in words if w.split() != [w]), None)
    if bad is not None:
        raise ValueError(f"word {bad!r} is empty or holds white space, which the text format cannot store")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n")
        for word, row in zip(words, vectors.tolist(), strict=True):
            f.write(word + " " + " ".join(f"{x:.{digits}f}" for x in row) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
