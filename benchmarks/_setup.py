"""How a benchmark script starts: where the shared data is (and IMDB's reviews, read by several scripts), the
machine flags, rnnkit's optimiser flag, torch threads and logging."""

from __future__ import annotations

import argparse
import json
import logging
import os
from itertools import islice
from pathlib import Path

import torch


def shared_data() -> Path:
    """The shared data folder: ``$RNNKIT_SHARED/data``, else ``shared/data`` next to the repository."""
    return Path(os.environ.get("RNNKIT_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"


def imdb_reviews(data: str | Path, split: str = "train", limit: int | None = None) -> list[tuple[str, str]]:
    """(text, label) of the first ``limit`` (all: None) reviews of ``imdb/{split}.jsonl`` under ``data``, the
    text raw (``<br />`` and all): each script tokenises it its own way."""
    with open(Path(data) / "imdb" / f"{split}.jsonl", encoding="utf-8") as f:
        reviews = [json.loads(line) for line in islice(f, limit)]
    return [(review["text"], review["label"]) for review in reviews]


def add_machine_arguments(parser: argparse.ArgumentParser, threads_help: str = "torch CPU threads") -> None:
    """``--threads`` (read by :func:`start`) and ``--device``."""
    parser.add_argument("--threads", type=int, default=2, help=f"{threads_help} (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--no-tf32", action="store_true",
                        help="on CUDA, full float32 in matrix products and cuDNN (torch lets cuDNN use TF32 "
                             "by default), to tell TF32's effect on a result from the device's")


def add_weight_decay_argument(parser: argparse.ArgumentParser, rows: str) -> None:
    """``--weight-decay``: ``rows`` (e.g. "rnnkit's") train with AdamW's decoupled decay instead of Adam."""
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help=f"{rows} decoupled weight decay: AdamW instead of Adam (the bare loop keeps Adam; "
                             "default 0)")


def optimizer_settings(weight_decay: float) -> dict:
    """The TrainConfig fields for ``--weight-decay``: AdamW with it where it is set, else the default Adam."""
    return {"optimizer": "adamw", "weight_decay": weight_decay} if weight_decay else {}


def start(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line, give torch ``--threads`` threads and send INFO log lines to stderr."""
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.no_tf32:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args
