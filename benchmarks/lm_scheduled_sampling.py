"""Scheduled sampling vs teacher forcing: the same char LM on tiny-shakespeare, the same time budget.

Two rnnkit runs differ only in ``scheduled_sampling`` (Bengio et al. 2015). Figures: validation loss
(nats/char, last 10 %), training steps done in the budget (scheduled sampling unrolls step by step, so it
does fewer), and the quality of long samples: the repeated word-4-gram rate (share of 4-grams that occur
more than once in a sample; degenerate loops score high) and the share of generated words that occur in
the training text.

    flock /tmp/rnnkit-bench.lock python benchmarks/lm_scheduled_sampling.py --budget 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lm_common import add_model_arguments, repeated_ngram_rate, train_rnnkit
from _record import publish
from _setup import shared_data, start
from rnnkit.data.text import read_text_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(shared_data() / "tinyshakespeare" / "input.txt"), help="input.txt")
    parser.add_argument("--ss-schedule", default="linear",
                        help="scheduled sampling: linear, exponential or inverse_sigmoid (default linear)")
    parser.add_argument("--ss-steps", type=int, default=500, help="steps of the decay (default 500)")
    parser.add_argument("--ss-min-truth", type=float, default=0.75, help="floor of the truth probability")
    parser.add_argument("--samples", type=int, default=4, help="samples per model (default 4)")
    parser.add_argument("--sample-length", type=int, default=2000, help="characters per sample (default 2000)")
    parser.add_argument("--out", default="runs/bench-lm-ss", help="run directory prefix")
    add_model_arguments(parser, hidden=256, layers=2, embedding=64, bptt=100, batch_size=32, dropout=0.2, lr=2e-3,
                        bare=False)
    args = start(parser)

    text = read_text_file(args.data)
    cut = int(len(text) * 0.9)
    known = set(text[:cut].split())
    rows = []
    for name, schedule in (("teacher forcing", None), (f"scheduled sampling ({args.ss_schedule})", args.ss_schedule)):
        run = train_rnnkit(text[:cut], text[cut:], "char", args, Path(f"{args.out}-{schedule or 'tf'}"),
                           scheduled_sampling=schedule, ss_steps=args.ss_steps, ss_min_truth=args.ss_min_truth)
        lm = run["lm"]
        loss = lm.evaluate(text[cut:])["loss"]
        samples = lm.generate("\n", args.sample_length, seed=args.seed, num_samples=args.samples)
        repeats = statistics.mean(repeated_ngram_rate(s) for s in samples)
        words = [w for s in samples for w in s.split()]
        valid_words = sum(w in known for w in words) / max(1, len(words))
        rows.append(f"| {name} | {run['steps']} | {loss:.4f} | {repeats:.3f} | {valid_words:.3f} |")
    body = "\n".join([
        f"Budget {args.budget:.0f} s per run on {args.device} ({args.threads} threads); {args.layers}×{args.hidden} "
        f"LSTM, batch {args.batch_size}, bptt {args.bptt}, dropout {args.dropout}; scheduled sampling: "
        f"{args.ss_schedule}, {args.ss_steps} steps, truth probability floor {args.ss_min_truth}; "
        f"{args.samples} samples × {args.sample_length} chars at temperature 1.0.",
        "",
        "| training | steps | validation loss (nats/char) | repeated word-4-gram rate | words seen in training |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ])
    publish("Scheduled sampling vs teacher forcing (char LM, tiny-shakespeare)", body, args.no_record, args.note)


if __name__ == "__main__":
    main()
