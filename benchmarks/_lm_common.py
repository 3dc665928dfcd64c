"""Shared parts of the language-model benchmarks: a bare nn.LSTM char-rnn loop, an rnnkit run, both compared.

The bare loop is what one would write by hand (pytorch/examples' word_language_model, Karpathy's
char-rnn): embedding → nn.LSTM → dropout → linear, Adam, gradient clipping, truncated BPTT over B
parallel streams, a validation pass at every epoch end. rnnkit runs the same model size through
``LanguageModel.fit`` (the engine). Both are timed with the same budget and measured the same way:
throughput as the median over windows of ``WINDOW`` steps, validation loss by the same function on the
same held-out streams at the end.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from _record import add_note_argument
from _setup import add_machine_arguments, add_weight_decay_argument, optimizer_settings
from rnnkit.data.streams import TokenStreams
from rnnkit.data.vocab import Vocab
from rnnkit.engine import load_checkpoint
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.lm_training import stream_loss, streams_for

WINDOW = 50  # steps per throughput window
RNNKIT, BARE = "rnnkit", "bare nn.LSTM loop"  # the two rows of a comparison
TRAINED = "rnnkit, its trained weights θ (not averaged)"  # the row beside a run with --average-from


def add_model_arguments(parser: argparse.ArgumentParser, hidden: int, layers: int, embedding: int,
                        bptt: int, batch_size: int, dropout: float, lr: float, bare: bool = True) -> None:
    """The flags of an LM benchmark; ``bare=False`` leaves out those of the bare loop (a benchmark without one)."""
    parser.add_argument("--budget", type=float, default=600, help="seconds of training per model (default 600)")
    parser.add_argument("--hidden", type=int, default=hidden, help=f"LSTM hidden size (default {hidden})")
    parser.add_argument("--layers", type=int, default=layers, help=f"LSTM layers (default {layers})")
    parser.add_argument("--embedding", type=int, default=embedding, help=f"embedding size (default {embedding})")
    parser.add_argument("--bptt", type=int, default=bptt, help=f"BPTT window (default {bptt})")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=f"streams (default {batch_size})")
    parser.add_argument("--dropout", type=float, default=dropout, help=f"dropout (default {dropout})")
    parser.add_argument("--lr", type=float, default=lr, help=f"Adam learning rate (default {lr})")
    parser.add_argument("--weight-dropout", type=float, default=0.0,
                        help="rnnkit's DropConnect on the recurrent matrices (nn.LSTM has none; default 0)")
    parser.add_argument("--embedding-dropout", type=float, default=0.0,
                        help="rnnkit's probability of dropping a character type from a window (default 0)")
    add_weight_decay_argument(parser, "rnnkit's")
    parser.add_argument("--locked-dropout", action="store_true",
                        help="rnnkit's dropout with one mask per window (variational; nn.LSTM has none)")
    if bare:
        parser.add_argument("--bare-dropout", type=float, default=None,
                            help="the bare loop's dropout, to keep a baseline's own recipe (default: --dropout)")
        parser.add_argument("--bare-lr", type=float, default=None,
                            help="the bare loop's Adam learning rate (default: --lr)")
    parser.add_argument("--clip", type=float, default=5.0, help="gradient-norm clipping (default 5)")
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                        help="rnnkit's learning-rate schedule; cosine decays from --lr to --min-lr over "
                             "--max-steps (default constant; a bare loop's rate is always constant)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="both models stop after this many steps if the budget has not run out first; "
                             "the length of rnnkit's cosine schedule (default: none)")
    parser.add_argument("--min-lr", type=float, default=0.0, help="floor of the cosine schedule (default 0)")
    parser.add_argument("--average-from", type=int, default=None,
                        help="rnnkit validates, keeps and ends with the mean of its weights after this step "
                             "(averaged SGD; default: off)")
    add_note_argument(parser)
    add_machine_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    if bare:
        parser.add_argument("--only", choices=("both", "rnnkit", "bare"), default="both",
                            help="run one side only (default both; ratios need both)")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")


class BareCharRNN(nn.Module):
    """Embedding → nn.LSTM → dropout → linear: the hand-written baseline."""

    def __init__(self, vocab: int, embedding: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.lstm = nn.LSTM(embedding, hidden, layers, dropout=dropout if layers > 1 else 0.0, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        h, state = self.lstm(self.drop(self.embedding(ids)), state)  # (B, T, H)
        return self.output(self.drop(h)), state  # (B, T, V)


def bare_recipe(args: argparse.Namespace) -> tuple[float, float]:
    """The bare loop's (dropout, learning rate): its own flags where given, else rnnkit's."""
    dropout = args.dropout if args.bare_dropout is None else args.bare_dropout
    return dropout, args.lr if args.bare_lr is None else args.bare_lr


def recipe_text(args: argparse.Namespace) -> str:
    """'dropout D, Adam LR', with the bare loop's own values after them where they differ from rnnkit's, and
    rnnkit's weight and embedding dropout and weight decay where there are."""
    dropout, lr = bare_recipe(args)
    text = f"dropout {args.dropout}, Adam {args.lr}"
    if (dropout, lr) != (args.dropout, args.lr):
        text += f" (the bare loop: dropout {dropout}, Adam {lr})"
    text += f", rnnkit's weight dropout {args.weight_dropout}" if args.weight_dropout else ""
    text += f", rnnkit's embedding dropout {args.embedding_dropout}" if args.embedding_dropout else ""
    text += f", rnnkit's optimiser AdamW, weight decay {args.weight_decay}" if args.weight_decay else ""
    text += ", rnnkit's dropout locked (one mask per window)" if args.locked_dropout else ""
    averaged = args.average_from is not None
    return text + (f", rnnkit's weights averaged from step {args.average_from}" if averaged else "")


def train_bare(train_ids: torch.Tensor, valid: TokenStreams, vocab_size: int, args) -> dict:
    """The bare loop for ``args.budget`` seconds (or ``args.max_steps`` steps); returns the model and its figures."""
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    dropout, lr = bare_recipe(args)
    model = BareCharRNN(vocab_size, args.embedding, args.hidden, args.layers, dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    B, T = args.batch_size, args.bptt
    n = (train_ids.numel() - 1) // B
    inputs = train_ids[: B * n].view(B, n).to(device)  # (B, n)
    targets = train_ids[1 : B * n + 1].view(B, n).to(device)  # (B, n)
    rates, steps, tokens, window_tokens, best = [], 0, 0, 0, float("inf")
    start = window_start = time.perf_counter()
    done = False
    while not done:
        state = None
        for i in range(0, n, T):
            if time.perf_counter() - start >= args.budget or (args.max_steps and steps >= args.max_steps):
                done = True
                break
            model.train()
            x, y = inputs[:, i : i + T], targets[:, i : i + T]
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            state = tuple(s.detach() for s in state)
            loss.item()  # a real loop reads its loss (and the engine does too)
            steps += 1
            tokens += y.numel()
            window_tokens += y.numel()
            if steps % WINDOW == 0:
                now = time.perf_counter()
                rates.append(window_tokens / (now - window_start))
                window_start, window_tokens = now, 0
        if not done:  # the epoch-end validation any loop does (the engine does it too)
            best = min(best, stream_loss(model, valid))
    best = min(best, stream_loss(model, valid))
    return {"model": model, "steps": steps, "tokens": tokens, "best": best,
            "tokens_per_s": statistics.median(rates or [0.0])}


def train_rnnkit(train_text: str, valid_text: str, level: str, args, out_dir: Path, **settings) -> dict:
    """rnnkit's LanguageModel with the same sizes, budget and optimiser settings."""
    if args.schedule == "cosine" and args.max_steps is None:
        raise SystemExit("--schedule cosine needs --max-steps (the schedule's length)")
    config = {**optimizer_settings(args.weight_decay), "lr": args.lr, "clip_norm": args.clip,
              "time_budget": args.budget, "epochs": 10**6,
              "schedule": args.schedule, "max_steps": args.max_steps, "min_lr": args.min_lr,
              "eval_every": None, "log_every": WINDOW, "progress": "off", "device": args.device,
              "seed": args.seed, "restore_best": False, "average_from": args.average_from}
    lm = LanguageModel(level=level, cell="lstm", hidden_size=args.hidden, num_layers=args.layers,
                       embedding_size=args.embedding, dropout=args.dropout,
                       weight_dropout=args.weight_dropout, embedding_dropout=args.embedding_dropout,
                       locked_dropout=args.locked_dropout, bptt=args.bptt,
                       batch_size=args.batch_size, train_config=config, out_dir=out_dir, **settings)
    lm.fit(train_text, valid_text)
    records = [r for r in lm.result_.history if r["kind"] == "train"]
    curve = [(r["step"], r["loss"]) for r in lm.result_.history if r["kind"] == "eval"]
    return {"lm": lm, "steps": lm.result_.steps, "best": lm.result_.best_metric, "curve": curve,
            "tokens_per_s": statistics.median([r["items_per_s"] for r in records] or [0.0])}


def validation_loss(model: nn.Module, valid: TokenStreams, device: str) -> float:
    model.to(device)
    return stream_loss(model, valid)


def compare(train_text: str, valid_text: str, level: str, vocab: Vocab, train_ids: torch.Tensor,
            valid: TokenStreams, args, out_dir: Path, **settings) -> dict[str, dict]:
    """Train rnnkit's LanguageModel and the bare loop (or the one ``args.only`` names) on the same text.

    ``vocab`` is built as rnnkit builds its own; ``train_ids`` and ``valid`` are the training text and the
    validation streams in its ids, so that both models are scored on the same streams.
    Returns ``{name: {"steps", "tokens_per_s", "loss" (validation loss at the end), "best"}}``, rnnkit's
    also with ``"curve"``, its validations as (step, loss) pairs; with
    ``--average-from``, also the rnnkit run's trained (not averaged) weights at the end, ``TRAINED``.
    """
    figures = {}
    if args.only in ("both", "rnnkit"):
        run = train_rnnkit(train_text, valid_text, level, args, out_dir, **settings)
        assert run["lm"].vocab_ == vocab  # the same ids, so the same validation streams
        figures[RNNKIT] = {"steps": run["steps"], "tokens_per_s": run["tokens_per_s"], "best": run["best"],
                           "curve": run["curve"], "loss": validation_loss(run["lm"].model_, valid, args.device)}
        if args.average_from is not None:  # the same run without averaging: last/ keeps the trained θ
            trained = copy.deepcopy(run["lm"].model_)
            trained.load_state_dict(load_checkpoint(out_dir / "last", "cpu")[1])
            figures[TRAINED] = {**figures[RNNKIT], "best": float("nan"),
                                "loss": validation_loss(trained, valid, args.device)}
    if args.only in ("both", "bare"):
        bare = train_bare(train_ids, valid, len(vocab), args)
        figures[BARE] = {"steps": bare["steps"], "tokens_per_s": bare["tokens_per_s"], "best": bare["best"],
                         "loss": validation_loss(bare["model"], valid, args.device)}
    return figures


def throughput_ratio(figures: dict[str, dict]) -> float:
    """rnnkit's tokens/s over the bare loop's, from the figures of :func:`compare` with both sides."""
    return figures[RNNKIT]["tokens_per_s"] / max(figures[BARE]["tokens_per_s"], 1e-9)


def repeated_ngram_rate(text: str, n: int = 4) -> float:
    """Share of the word n-grams of ``text`` that occur more than once in it (degenerate loops score high)."""
    words = text.split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    counts = Counter(grams)
    return sum(1 for g in grams if counts[g] > 1) / len(grams)


__all__ = ["BARE", "RNNKIT", "BareCharRNN", "compare", "repeated_ngram_rate", "streams_for", "throughput_ratio",
           "train_bare", "train_rnnkit", "validation_loss"]
