"""What the tagging and classification benchmarks share: their run flags, the engine settings of the rnnkit
rows and the bare loop's training.

Both train every system for ``--budget`` seconds of wall-clock time (validation included), validate every
``--eval-every`` steps and score the best dev state on test. The bare loop is what one writes by hand:
Adam at ``--lr``, shuffled batches of ``--batch-size`` examples, the gradient norm clipped at 1.
"""

from __future__ import annotations

import argparse
import copy
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

import _pretrained_lm as pretrained_lm
from _record import add_note_argument
from _setup import add_machine_arguments, add_weight_decay_argument, optimizer_settings, shared_data
from _workers import add_worker_arguments, check_worker_arguments
from rnnkit.engine import TrainConfig

PLATEAU_PATIENCE = 1  # --schedule plateau: TrainConfig.lr_patience, so the rate halves after 2 validations without gain


def add_shared_arguments(parser: argparse.ArgumentParser, items: str) -> None:
    """The machine and worker flags, ``--seed``, ``--limit-train`` (the first N training ``items``), ``--data``,
    ``--embeddings``, ``--dry-run``, ``--note``, the rnnkit rows' schedule, weight averaging and weight decay,
    and the pretrained word LM's group."""
    add_machine_arguments(parser, "torch threads per system")
    add_worker_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--limit-train", type=int, default=None, help=f"use the first N training {items}")
    parser.add_argument("--data", default=str(shared_data()), help="the shared data folder")
    parser.add_argument("--embeddings", default=None, metavar="FILE",
                        help="word vectors (word2vec/GloVe text) to start the rnnkit rows' word embeddings from, "
                             "e.g. count_vectors.py's from ../shared/data text")
    parser.add_argument("--dry-run", action="store_true", help="print the section instead of appending it")
    add_note_argument(parser)
    parser.add_argument("--schedule", choices=("constant", "plateau", "cosine"), default="constant",
                        help="the rnnkit rows' learning rate: constant, plateau (halved after 2 validations in a "
                             "row without gain) or cosine (to 0 over --max-steps); the bare loop's is constant "
                             "(default constant)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="the rnnkit rows stop after this many steps if the budget lasts (needed by cosine)")
    parser.add_argument("--average-from", type=int, default=None,
                        help="the rnnkit rows validate, keep and end with the mean of their weights after this step "
                             "(averaged SGD; default: off)")
    add_weight_decay_argument(parser, "the rnnkit rows'")
    pretrained_lm.add_arguments(parser, default_text="train,imdb")


def add_word_dropout_argument(parser: argparse.ArgumentParser, default: float) -> None:
    """``--word-dropout``: the rnnkit rows' chance of reading a training word as ``<unk>`` (the bare loop has none)."""
    parser.add_argument("--word-dropout", type=float, default=default,
                        help=f"the rnnkit rows' chance of reading a training word as <unk> (default {default})")


def vectors_text(path: str | None) -> str:
    """Where the rnnkit rows' word vectors come from, for a section's text."""
    if path is None:
        return "No external embeddings or corpora."
    return (f"The rnnkit rows start their word embeddings from {Path(path).name}, count-based vectors that "
            "count_vectors.py fits without labels to text from ../shared/data (its command is in the note); words "
            "it lacks, and the bare loop's embeddings, start random.")


def check_shared_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a cosine schedule without its length, and an ensemble of no members."""
    check_worker_arguments(parser, args)
    if args.schedule == "cosine" and args.max_steps is None:
        parser.error("--schedule cosine needs --max-steps (the steps the budget is expected to hold)")


def rnnkit_config(args: argparse.Namespace) -> TrainConfig:
    """The engine's settings for an rnnkit row: the bare loop's optimiser (AdamW with ``--weight-decay``), budget
    and validation steps."""
    return TrainConfig(**optimizer_settings(args.weight_decay), lr=args.lr, epochs=1000, max_steps=args.max_steps,
                       time_budget=args.budget,
                       eval_every=args.eval_every, schedule=args.schedule, lr_patience=PLATEAU_PATIENCE,
                       device=args.device, progress="off", seed=args.seed, log_every=10**6,
                       average_from=args.average_from)


def optimiser_text(args: argparse.Namespace) -> str:
    """The optimiser as a section states it: 'Adam lr X', and the rnnkit rows' schedule where not constant."""
    tail = "" if args.max_steps is None else f"; the rnnkit rows stop at step {args.max_steps} if the budget lasts"
    if args.average_from is not None:
        tail += f"; the rnnkit rows' weights averaged from step {args.average_from} on (validated, kept and tested " \
                "averaged)"
    if args.weight_decay:
        tail += f"; the rnnkit rows' optimiser AdamW, weight decay {args.weight_decay}"
    if args.schedule == "constant":
        return f"Adam lr {args.lr}{tail}"
    if args.schedule == "cosine":
        return (f"Adam lr {args.lr} (rnnkit rows: cosine to 0 over {args.max_steps} steps; the bare loop: "
                f"constant){tail}")
    return (f"Adam lr {args.lr} (rnnkit rows: halved whenever {PLATEAU_PATIENCE + 1} validations in a row bring no "
            f"gain; the bare loop: constant){tail}")


def fit_timed(task: Any, train: Sequence, dev: Sequence) -> float:
    """``task.fit(train, dev)`` (a Tagger or a Classifier) in a scratch run directory; the seconds it took."""
    with tempfile.TemporaryDirectory() as out:
        task.out_dir = out
        began = time.perf_counter()
        task.fit(train, dev)
        return time.perf_counter() - began


def train_bare(model: nn.Module, train: Sequence, args: argparse.Namespace,
               loss: Callable[[nn.Module, list], torch.Tensor],
               dev_score: Callable[[nn.Module], float]) -> tuple[float, int, float]:
    """Train ``model`` on ``train`` for ``--budget`` seconds: ``loss(model, batch)`` is a batch's mean loss,
    ``dev_score(model)`` (higher is better) runs every ``--eval-every`` steps and at the end. The model then
    holds its best-scoring state. Returns (best dev score, steps, training seconds)."""
    rng = random.Random(args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    best, best_state, steps, start = -1.0, None, 0, time.perf_counter()
    while time.perf_counter() - start < args.budget:
        order = list(range(len(train)))
        rng.shuffle(order)
        for i in range(0, len(order), args.batch_size):
            batch_loss = loss(model, [train[k] for k in order[i : i + args.batch_size]])
            optimizer.zero_grad()
            batch_loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            steps += 1
            over = time.perf_counter() - start >= args.budget
            if steps % args.eval_every == 0 or over:
                score = dev_score(model)
                if score > best:
                    best, best_state = score, copy.deepcopy(model.state_dict())
            if over:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    return best, steps, seconds
