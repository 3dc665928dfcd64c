"""Count-based word vectors (PPMI + truncated SVD) from ``../shared/data`` text, for ``--embeddings``.

Reads the ``--sources`` training text, in lower case: by default the 25,000 IMDB training reviews (tokenised
as SST-2 is, see classification.sst_style) and the SST-2 training sentences; UD EWT's and CoNLL-2003's
training sentences, already tokenised in much the same way (``it 's``), may join them, and so may the 25,000
IMDB test reviews (``imdb_test``): unlabelled text for SST-2, but IMDB's own test set, so never for IMDB rows. It fits
rnnkit.tasks.word_vectors.WordVectors to them (co-occurrences within ``--window`` words, weighted 1/d,
positive PMI with context smoothing α, rank-``--dim`` randomised SVD, W = U Σ^½ rescaled to standard
deviation ``--scale``; the equations are in that module). ``rnnkit train vectors`` does the same for any
text a user has; this script exists for SST-2's tokenisation of the raw IMDB reviews. No labels are
used, so the vectors are unsupervised, from ../shared/data only:

    python benchmarks/count_vectors.py --out runs/imdb-ppmi-300.txt
    python benchmarks/classification.py --dataset sst2 --systems rnnkit-attention --embeddings runs/imdb-ppmi-300.txt
    python benchmarks/count_vectors.py --sources imdb,imdb_test,sst2 --out runs/imdb2-ppmi-300.txt
    python benchmarks/count_vectors.py --sources imdb,sst2,ud_ewt,conll2003 --dim 100 --out runs/tag-ppmi-100.txt
    python benchmarks/tagging.py --dataset ud_ewt --systems rnnkit --embeddings runs/tag-ppmi-100.txt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _setup import shared_data
from _tagging_data import read_split
from classification import imdb_in_sst_style
from rnnkit.tasks.word_vectors import WordVectors, read_sentences

SOURCES = ("imdb", "imdb_test", "sst2", "ud_ewt", "conll2003")  # the training files (imdb_test: IMDB's test)


def corpus(data: Path, sources: list[str]) -> list[list[str]]:
    """The sentences of ``sources`` in order, lower-cased, their labels and tags dropped: IMDB's reviews in
    SST-2's tokens, the others as the benchmarks read them."""
    sentences = []
    for source in sources:
        if source in ("imdb", "imdb_test"):
            sentences += [tokens for tokens, _ in imdb_in_sst_style(data, "test" if source == "imdb_test" else "train")]
        elif source == "sst2":
            sentences += list(read_sentences(data / "sst2" / "stsa.binary.train", "sst", lowercase=True))
        else:
            sentences += [[t.lower() for t in tokens] for tokens, _ in read_split(data, source, 0)]
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(shared_data()), help="the shared data folder")
    parser.add_argument("--sources", default="imdb,sst2",
                        help=f"comma-separated, of {', '.join(SOURCES)} (default imdb,sst2)")
    parser.add_argument("--out", required=True, type=Path, help="word2vec text file to write")
    parser.add_argument("--dim", type=int, default=300, help="vector size (default 300)")
    parser.add_argument("--window", type=int, default=5, help="words either side (default 5)")
    parser.add_argument("--min-count", type=int, default=5, help="rarer words get no vector (default 5)")
    parser.add_argument("--alpha", type=float, default=0.75, help="context-count smoothing (default 0.75)")
    parser.add_argument("--scale", type=float, default=0.5, help="standard deviation of W (default 0.5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", default="good,terrible,boring,film", help="words whose neighbours to print")
    args = parser.parse_args()
    sources = args.sources.split(",")
    if unknown := set(sources) - set(SOURCES):
        parser.error(f"unknown --sources {', '.join(sorted(unknown))}")
    start = time.perf_counter()
    sentences = corpus(Path(args.data), sources)
    vectors = WordVectors.fit(sentences, args.dim, args.window, args.min_count, args.alpha, args.scale,
                              seed=args.seed)
    vectors.save(args.out)
    print(f"{sum(map(len, sentences)):,} tokens, {len(vectors.words):,} words × {args.dim} -> {args.out} "
          f"in {time.perf_counter() - start:.0f} s")
    for word in (w for w in args.show.split(",") if w in vectors.words):
        print(f"  {word}: {', '.join(w for w, _ in vectors.neighbours(word))}")


if __name__ == "__main__":
    main()
