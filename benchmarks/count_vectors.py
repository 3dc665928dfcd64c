"""Count-based word vectors (PPMI + truncated SVD) from ``../shared/data`` text, for ``--embeddings``.

Reads the 25,000 IMDB training reviews (tokenised as SST-2 is, see classification.sst_style) and the SST-2
training sentences, counts co-occurrences within ``--window`` words of each other in a line, weighted 1/d for
distance d, symmetric, and factorises the positive PMI matrix (Levy, Goldberg and Dagan 2015):

    PPMI(w, c) = max(0, log #(w,c) − log #(w) − log P_α(c)),   P_α(c) = #(c)^α / Σ_c' #(c')^α
    PPMI ≈ U Σ Vᵀ (rank ``--dim``, randomised SVD, Halko et al. 2011),   W = U Σ^½   (V × dim)

W is rescaled to standard deviation ``--scale`` and written in word2vec text format, atomically (temp file,
then rename). No labels are read, so the vectors are unsupervised, from ../shared/data only:

    python benchmarks/count_vectors.py --out runs/imdb-ppmi-300.txt
    python benchmarks/classification.py --dataset sst2 --systems rnnkit-attention --embeddings runs/imdb-ppmi-300.txt
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from _setup import shared_data
from classification import sst_style


def read_sentences(data: Path) -> list[list[str]]:
    """IMDB train reviews in SST-2's tokens, then SST-2 train sentences (their label column dropped)."""
    with open(data / "imdb" / "train.jsonl", encoding="utf-8") as f:
        sentences = [sst_style(json.loads(line)["text"]) for line in f]
    with open(data / "sst2" / "stsa.binary.train", encoding="utf-8") as f:
        sentences += [line.split()[1:] for line in f]
    return sentences


def ppmi_vectors(sentences: list[list[str]], dim: int, window: int, min_count: int, alpha: float,
                 seed: int) -> tuple[list[str], torch.Tensor]:
    """The words reaching ``min_count`` (most frequent first) and their rows of W = U Σ^½ (V × dim)."""
    counts = Counter(w for s in sentences for w in s)
    words = [w for w, c in counts.most_common() if c >= min_count]
    index = {w: i for i, w in enumerate(words)}
    size = len(words)
    # One id stream, each line padded with `window` gaps (-1), so no pair crosses a line or a rare word.
    ids = np.concatenate([np.array([index.get(w, -1) for w in s] + [-1] * window, dtype=np.int64)
                          for s in sentences])
    keys, weights = [], []
    for d in range(1, window + 1):
        a, b = ids[:-d], ids[d:]
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        keys += [a * size + b, b * size + a]
        weights.append(np.full(2 * len(a), 1.0 / d))
    pairs, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    joint = np.bincount(inverse, weights=np.concatenate(weights))
    rows, cols = pairs // size, pairs % size
    word_count = np.bincount(rows, weights=joint, minlength=size)
    context = np.bincount(cols, weights=joint, minlength=size) ** alpha
    pmi = np.log(joint) - np.log(word_count[rows]) - np.log(context[cols] / context.sum())
    keep = pmi > 0
    matrix = torch.sparse_coo_tensor(np.stack([rows[keep], cols[keep]]), torch.tensor(pmi[keep], dtype=torch.float32),
                                     (size, size), check_invariants=True).coalesce()
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(matrix, q=dim, niter=4)
    return words, u * s.sqrt()


def write_word2vec(path: Path, words: list[str], vectors: torch.Tensor) -> None:
    """Word2vec text format ("V dim" header, one "word x1 … xdim" line each), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n")
        for word, row in zip(words, vectors.tolist(), strict=True):
            f.write(word + " " + " ".join(f"{x:.4f}" for x in row) + "\n")
    os.replace(temp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(shared_data()), help="the shared data folder")
    parser.add_argument("--out", required=True, type=Path, help="word2vec text file to write")
    parser.add_argument("--dim", type=int, default=300, help="vector size (default 300)")
    parser.add_argument("--window", type=int, default=5, help="words either side (default 5)")
    parser.add_argument("--min-count", type=int, default=5, help="rarer words get no vector (default 5)")
    parser.add_argument("--alpha", type=float, default=0.75, help="context-count smoothing (default 0.75)")
    parser.add_argument("--scale", type=float, default=0.5, help="standard deviation of W (default 0.5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", default="good,terrible,boring,film", help="words whose neighbours to print")
    args = parser.parse_args()
    start = time.perf_counter()
    sentences = read_sentences(Path(args.data))
    words, vectors = ppmi_vectors(sentences, args.dim, args.window, args.min_count, args.alpha, args.seed)
    vectors = vectors / vectors.std() * args.scale
    write_word2vec(args.out, words, vectors)
    print(f"{sum(map(len, sentences)):,} tokens, {len(words):,} words × {args.dim} -> {args.out} "
          f"in {time.perf_counter() - start:.0f} s")
    unit = torch.nn.functional.normalize(vectors, dim=1)
    index = {w: i for i, w in enumerate(words)}
    for word in (w for w in args.show.split(",") if w in index):
        near = (unit @ unit[index[word]]).topk(9).indices.tolist()[1:]
        print(f"  {word}: {', '.join(words[i] for i in near)}")


if __name__ == "__main__":
    main()
