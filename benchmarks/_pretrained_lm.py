"""The "pretrained word LM init" rows of the tagging and classification benchmarks.

Before the systems run, the driver trains one rnnkit word LM (``LanguageModel(level="word")``, the cell
and sizes of the benchmark's encoder, one layer) for ``--pretrained-lm-minutes`` on raw text from
../shared/data: the task's own training texts and, with ``--lm-text``, the IMDB training reviews or the
WikiText-2 text (its valid and test files: the shared copy has no train file). Never a test set of the
benchmark's task. The rows whose name starts with ``rnnkit-lm`` then start their tagger or classifier
from it (``init_from``) and train within the same per-system budget as the others; the LM's own time is
reported apart. ``--lm-out DIR`` keeps the LM (and its figures, ``DIR/pretraining.json``); ``--lm-from DIR``
starts the rows from such a kept LM instead of training one, e.g. SST-2's from the LM of an IMDB run.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _setup import imdb_reviews
from rnnkit.data.labelled_text import tokenize
from rnnkit.tasks.language_model import LanguageModel

SOURCES = ("train", "imdb", "wikitext")
PREFIX = "rnnkit-lm"
FIGURES = "pretraining.json"  # the LM's figures for the section, kept beside it


def add_arguments(parser: argparse.ArgumentParser, default_text: str) -> None:
    group = parser.add_argument_group("pretrained word LM row (rnnkit-lm*)")
    group.add_argument("--pretrained-lm-minutes", type=float, default=0.0,
                       help="train a word LM this long first and add its row(s) (default 0: no such row)")
    group.add_argument("--lm-text", default=default_text,
                       help=f"comma-separated raw text for the LM, of {', '.join(SOURCES)} (default {default_text})")
    group.add_argument("--lm-max-vocab", type=int, default=20000,
                       help="the LM's vocabulary, specials included (default 20000)")
    group.add_argument("--lm-out", default=None, help="keep the LM run here (default: a temporary directory)")
    group.add_argument("--lm-from", default=None,
                       help="start the LM rows from the LM an earlier run kept with --lm-out (no LM training)")
    group.add_argument("--lm-checkpoint", default=None, help=argparse.SUPPRESS)  # driver → workers


def requested(args: argparse.Namespace) -> bool:
    """Whether the command line asks for an LM row (an LM to train, or one to reuse)."""
    return args.pretrained_lm_minutes > 0 or bool(args.lm_from)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace, systems: Sequence[str]) -> None:
    """Command-line errors: LM rows without LM minutes, an unknown text source."""
    wanted = [s for s in systems if s.startswith(PREFIX)]
    if wanted and args.pretrained_lm_minutes <= 0 and not (args.lm_from or args.lm_checkpoint):
        parser.error(f"{', '.join(wanted)} need(s) --pretrained-lm-minutes M > 0 or --lm-from DIR")
    if args.lm_from and args.pretrained_lm_minutes > 0:
        parser.error("--lm-from reuses a trained LM: leave out --pretrained-lm-minutes")
    if args.lm_from and not (Path(args.lm_from) / FIGURES).is_file():
        parser.error(f"--lm-from {args.lm_from}: no {FIGURES} there (keep an LM with --lm-out first)")
    unknown = sorted(set(args.lm_text.split(",")) - set(SOURCES))
    if unknown:
        parser.error(f"--lm-text: unknown source(s) {', '.join(unknown)} (known: {', '.join(SOURCES)})")


def imdb_lines(data: str | Path, limit: int | None, lowercase: bool) -> list[str]:
    """The IMDB training reviews, tokenised into words and punctuation (as the IMDB classifier reads them)."""
    return [" ".join(tokenize(text, "words", lowercase)) for text, _ in imdb_reviews(data, "train", limit)]


def wikitext(data: str | Path, limit: int | None, lowercase: bool) -> list[str]:
    lines = []
    for name in ("valid.txt", "test.txt"):
        text = (Path(data) / "wikitext-2" / name).read_text(encoding="utf-8")
        lines += [line.strip().lower() if lowercase else line.strip() for line in text.splitlines() if line.strip()]
    return lines[:limit] if limit is not None else lines


def lm_lines(args: argparse.Namespace, train_lines: list[str], lowercase: bool) -> tuple[list[str], list[str]]:
    """(lines of text, a description per source) for ``--lm-text``; ``--limit-train`` caps each source."""
    lines, described = [], []
    for source in args.lm_text.split(","):
        found = {"train": lambda: train_lines,  # the task's own training texts
                 "imdb": lambda: imdb_lines(args.data, args.limit_train, lowercase),
                 "wikitext": lambda: wikitext(args.data, args.limit_train, lowercase)}[source]()
        lines += found
        name = f"{args.dataset} training texts" if source == "train" else source
        described.append(f"{name} ({len(found):,} lines)")
    return lines, described


def pretrain(args: argparse.Namespace, lines: list[str], described: list[str], embedding: int, hidden: int,
             out_dir: str) -> dict:
    """Train the LM into ``out_dir``; its figures for the section."""
    config = {"time_budget": args.pretrained_lm_minutes * 60, "epochs": 1000, "eval_every": 1000,
              "device": args.device, "progress": "off", "seed": args.seed, "log_every": 10**6}
    lm = LanguageModel(level="word", cell="lstm", embedding_size=embedding, hidden_size=hidden, num_layers=1,
                       dropout=0.1, bptt=35, batch_size=32, max_vocab=args.lm_max_vocab, valid_fraction=0.01,
                       train_config=config, out_dir=out_dir)
    start = time.perf_counter()
    lm.fit("\n".join(lines) + "\n")
    seconds = time.perf_counter() - start
    best = lm.result_.best_metric
    figures = {"seconds": seconds, "steps": lm.result_.steps, "tokens": lm.corpus_["train_tokens"],
               "vocab": len(lm.vocab_), "perplexity": None if best is None else math.exp(best),
               "sources": " + ".join(described), "embedding": embedding, "hidden": hidden, "device": args.device}
    (Path(out_dir) / FIGURES).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


def reuse(lm_dir: str, embedding: int, hidden: int) -> dict:
    """The figures of the LM kept in ``lm_dir``; exits with a message if its sizes are not the model's."""
    figures = json.loads((Path(lm_dir) / FIGURES).read_text(encoding="utf-8"))
    if (figures["embedding"], figures["hidden"]) != (embedding, hidden):
        raise SystemExit(f"--lm-from {lm_dir}: that LM has embeddings {figures['embedding']} and hidden "
                         f"{figures['hidden']}; this run's model has {embedding} and {hidden}")
    return figures


class Pretrained:
    """Context for the driver: trains the LM when a row needs it, gives the workers' extra arguments."""

    def __init__(self, args: argparse.Namespace, systems: Sequence[str]) -> None:
        self.args, self.needed = args, any(s.startswith(PREFIX) for s in systems)
        self.trains = self.needed and not args.lm_from  # False: no LM, or one reused with --lm-from
        self.figures: dict | None = None
        self._scratch = None

    def __enter__(self) -> Pretrained:
        return self

    def __exit__(self, *exc) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def worker_argv(self, train_lines: list[str], lowercase: bool, embedding: int, hidden: int) -> list[str]:
        if not self.needed:
            return []
        if self.args.lm_from:
            self.figures = reuse(self.args.lm_from, embedding, hidden)
            return ["--lm-checkpoint", self.args.lm_from]
        out = self.args.lm_out
        if out is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="rnnkit-bench-lm-")
            out = self._scratch.name
        lines, described = lm_lines(self.args, train_lines, lowercase)
        self.figures = pretrain(self.args, lines, described, embedding, hidden, out)
        return ["--lm-checkpoint", out]

    def section(self, rows_named: str, random_parts: str) -> str:
        """The paragraph on the LM, or '' when no row used one; ``random_parts``: what starts at random."""
        f = self.figures
        if f is None:
            return ""
        perplexity = "–" if f["perplexity"] is None else f"{f['perplexity']:.1f}"
        when = f"kept from an earlier run ({self.args.lm_from})" if self.args.lm_from else "trained first"
        return (f"\n\nPretrained word LM for {rows_named}: {when}, {f['seconds'] / 60:.1f} min on {f['device']} "
                f"({f['steps']} steps; not counted in the rows' budget) on {f['tokens']:,} tokens of {f['sources']}; "
                f"1-layer LSTM, E {f['embedding']}, H {f['hidden']}, bptt 35, batch 32, vocabulary {f['vocab']:,}, "
                f"validation perplexity {perplexity} (the last 1% of its text). It initialises the word embeddings "
                "(the coverage column: share of the model's words found in the LM) and the forward direction of "
                f"the Bi-LSTM; {random_parts} start at random.")
