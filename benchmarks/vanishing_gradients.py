"""The vanishing-gradient problem, measured: gradient decay per cell, and the adding problem per length.

Three parts, one run (append to BENCHMARKS.md):

1. The gradient probe at initialisation: for Elman, GRU and LSTM, the distance T − t at which
   ‖∂L(T)/∂s(t)‖ falls below 1e-3 of its value at t = T (the Elman RNN is the baseline).
2. The adding problem (Hochreiter & Schmidhuber 1997): every cell trained with the same wall-clock
   budget at every length; test MSE against the trivial baseline (predict 1, MSE ≈ 0.167) computed on
   the same test examples.
3. The probe again, on the cells trained at the longest length: what training did to the decay.

    flock /tmp/rnnkit-bench.lock python benchmarks/vanishing_gradients.py --budget-seconds 90 \\
        --lengths 25,50,100 --threads 1
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from _record import publish
from _setup import start
from rnnkit.analysis.gradients import GradientProfile, probe_at_init, probe_checkpoint
from rnnkit.analysis.longrange import LongRangeResult, run_longrange


def _decay_table(profiles: list[GradientProfile]) -> str:
    elman = next((p for p in profiles if p.cell == "elman"), None)
    base = elman.vanishing_distance() if elman else None
    lines = ["| cell | source | T | H | vanishes at T − t (< 1e-3) | × Elman | decay per step | "
             "‖∂L/∂s(1)‖ | mean σ_max(∂s(t+1)/∂s(t)) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p in profiles:
        d = p.vanishing_distance()
        ratio = f"{(d or p.length) / base:.2f}" + ("+" if d is None else "") if base else "–"
        sigma = sum(p.jacobian_norms) / len(p.jacobian_norms)
        source = "init" if p.source == "init" else Path(p.source).name
        lines.append(f"| {p.cell} | {source} | {p.length} | {p.hidden_size} | "
                     f"{'> ' + str(p.length - 1) if d is None else d} | {ratio} | {p.decay_per_step():.4f} | "
                     f"{p.grad_norms[0]:.2e} | {sigma:.4f} |")
    return "\n".join(lines)


def _longrange_table(results: list[LongRangeResult]) -> str:
    lines = ["| T | cell | test MSE | baseline MSE (predict 1) | MSE / baseline | < 0.01 | steps | seconds |",
             "|---:|---|---:|---:|---:|:---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.length} | {r.cell} | {r.value:.2e} | {r.baseline:.4f} | {r.value / r.baseline:.2e} | "
                     f"{'yes' if r.value < 0.01 else 'no'} | {r.steps} | {r.seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-seconds", type=float, default=90.0,
                        help="training time per cell and length, in seconds (default: 90)")
    parser.add_argument("--lengths", default="25,50,100", help="adding-problem lengths (default: 25,50,100)")
    parser.add_argument("--cells", default="elman,gru,lstm", help="cells (default: elman,gru,lstm)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size of the trained models (default: 64)")
    parser.add_argument("--batch", type=int, default=64, help="training batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default: 0.01)")
    parser.add_argument("--probe-length", type=int, default=100, help="probe sequence length (default: 100)")
    parser.add_argument("--probe-hidden", type=int, default=128, help="probe hidden size at init (default: 128)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--out", default=None, help="directory for the runs (default: a temporary one)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--note", default="", help="a sentence added to the BENCHMARKS.md section")
    parser.add_argument("--dry-run", action="store_true", help="print the section instead of appending it")
    args = start(parser)
    logging.getLogger("rnnkit.engine").setLevel(logging.WARNING)
    cells = args.cells.split(",")
    lengths = [int(n) for n in args.lengths.split(",")]
    out = Path(args.out or tempfile.mkdtemp(prefix="rnnkit-vanishing-"))
    started = time.perf_counter()

    at_init = probe_at_init(cells, args.probe_length, args.probe_hidden, batch_size=32, seed=args.seed)
    probe_seconds = time.perf_counter() - started
    results = run_longrange("adding", lengths, cells, out / "adding", args.budget_seconds, args.hidden,
                            args.batch, args.lr, args.seed)
    longest = max(lengths)
    trained = [probe_checkpoint(out / "adding" / f"{cell}-T{longest}", args.probe_length, 32, args.seed)
               for cell in cells]
    total = time.perf_counter() - started

    body = (
        f"Gradient probe: B = 32 random inputs x ~ N(0, 1) (I = H), loss L(T) = ⟨g, h(T)⟩ with a random unit g "
        f"per example; ‖∂L(T)/∂s(t)‖ with s = h (Elman, GRU) or [h; c] (LSTM), float64. Probe at init: "
        f"{probe_seconds:.0f} s for {len(cells)} cells.\n\n"
        f"### Gradient decay at initialisation (default uniform init, T = {args.probe_length}, "
        f"H = {args.probe_hidden})\n\n{_decay_table(at_init)}\n\n"
        f"### Adding problem: test MSE after {args.budget_seconds:g} s of training per cell and length\n\n"
        f"One recurrent layer (H = {args.hidden}) + linear read-out, Adam lr {args.lr:g}, batch {args.batch}, "
        f"gradient clipping at norm 1, fresh examples every step, best of the validations (1000 examples, "
        f"every 200 steps); test on 1000 other examples. Baseline = MSE of always predicting 1 on those "
        f"test examples. Same wall-clock budget for every cell (steps differ with each cell's speed).\n\n"
        f"{_longrange_table(results)}\n\n"
        f"### Gradient decay of the cells trained on the adding problem at T = {longest} "
        f"(inputs: adding-problem examples)\n\n{_decay_table(trained)}\n\n"
        f"Total time {total / 60:.1f} min. {args.note}"
    )
    title = "Vanishing gradients: gradient decay and the adding problem"
    publish(title, body, args.dry_run)


if __name__ == "__main__":
    main()
