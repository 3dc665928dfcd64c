"""Count-based word vectors: positive PMI of windowed co-occurrences, factorised by a truncated SVD.

Unsupervised word vectors from raw text alone, to start the word embeddings of a tagger or a classifier
(``--embeddings``) where no external vectors may or can be used. Each pair of words at distance d ≤ K
(``window``) within one sentence adds 1/d to the symmetric count #(w, c). With #(w) = Σ_c #(w, c) and the
smoothed context distribution P_α(c) = #(c)^α / Σ_c' #(c')^α (Levy, Goldberg and Dagan 2015):

    PPMI(w, c) = max(0, log #(w, c) − log #(w) − log P_α(c))     (V × V, sparse; the corpus size cancels)
    PPMI ≈ U Σ Vᵀ      (rank E, randomised SVD, Halko et al. 2011)
    W = U Σ^½          (V × E), rescaled to standard deviation ``scale``

The V words are those seen at least ``min_count`` times, most frequent first. A rarer word keeps its
place in the sentence (distances count across it) but pairs with nothing. ``read_sentences`` gathers the
sentences from any of rnnkit's text formats (``rnnkit train vectors``). Example:

    >>> sentences = [["good", "film"], ["bad", "film"], ["good", "plot"], ["bad", "plot"]] * 5
    >>> wv = WordVectors.fit(sentences, dim=2, window=1, min_count=1)
    >>> wv.words, tuple(wv.vectors.shape)
    (['good', 'film', 'bad', 'plot'], (4, 2))
    >>> [w for w, _ in wv.neighbours("good", k=1)]
    ['bad']
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.embeddings import write_vectors
from rnnkit.data.labelled_text import read_labelled, resolve_format, tokenize
from rnnkit.data.lines import numbered_lines
from rnnkit.errors import ConfigError
from rnnkit.tasks.tagging import read_tagged
from rnnkit.tasks.tagging import resolve_format as resolve_tagged_format

FORMATS = ("auto", "text", "sst", "tsv", "csv", "jsonl", "conllu", "conll")

logger = logging.getLogger(__name__)


def read_sentences(path: str | Path, fmt: str = "auto", tokenizer: str = "split", lowercase: bool = False,
                   text_field: str = "text") -> Iterator[list[str]]:
    """The token lists of one file; labels and tags, where the format has them, are not read.

    Formats: ``text`` (one sentence or paragraph a line; blank lines separate, they are not sentences),
    ``sst``, ``tsv``, ``csv``, ``jsonl`` (the classifier's label + text files, ``text_field`` naming the
    text) and ``conllu``, ``conll`` (the tagger's token columns, already tokenised: ``tokenizer`` does not
    apply). ``auto`` goes by the suffix: .jsonl, .tsv, .csv, .conllu, else ``text``. A malformed line is a
    DataError naming the file and line, as in the readers.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("It's a film.\\n\\nA good one!\\n")
        >>> list(read_sentences(f.name, tokenizer="words", lowercase=True))
        [['it', "'", 's', 'a', 'film', '.'], ['a', 'good', 'one', '!']]
        >>> os.remove(f.name)
    """
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "auto":  # the classifier's suffixes, else the tagger's (.conllu, else plain text)
        fmt = resolve_format(path, "auto")
        fmt = resolve_tagged_format(path, None) if fmt == "sst" else fmt
    if fmt in ("conllu", "conll"):
        for sentence in read_tagged(path, fmt, labelled=False):
            yield [t.lower() for t in sentence.tokens] if lowercase else sentence.tokens
    elif fmt == "text":
        for _, line in numbered_lines(path):
            if tokens := tokenize(line, tokenizer, lowercase):
                yield tokens
    else:
        for example in read_labelled(path, fmt, text_field=text_field, tokenizer=tokenizer, lowercase=lowercase):
            yield example.tokens


def ppmi_matrix(sentences: Sequence[Sequence[str]], words: Sequence[str], window: int = 5,
                alpha: float = 0.75) -> torch.Tensor:
    """PPMI(w, c) of the module docstring for ``words`` (row and column i: ``words[i]``), from ``sentences``.

    Returns:
        (V, V) sparse COO float32 tensor, coalesced, holding only the positive entries.
    """
    index = {w: i for i, w in enumerate(words)}
    size = len(words)
    # One id stream, each sentence followed by `window` gaps (-1), so that no pair spans two sentences.
    ids = np.concatenate([np.array([index.get(w, -1) for w in s] + [-1] * window, dtype=np.int64)
                          for s in sentences] or [np.zeros(0, dtype=np.int64)])
    keys, weights = [], []
    for d in range(1, window + 1):
        a, b = ids[:-d], ids[d:]
        both = (a >= 0) & (b >= 0)
        a, b = a[both], b[both]
        keys += [a * size + b, b * size + a]
        weights.append(np.full(2 * len(a), 1.0 / d))
    pairs, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    joint = np.bincount(inverse, weights=np.concatenate(weights))  # #(w, c), one per distinct pair
    rows, cols = pairs // size, pairs % size
    word_count = np.bincount(rows, weights=joint, minlength=size)
    context = np.bincount(cols, weights=joint, minlength=size) ** alpha
    pmi = np.log(joint) - np.log(word_count[rows]) - np.log(context[cols] / context.sum())
    keep = pmi > 0
    return torch.sparse_coo_tensor(np.stack([rows[keep], cols[keep]]), torch.tensor(pmi[keep], dtype=torch.float32),
                                   (size, size), check_invariants=True).coalesce()


@dataclass
class WordVectors:
    """Words and their vectors: row i of ``vectors`` (V, E) belongs to ``words[i]``."""

    words: list[str]
    vectors: torch.Tensor

    @classmethod
    def fit(cls, sentences: Sequence[Sequence[str]], dim: int = 300, window: int = 5, min_count: int = 5,
            alpha: float = 0.75, scale: float = 0.5, max_words: int | None = None, seed: int = 0) -> WordVectors:
        """Count ``sentences`` (lists of tokens) and factorise their PPMI matrix (module docstring).

        Args:
            dim: E, the vector size; below the number of words kept.
            window: K, words either side that count as context.
            min_count: rarer words get no vector.
            alpha: the context-count smoothing exponent α (1 is plain PMI).
            scale: the standard deviation of W's entries (0.5: the size of a trained embedding's).
            max_words: keep at most this many of the most frequent words.
            seed: seeds the SVD's random projection.
        """
        for name, value in (("dim", dim), ("window", window), ("min_count", min_count)):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if not 0 < alpha <= 1 or scale <= 0:
            raise ConfigError(f"alpha must be in (0, 1] and scale positive, got {alpha} and {scale}")
        counts = Counter(w for s in sentences for w in s)
        words = [w for w, c in counts.most_common(max_words) if c >= min_count]
        if len(words) <= dim:
            raise ConfigError(f"{len(words)} words are seen at least {min_count} times, too few for {dim}-"
                              "dimensional vectors: give more text, or lower the dimension or the minimum count")
        matrix = ppmi_matrix(sentences, words, window, alpha)
        with torch.random.fork_rng(devices=[]):  # fitting does not disturb the caller's random stream
            torch.manual_seed(seed)
            u, s, _ = torch.svd_lowrank(matrix, q=dim, niter=4)
        vectors = u * s.sqrt()
        logger.info("%s tokens, %d words, %d non-zero PPMI entries", f"{counts.total():,}", len(words),
                    matrix._nnz())
        return cls(words, vectors / vectors.std() * scale)

    def neighbours(self, word: str, k: int = 8) -> list[tuple[str, float]]:
        """The ``k`` words nearest ``word`` by cosine similarity, nearest first (KeyError if it has no vector)."""
        try:
            i = self.words.index(word)
        except ValueError:
            raise KeyError(f"{word!r} has no vector") from None
        unit = torch.nn.functional.normalize(self.vectors, dim=1)
        similarity = unit @ unit[i]
        similarity[i] = -2.0  # not its own neighbour
        top = similarity.topk(min(k, len(self.words) - 1))
        return [(self.words[j], round(v, 4)) for v, j in zip(top.values.tolist(), top.indices.tolist(), strict=True)]

    def save(self, path: str | Path) -> None:
        """Write the vectors in word2vec text format, atomically; ``--embeddings`` reads the file."""
        write_vectors(path, self.words, self.vectors)
