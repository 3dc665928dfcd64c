"""``rnnkit train vectors``: count-based word vectors (PPMI + SVD, see rnnkit.tasks.word_vectors) from text.

Examples:
    rnnkit train vectors --text reviews.jsonl stsa.binary.train --format jsonl sst --tokenizer words --lowercase
    rnnkit train vectors --text en_ewt-ud-train.conllu --dim 100 --min-count 2 --out runs/ewt-100.txt
    rnnkit train classifier --train stsa.binary.train --embeddings runs/vectors.txt --embedding-dim 300
"""

from __future__ import annotations

import argparse
import logging
import time

from rnnkit.data.labelled_text import TOKENIZERS
from rnnkit.errors import ConfigError
from rnnkit.tasks.word_vectors import FORMATS, WordVectors, read_sentences

log = logging.getLogger("rnnkit.cli")


def _train_vectors(args: argparse.Namespace) -> int:
    formats = args.format or ["auto"]
    if len(formats) not in (1, len(args.text)):
        raise ConfigError(f"--format takes one format, or one for each of the {len(args.text)} --text files")
    formats = formats * len(args.text) if len(formats) == 1 else formats
    start = time.perf_counter()
    sentences = [tokens for path, fmt in zip(args.text, formats, strict=True)
                 for tokens in read_sentences(path, fmt, args.tokenizer, args.lowercase, args.text_field)]
    vectors = WordVectors.fit(sentences, dim=args.dim, window=args.window, min_count=args.min_count,
                              alpha=args.alpha, scale=args.scale, max_words=args.max_words, seed=args.seed)
    vectors.save(args.out)
    log.info("%d words x %d from %d sentences -> %s in %.0f s", len(vectors.words), args.dim, len(sentences),
             args.out, time.perf_counter() - start)
    for word in args.show.split(",") if args.show else []:
        try:
            near = vectors.neighbours(word)
        except KeyError:
            print(f"{word}: no vector")
            continue
        print(f"{word}: " + ", ".join(w for w, _ in near))
    return 0


def register(commands: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    parser = train.add_parser(
        "vectors", help="word vectors from raw text (PPMI + SVD), for --embeddings",
        description="Fit count-based word vectors (positive PMI of windowed co-occurrences, truncated SVD) to "
                    "text, written in word2vec text format for --embeddings of the tagger and the classifier.")
    parser.add_argument("--text", nargs="+", required=True, metavar="FILE", help="text files to count")
    parser.add_argument("--format", nargs="+", choices=FORMATS, metavar="FORMAT",
                        help=f"one of {', '.join(FORMATS)}, for all files or one per file; labels and tags "
                             "are not read (default: auto, by suffix: .jsonl .tsv .csv .conllu, else text)")
    parser.add_argument("--text-field", default="text", help="the text's field in tsv, csv, jsonl (default: text)")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default="split",
                        help="split on white space, or into words and punctuation (default: split)")
    parser.add_argument("--lowercase", action="store_true", help="lower-case the text first")
    parser.add_argument("--dim", type=int, default=300, help="vector size E (default: 300)")
    parser.add_argument("--window", type=int, default=5, help="words either side counted as context (default: 5)")
    parser.add_argument("--min-count", type=int, default=5, help="rarer words get no vector (default: 5)")
    parser.add_argument("--max-words", type=int, default=None, help="keep at most this many of the most frequent")
    parser.add_argument("--alpha", type=float, default=0.75, help="context-count smoothing α (default: 0.75)")
    parser.add_argument("--scale", type=float, default=0.5, help="standard deviation of the vectors (default: 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the randomised SVD (default: 0)")
    parser.add_argument("--show", default="", metavar="W1,W2", help="print these words' nearest neighbours")
    parser.add_argument("--out", default="runs/vectors.txt", help="file to write (default: runs/vectors.txt)")
    parser.set_defaults(run=_train_vectors)
