"""Train-step speed of rnnkit's recurrent layer, every cell and backend, against torch.nn.GRU/LSTM/RNN.

One train step = forward over x (B, T, I) + backward of a fixed linear function of all outputs (the
gradients of x and every weight). Every variant and its torch baseline run in the SAME process,
interleaved round by round, so that load from other processes hits them alike; the figure per variant
is the median over rounds, and its ratio to torch's (taken round by round, median over rounds) is
quoted. The matmul peak is measured too (best
of several large float32 products), and each variant's fraction of it counts the matmul FLOPs of
forward + backward: 3 · 2·B·T·G·H·(I + H) for G gates (forward; ∂x and ∂W; ∂h and ∂U).

    flock /tmp/rnnkit-bench.lock python benchmarks/recurrent_speed.py --budget 600
    flock /tmp/rnnkit-bench.lock python benchmarks/recurrent_speed.py --threads 1 --clock process
    python benchmarks/recurrent_speed.py --device cuda --budget 120

Writes a section to BENCHMARKS.md (unless --no-record).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import publish
from _setup import start
from rnnkit.layers import Recurrent

log = logging.getLogger("recurrent_speed")

SHAPES = [(32, 100, 128, 256), (32, 100, 128, 512), (1, 100, 128, 256)]  # (B, T, I, H)

# name -> (builder (I, H) -> module, gates G, torch baseline name)
VARIANTS: dict[str, tuple[Callable[[int, int], nn.Module], int, str]] = {
    "torch nn.GRU": (lambda i, h: nn.GRU(i, h, batch_first=True), 3, "torch nn.GRU"),
    "gru lecture / bptt": (lambda i, h: Recurrent("gru", i, h, backend="bptt"), 3, "torch nn.GRU"),
    "gru lecture / autograd": (lambda i, h: Recurrent("gru", i, h, backend="autograd"), 3, "torch nn.GRU"),
    "gru cudnn / torch": (lambda i, h: Recurrent("gru", i, h, variant="cudnn", backend="torch"), 3,
                          "torch nn.GRU"),
    "gru cudnn / bptt": (lambda i, h: Recurrent("gru", i, h, variant="cudnn", backend="bptt"), 3,
                         "torch nn.GRU"),
    "torch nn.LSTM": (lambda i, h: nn.LSTM(i, h, batch_first=True), 4, "torch nn.LSTM"),
    "lstm / torch": (lambda i, h: Recurrent("lstm", i, h, backend="torch"), 4, "torch nn.LSTM"),
    "lstm / bptt": (lambda i, h: Recurrent("lstm", i, h, backend="bptt"), 4, "torch nn.LSTM"),
    "torch nn.RNN": (lambda i, h: nn.RNN(i, h, batch_first=True), 1, "torch nn.RNN"),
    "elman tanh / torch": (lambda i, h: Recurrent("elman", i, h, backend="torch"), 1, "torch nn.RNN"),
    "elman tanh / bptt": (lambda i, h: Recurrent("elman", i, h, backend="bptt"), 1, "torch nn.RNN"),
    "elman sigmoid / bptt": (lambda i, h: Recurrent("elman", i, h, nonlinearity="sigmoid", backend="bptt"),
                             1, "torch nn.RNN"),
}


def matmul_peak(device: torch.device, clock: Callable[[], float], seconds: float = 3.0) -> float:
    """Best GFLOP/s of a large float32 matrix product on this device with the current threads."""
    n = 2048
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        _sync(device)
        start = clock()
        a @ b
        _sync(device)
        best = max(best, 2 * n**3 / (clock() - start) / 1e9)
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_step(module: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> None:
    """Forward, then backward of Σ weight ⊙ out (gradients of x and all parameters)."""
    for p in module.parameters():
        p.grad = None
    x.grad = None
    out, _ = module(x)
    (out * weight).sum().backward()


def measure(shape: tuple[int, int, int, int], names: list[str], device: torch.device, rounds: int,
            deadline: float, clock: Callable[[], float]) -> dict[str, list[float]]:
    """Seconds per train step of each variant, interleaved over rounds, until rounds or deadline."""
    B, T, I, H = shape
    torch.manual_seed(0)
    modules = {name: VARIANTS[name][0](I, H).to(device) for name in names}
    x = torch.randn(B, T, I, device=device, requires_grad=True)
    weight = torch.randn(B, T, H, device=device)
    for module in modules.values():  # warm-up: allocator, kernels, oneDNN primitives
        train_step(module, x, weight)
        train_step(module, x, weight)
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, module in modules.items():
            _sync(device)
            start = clock()
            train_step(module, x, weight)
            _sync(device)
            times[name].append(clock() - start)
        if time.perf_counter() > deadline:
            break
    return times


def report(shape, times, peak) -> str:
    """A markdown table for one shape: ms/step (median and min), tokens/s, ratio vs torch, % of peak."""
    B, T, I, H = shape
    lines = [f"### B{B} T{T} I{I} H{H} ({len(next(iter(times.values())))} interleaved rounds)", "",
             "| variant | ms/step (median) | ms/step (min) | tokens/s | time vs torch (median of per-round ratios) "
             "| % of matmul peak |",
             "|---|---|---|---|---|---|"]
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    for name, ts in times.items():
        _, G, baseline = VARIANTS[name]
        flops = 3 * 2 * B * T * G * H * (I + H)
        n = min(len(ts), len(times[baseline]))
        # The ratio is taken round by round (same moment, same load), then the median over rounds.
        ratio = statistics.median(t / tb for t, tb in zip(ts[:n], times[baseline][:n], strict=True))
        share = 100 * flops / medians[name] / 1e9 / peak
        lines.append(f"| {name} | {medians[name] * 1e3:.1f} | {min(ts) * 1e3:.1f} | "
                     f"{B * T / medians[name]:,.0f} | {ratio:.2f}× | {share:.0f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="wall-clock seconds for all shapes together (default 600)")
    parser.add_argument("--rounds", type=int, default=20, help="maximum interleaved rounds per shape (default 20)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS),
                        metavar="NAME", help="which variants (default all; torch baselines are always added)")
    parser.add_argument("--shapes", nargs="*", default=["x".join(map(str, s)) for s in SHAPES],
                        help="B x T x I x H, e.g. 32x100x128x256 (default: the three of the issue)")
    parser.add_argument("--clock", default="wall", choices=["wall", "process"],
                        help="wall: elapsed time (default); process: this process's CPU time, which "
                             "leaves out time taken by other processes on a shared machine (needs --threads 1)")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = start(parser, argv)
    if args.clock == "process" and (args.threads != 1 or args.device != "cpu"):
        parser.error("--clock process measures CPU time and needs --device cpu --threads 1")
    clock = time.process_time if args.clock == "process" else time.perf_counter
    device = torch.device(args.device)
    names = list(dict.fromkeys([VARIANTS[n][2] for n in args.variants] + args.variants))
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes]
    began = time.perf_counter()
    load_before = os.getloadavg()[0]  # other processes on a shared machine slow the wall clock down
    peak = matmul_peak(device, clock)
    log.info("float32 matmul peak: %.1f GFLOP/s", peak)
    sections = [f"Clock: {args.clock} time. float32 matmul peak (2048² product, best of 3 s): **{peak:.1f} GFLOP/s**. "
                f"Budget {args.budget:.0f} s for all shapes, at most {args.rounds} rounds each; "
                "a shape that runs out of budget reports the rounds it finished."]
    for k, shape in enumerate(shapes):
        # Each shape gets an equal share of what is left of the budget.
        deadline = time.perf_counter() + (args.budget - (time.perf_counter() - began)) / (len(shapes) - k)
        times = measure(shape, names, device, args.rounds, deadline, clock)
        sections.append(report(shape, times, peak))
        log.info("%s", sections[-1])
    sections.insert(0, f"1-minute load average of the machine: {load_before:.1f} at the start, "
                       f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores).")
    body = "\n\n".join(sections)
    title = f"Recurrent layer train-step speed ({args.device}, {args.threads} threads, {args.clock} clock)"
    publish(title, body, args.no_record)


if __name__ == "__main__":
    main()
