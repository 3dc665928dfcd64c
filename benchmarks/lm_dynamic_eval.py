"""Dynamic evaluation on tiny-shakespeare: one trained char LM scored statically and dynamically, same run.

The checkpoint is an rnnkit char LM trained on the first 90 % of ``tinyshakespeare/input.txt``, e.g. by
``benchmarks/lm_tinyshakespeare.py --out DIR``; the last 10 % is the validation text. Its first
``--tune-fraction`` picks the rate η and the decay λ (η over ``--lrs`` with λ = 0, then λ over ``--decays``
at the best η); the rest of the validation text, which the choice never saw, is then scored from the trained
weights with them: that is the held-out figure. The whole validation text is scored too, to set beside
lm_tinyshakespeare's figure. The baseline, in the same run, is static evaluation of the same checkpoint:
over 64 parallel streams (what lm_tinyshakespeare reports) and over one stream (what dynamic evaluation
reads, so the difference is the adaptation alone).

    python benchmarks/lm_tinyshakespeare.py --out runs/bench-lm-shakespeare ...   # train the checkpoint
    flock /tmp/rnnkit-bench.lock python benchmarks/lm_dynamic_eval.py --checkpoint runs/bench-lm-shakespeare
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import add_note_argument, publish
from _setup import add_machine_arguments, shared_data, start
from rnnkit.data.streams import TokenStreams
from rnnkit.data.text import read_text_file
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.lm_training import dynamic_stream_losses, stream_loss, streams_for


def dynamic_loss(lm: LanguageModel, ids: torch.Tensor, lr: float, decay: float) -> float:
    """The mean loss of ``ids`` under dynamic evaluation, nats per token."""
    windows = dynamic_stream_losses(lm.model_, ids, lm.bptt, lr, decay)
    return sum(loss * n for loss, n in windows) / sum(n for _, n in windows)


def scores(lm: LanguageModel, ids: torch.Tensor, lr: float, decay: float) -> dict[str, float]:
    """Static (64 streams, one stream) and dynamic loss of ``ids`` in nats per token, and the dynamic pass's
    seconds."""
    started = time.perf_counter()
    dynamic = dynamic_loss(lm, ids, lr, decay)
    seconds = time.perf_counter() - started
    return {"static_64": stream_loss(lm.model_, streams_for(ids, lm.bptt)),
            "static_1": stream_loss(lm.model_, TokenStreams(ids, 1, lm.bptt)), "dynamic": dynamic,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(shared_data() / "tinyshakespeare" / "input.txt"),
                        help="tiny-shakespeare input.txt")
    parser.add_argument("--checkpoint", default="runs/bench-lm-shakespeare",
                        help="run directory or checkpoint of a char LM trained on the first 90 %% of --data")
    parser.add_argument("--tune-fraction", type=float, default=0.2,
                        help="the first part of the validation text that picks η and λ (default 0.2)")
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-2, 3e-2, 1e-1, 3e-1, 1.0],
                        help="η tried on the tuning part (default 1e-2 3e-2 1e-1 3e-1 1)")
    parser.add_argument("--decays", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2],
                        help="λ tried at the best η, beside 0 (default 1e-4 1e-3 1e-2)")
    add_note_argument(parser)
    add_machine_arguments(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = start(parser)

    text = read_text_file(args.data)
    valid_text = text[int(len(text) * 0.9) :]
    lm = LanguageModel.load(args.checkpoint, device=args.device)
    if lm.level != "char" or lm.reverse:
        raise SystemExit(f"{args.checkpoint}: a forward character LM is needed")
    valid = torch.tensor(lm.vocab_.encode(list(valid_text)))  # (M,)
    cut = int(valid.numel() * args.tune_fraction)
    tune, held_out = valid[: cut + 1], valid[cut:]  # the held-out part's first token is context only

    def tuned(lr: float, decay: float) -> float:
        loss = dynamic_loss(lm, tune, lr, decay)
        print(f"tuning part: η {lr:g}, λ {decay:g}: {loss:.4f}", flush=True)
        return loss

    grid = {(lr, 0.0): tuned(lr, 0.0) for lr in args.lrs}
    best_lr = min(grid, key=grid.get)[0]
    grid.update({(best_lr, decay): tuned(best_lr, decay) for decay in args.decays})
    lr, decay = min(grid, key=grid.get)
    results = {"held-out part of the validation text": scores(lm, held_out, lr, decay),
               "whole validation text": scores(lm, valid, lr, decay)}

    settings = lm.get_params()
    size = f"{settings['num_layers']}×{settings['hidden_size']} {settings['cell'].upper()}"
    rows = [f"| {name} | {r['static_64']:.4f} | {r['static_1']:.4f} | **{r['dynamic']:.4f}** | "
            f"{r['dynamic'] - r['static_1']:+.4f} | {r['seconds']:.0f} |" for name, r in results.items()]
    tried = " ".join(f"{loss:.4f} (η {g_lr:g}, λ {g_decay:g})" for (g_lr, g_decay), loss in grid.items())
    body = [
        f"Checkpoint {args.checkpoint}: a {size} char LM, bptt {lm.bptt}, trained on the first 90 % of "
        f"tiny-shakespeare; validation = the last 10 % ({valid.numel() - 1:,} chars predicted). Dynamic "
        f"evaluation (`rnnkit score --dynamic-lr`): one stream, windows of {lm.bptt} characters, each scored and "
        f"then learnt from by SGD. η and λ chosen on the first {args.tune_fraction * 100:g} % of the validation text "
        f"({tune.numel() - 1:,} chars): **η {lr:g}, λ {decay:g}**; the held-out part is the remaining "
        f"{held_out.numel() - 1:,} chars, scored from the trained weights. Loss in nats/char; on {args.device} "
        f"({args.threads} threads).",
        "",
        "| text | static, 64 streams | static, one stream | dynamic | dynamic − static (one stream) | "
        "seconds (dynamic) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"- tuning part, loss by setting: {tried}",
    ]
    publish("Char LM on tiny-shakespeare: dynamic vs static evaluation", "\n".join(body), args.no_record,
            args.note)


if __name__ == "__main__":
    main()
