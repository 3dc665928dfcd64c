"""Word-level LM on IMDB review text: rnnkit's LanguageModel vs a bare nn.LSTM loop, same size and budget.

Training text: the first ``--train-reviews`` reviews of ``imdb/train.jsonl``; evaluation text: the first
``--eval-reviews`` of ``imdb/test.jsonl``; one review per line (``<br />`` read as a space), whitespace
words, ``<eos>`` at each line end, the ``--max-vocab`` most frequent words (others ``<unk>``). Figures:
perplexity on the evaluation text at the end of the budget, and throughput (words/s).

    flock /tmp/rnnkit-bench.lock python benchmarks/lm_imdb_words.py --budget 600
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import BARE, RNNKIT, add_model_arguments, compare, recipe_text, streams_for, throughput_ratio
from _record import publish
from _setup import imdb_reviews, shared_data, start
from rnnkit.data.text import build_vocab, tokenize


def reviews(data: str, split: str, count: int) -> str:
    """The first ``count`` reviews of ``split``, one a line, ``<br />`` read as a space."""
    lines = [" ".join(text.replace("<br />", " ").split()) for text, _ in imdb_reviews(data, split, count)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(shared_data()), help="the data folder, holding imdb/train.jsonl and "
                        "imdb/test.jsonl (default: ../shared/data)")
    parser.add_argument("--train-reviews", type=int, default=5000, help="training reviews (default 5000)")
    parser.add_argument("--eval-reviews", type=int, default=500, help="evaluation reviews (default 500)")
    parser.add_argument("--max-vocab", type=int, default=20000, help="vocabulary size (default 20000)")
    parser.add_argument("--out", default="runs/bench-lm-imdb", help="rnnkit's run directory")
    add_model_arguments(parser, hidden=256, layers=1, embedding=256, bptt=35, batch_size=32, dropout=0.2, lr=2e-3)
    args = start(parser)

    train_text = reviews(args.data, "train", args.train_reviews)
    valid_text = reviews(args.data, "test", args.eval_reviews)
    train_tokens = tokenize(train_text, "word")
    vocab = build_vocab(train_tokens, "word", max_size=args.max_vocab)
    valid = streams_for(torch.tensor(vocab.encode(tokenize(valid_text, "word"))), args.bptt)
    figures = compare(train_text, valid_text, "word", vocab, torch.tensor(vocab.encode(train_tokens)), valid, args,
                      Path(args.out), max_vocab=args.max_vocab)
    body = [
        f"Budget {args.budget:.0f} s per model on {args.device} ({args.threads} threads); {args.layers}×{args.hidden} "
        f"LSTM, E {args.embedding}, batch {args.batch_size}, bptt {args.bptt}, {recipe_text(args)}; "
        f"{len(train_tokens):,} training words ({args.train_reviews} reviews), vocabulary {len(vocab)}, "
        f"{valid.num_tokens:,} evaluation words ({args.eval_reviews} test reviews).",
        "",
        "| model | steps | words/s (median of 50-step windows) | eval loss (nats/word) | perplexity |",
        "|---|---:|---:|---:|---:|",
        *[f"| {name} | {f['steps']} | {f['tokens_per_s']:,.0f} | {f['loss']:.4f} | {math.exp(f['loss']):.1f} |"
          for name, f in figures.items()],
    ]
    if BARE in figures and RNNKIT in figures:
        perplexity_ratio = math.exp(figures[RNNKIT]["loss"] - figures[BARE]["loss"])
        body += ["", f"- throughput ratio rnnkit / bare: **{throughput_ratio(figures):.3f}**",
                 f"- perplexity ratio rnnkit / bare: **{perplexity_ratio:.3f}** (≤ 1: rnnkit no worse)"]
    publish("Word LM on IMDB reviews: rnnkit vs bare nn.LSTM loop", "\n".join(body), args.no_record, args.note)


if __name__ == "__main__":
    main()
