"""The "character-LM features" rows of the tagging and classification benchmarks (``rnnkit-clm``,
``rnnkit-clm-crf``; ``rnnkit-clm-<read-out>``).

Before the systems run, the driver trains two rnnkit character LMs for ``--char-lm-minutes``, a forward
one and a backward one (``LanguageModel(reverse=True)``), at the same time, each in its own process
pinned to its own core with one thread. Their text is raw text from ../shared/data, case kept, lines
shuffled: the task's own training texts (tokens joined by spaces) and, with ``--char-lm-text``, the
tagging data sets' training sentences, the IMDB training reviews and the WikiText-2 text (its valid
and test files: the shared copy has no train file). Never a test set. One pair kept with
``--char-lm-out`` can then serve every data set. The rows then train a tagger or a classifier whose word
vectors also hold the two LMs' states at each word (``lm_features=[forward, backward]``, Flair's contextual
string embeddings) within the same per-system budget as the others; the LMs' own time is reported apart.
``--char-lm-out DIR`` keeps the LMs (``DIR/forward``, ``DIR/backward``, figures in ``DIR/pretraining.json``);
``--char-lm-from DIR`` reuses such a pair instead of training one.

Run as a script, this module trains one of the two LMs (the driver's child processes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _pretrained_lm import wikitext
from _setup import imdb_reviews
from _tagging_data import read_split

SOURCES = ("train", "ud_ewt", "conll2003", "imdb", "wikitext")
PREFIX = "rnnkit-clm"
FIGURES = "pretraining.json"
DIRECTIONS = ("forward", "backward")
BPTT, EMBEDDING = 100, 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("character-LM features rows (rnnkit-clm*)")
    group.add_argument("--char-lm-minutes", type=float, default=0.0,
                       help="train a forward and a backward character LM this long first, at once, one core each, "
                            "and add a rnnkit-clm row (default 0: no such row)")
    group.add_argument("--char-lm-hidden", type=int, default=512, help="the LMs' LSTM size (default 512)")
    group.add_argument("--char-lm-batch", type=int, default=32,
                       help="the LMs' batch size (default 32; a GPU is kept busier by more)")
    group.add_argument("--char-lm-text", default="train,imdb,wikitext",
                       help=f"comma-separated raw text for the LMs, of {', '.join(SOURCES)} "
                            "(default train,imdb,wikitext)")
    group.add_argument("--char-lm-out", default=None, help="keep the LMs here (default: a temporary directory)")
    group.add_argument("--char-lm-from", default=None, help="reuse the LMs an earlier run kept with --char-lm-out")
    group.add_argument("--char-lm-projection", type=int, default=None,
                       help="the rows map the LMs' states to this many features first, learned (lm_projection; "
                            "default: the states as they are)")
    group.add_argument("--char-lm-dir", default=None, help=argparse.SUPPRESS)  # driver → workers


def lm_settings(args: argparse.Namespace, system: str) -> dict:
    """A worker's task settings for a rnnkit-clm row: the LM pair (forward, backward) and the projection;
    none for other rows."""
    if not system.startswith(PREFIX):
        return {}
    return {"lm_features": [str(Path(args.char_lm_dir) / d) for d in DIRECTIONS],
            "lm_projection": args.char_lm_projection}


def requested(args: argparse.Namespace) -> bool:
    return args.char_lm_minutes > 0 or bool(args.char_lm_from)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace, systems: Sequence[str]) -> None:
    wanted = [s for s in systems if s.startswith(PREFIX)]
    if wanted and not (requested(args) or args.char_lm_dir):
        parser.error(f"{', '.join(wanted)} need(s) --char-lm-minutes M > 0 or --char-lm-from DIR")
    if args.char_lm_from and args.char_lm_minutes > 0:
        parser.error("--char-lm-from reuses trained LMs: leave out --char-lm-minutes")
    if args.char_lm_from and not (Path(args.char_lm_from) / FIGURES).is_file():
        parser.error(f"--char-lm-from {args.char_lm_from}: no {FIGURES} there (keep LMs with --char-lm-out first)")
    sources = args.char_lm_text.split(",")
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        parser.error(f"--char-lm-text: unknown source(s) {', '.join(unknown)} (known: {', '.join(SOURCES)})")
    if args.char_lm_minutes > 0 and "train" in sources and args.dataset in sources:  # only LMs trained here read it
        parser.error(f"--char-lm-text: 'train' already is {args.dataset}'s training set")


def raw_lines(args: argparse.Namespace, train_lines: list[str]) -> tuple[list[str], list[str]]:
    """(shuffled lines of raw text, a description per source); ``--limit-train`` caps each source."""
    lines, described = [], []
    for source in args.char_lm_text.split(","):
        if source == "train":
            found = train_lines
        elif source in ("ud_ewt", "conll2003"):
            found = [" ".join(tokens) for tokens, _ in read_split(args.data, source, 0)]
        elif source == "imdb":
            found = [" ".join(re.sub(r"<br\s*/?>", " ", text).split()) for text, _ in imdb_reviews(args.data)]
        else:
            found = wikitext(args.data, None, lowercase=False)
        found = found[: args.limit_train] if args.limit_train else found
        lines += found
        name = f"{args.dataset if source == 'train' else source} training sentences" \
            if source in ("train", "ud_ewt", "conll2003") else source
        described.append(f"{name} ({sum(map(len, found)) / 1e6:.1f} M characters)")
    random.Random(args.seed).shuffle(lines)
    return lines, described


def pretrain(args: argparse.Namespace, train_lines: list[str], out_dir: str) -> dict:
    """Train both LMs at once, each in a child process pinned to its own core; their figures."""
    lines, described = raw_lines(args, train_lines)
    text = Path(out_dir) / "text.txt"
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cores = sorted(os.sched_getaffinity(0))
    children = []
    for i, direction in enumerate(DIRECTIONS):
        command = [sys.executable, __file__, direction, str(text), str(Path(out_dir) / direction),
                   str(args.char_lm_minutes * 60), str(args.char_lm_hidden), str(args.char_lm_batch), args.device,
                   str(args.seed)]
        core = {cores[i % len(cores)]}
        children.append(subprocess.Popen(command, preexec_fn=lambda core=core: os.sched_setaffinity(0, core)))
    if any(child.wait() != 0 for child in children):
        raise SystemExit("training a character LM failed (see above)")
    text.unlink()
    figures = {d: json.loads((Path(out_dir) / d / FIGURES).read_text(encoding="utf-8")) for d in DIRECTIONS}
    figures.update(sources=" + ".join(described), hidden=args.char_lm_hidden, batch=args.char_lm_batch,
                   device=args.device)
    (Path(out_dir) / FIGURES).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


class Pretrained:
    """Context for the driver: trains the two LMs when a row needs them, gives the workers' extra arguments."""

    def __init__(self, args: argparse.Namespace, systems: Sequence[str]) -> None:
        self.args, self.needed = args, any(s.startswith(PREFIX) for s in systems)
        self.trains = self.needed and not args.char_lm_from
        self.figures: dict | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Pretrained:
        return self

    def __exit__(self, *exc) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def worker_argv(self, train_lines: list[str]) -> list[str]:
        """``train_lines``: the task's training texts (raw)."""
        if not self.needed:
            return []
        out = self.args.char_lm_from or self.args.char_lm_out
        if self.args.char_lm_from:
            self.figures = json.loads((Path(out) / FIGURES).read_text(encoding="utf-8"))
        else:
            if out is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="rnnkit-bench-clm-")
                out = self._scratch.name
            Path(out).mkdir(parents=True, exist_ok=True)
            self.figures = pretrain(self.args, train_lines, out)
        return ["--char-lm-dir", out]

    def section(self) -> str:
        """The paragraph on the LMs, or '' when no row used them."""
        f = self.figures
        if f is None:
            return ""
        when = f"kept from an earlier run ({self.args.char_lm_from})" if self.args.char_lm_from else "trained first"
        each = "; ".join(f"{d}: {f[d]['seconds'] / 60:.1f} min, {f[d]['steps']} steps, validation "
                         f"{f[d]['loss']:.3f} nats/char" for d in DIRECTIONS)
        return (f"\n\nCharacter LMs for the rnnkit-clm rows: {when}, a forward and a backward one at once, one core "
                f"and one thread each on {f['device']} (not counted in the rows' budget), on "
                f"{f[DIRECTIONS[0]]['characters'] / 1e6:.1f} M characters of {f['sources']}, lines shuffled; "
                f"1-layer LSTM, E {EMBEDDING}, H {f['hidden']}, bptt {BPTT}, batch {f.get('batch', 32)} ({each}; "
                "validation: the last 0.5% of the text each reads). Frozen, their states at each word join the word "
                "vector (lm_features=...)" + ("." if self.args.char_lm_projection is None else
                                              f", mapped to {self.args.char_lm_projection} features first by a "
                                              "learned linear layer (lm_projection)."))


def _train_one(direction: str, text_file: str, out_dir: str, seconds: float, hidden: int, batch: int, device: str,
               seed: int) -> None:
    import torch

    from rnnkit.tasks.language_model import LanguageModel

    torch.set_num_threads(1)
    config = {"time_budget": seconds, "epochs": 1000, "eval_every": 2000, "device": device, "progress": "off",
              "seed": seed, "log_every": 10**6}
    lm = LanguageModel(level="char", hidden_size=hidden, num_layers=1, embedding_size=EMBEDDING, dropout=0.1,
                       bptt=BPTT, batch_size=batch, min_freq=5, valid_fraction=0.005,
                       reverse=direction == "backward", train_config=config, out_dir=out_dir)
    start = time.perf_counter()
    lm.fit(Path(text_file).read_text(encoding="utf-8"))
    figures = {"seconds": time.perf_counter() - start, "steps": lm.result_.steps, "loss": lm.result_.best_metric,
               "characters": lm.corpus_["train_tokens"]}
    (Path(out_dir) / FIGURES).write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    direction, text_file, out_dir, seconds, hidden, batch, device, seed = sys.argv[1:]
    _train_one(direction, text_file, out_dir, float(seconds), int(hidden), int(batch), device, int(seed))
