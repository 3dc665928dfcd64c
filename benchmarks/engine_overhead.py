"""What the training engine costs: tokens/s of rnnkit's Trainer against a bare PyTorch loop, same model.

Both train the same char-level LSTM language model (embedding 64, 1×256 LSTM, V = 65, batch 32 streams ×
bptt 100, Adam, clipping at 1.0, hidden state carried and detached between batches) on a random token
stream, for the same time budget each, alternating, in the same process. The engine does everything it
always does (per-step NaN check, logging every 50 steps, checkpoint and closing validation at the end);
its figure is measured over the whole ``fit`` call.

    flock /tmp/rnnkit-bench.lock python benchmarks/engine_overhead.py --seconds 60 --rounds 2
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import publish
from _setup import add_machine_arguments
from rnnkit.engine import StepResult, TrainConfig, Trainer

V, E, H, B, T = 65, 64, 256, 32, 100


class CharLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, ids: torch.Tensor, state=None):
        y, state = self.lstm(self.embed(ids), state)  # (B, T, H)
        return self.out(y), state  # (B, T, V)


class RandomStream:
    """Batches (inputs, targets) (B, T) cut from one random token stream."""

    def __init__(self, n_batches: int, device: torch.device) -> None:
        g = torch.Generator().manual_seed(0)
        stream = torch.randint(0, V, (B, n_batches * T + 1), generator=g)
        self.batches = [
            (stream[:, i * T : (i + 1) * T].to(device), stream[:, i * T + 1 : (i + 1) * T + 1].to(device))
            for i in range(n_batches)
        ]

    def train_batches(self, epoch: int):
        return self.batches

    def eval_batches(self):
        return self.batches[:2]

    def loss(self, model, batch, state, step):
        inputs, targets = batch
        logits, state = model(inputs, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        return StepResult(loss, targets.numel(), state)


def bare_loop(seconds: float, data: RandomStream, device: torch.device) -> tuple[int, float, float]:
    """The loop one would write by hand; returns (tokens, wall seconds, CPU seconds of this process)."""
    torch.manual_seed(0)
    model = CharLSTM().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    state, tokens, step, losses = None, 0, 0, []
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        inputs, targets = data.batches[step % len(data.batches)]
        optimizer.zero_grad(set_to_none=True)
        logits, state = model(inputs, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        state = tuple(s.detach() for s in state)
        losses.append(loss.detach())
        if step % 50 == 0:
            logging.debug("loss %.3f", torch.stack(losses).mean().item())
            losses = []
        tokens += targets.numel()
        step += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens, time.perf_counter() - start, time.process_time() - cpu


def engine_loop(seconds: float, data: RandomStream, device: torch.device, out: Path) -> tuple[int, float, float]:
    torch.manual_seed(0)
    model = CharLSTM()
    config = TrainConfig(
        lr=2e-3,
        epochs=10_000,
        time_budget=seconds,
        log_every=50,
        progress="off",
        device=device.type,
        restore_best=False,
    )
    meta = {"task": "bench", "model_class": "CharLSTM", "model_config": {}}
    start, cpu = time.perf_counter(), time.process_time()
    result = Trainer(model, data, config, out, meta).fit()
    return result.steps * B * T, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of each timed run (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/engine pairs, alternating (default 2)")
    add_machine_arguments(parser)
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = RandomStream(50, device)
    rows, ratios, cpu_ratios = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        bare_loop(2, data, device)  # warm-up: allocator, kernels, lazy imports
        engine_loop(2, data, device, Path(tmp) / "warm")
        for round_ in range(args.rounds):
            load = os.getloadavg()[0]
            bare_tokens, bare_s, bare_cpu = bare_loop(args.seconds, data, device)
            ours_tokens, ours_s, ours_cpu = engine_loop(args.seconds, data, device, Path(tmp) / f"run{round_}")
            bare_rate, ours_rate = bare_tokens / bare_s, ours_tokens / ours_s
            # per CPU-second of this process: robust to other processes competing for the cores
            bare_cpu_rate, ours_cpu_rate = bare_tokens / bare_cpu, ours_tokens / ours_cpu
            ratios.append(ours_rate / bare_rate)
            cpu_ratios.append(ours_cpu_rate / bare_cpu_rate)
            rows.append(
                f"| {round_ + 1} | {load:.1f} | {bare_rate:,.0f} | {ours_rate:,.0f} | {ours_rate / bare_rate:.3f} "
                f"| {bare_cpu_rate:,.0f} | {ours_cpu_rate:,.0f} | {ours_cpu_rate / bare_cpu_rate:.3f} |"
            )
    body = (
        f"Char LSTM LM (E={E}, H={H}, V={V}, B={B}, T={T}, Adam, clip 1.0, carried state), {args.seconds:.0f} s "
        f"per run on {args.device}, {args.threads} threads; engine timed over its whole fit() (setup, NaN "
        "checks, logs, final checkpoint and validation included).\n\n"
        "Wall-clock rates suffer when other processes take the cores (the load average before each round is "
        "shown); rates per CPU-second of this process do much less.\n\n"
        "| round | load | bare tokens/s | rnnkit tokens/s | ratio | bare tokens/CPU-s | rnnkit tokens/CPU-s | ratio |\n"
        "|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nMean ratio engine / bare loop: **{sum(ratios) / len(ratios):.3f}** (wall clock), "
        f"**{sum(cpu_ratios) / len(cpu_ratios):.3f}** (CPU time)."
    )
    publish("Training engine overhead vs a bare loop", body, args.no_record)


if __name__ == "__main__":
    main()
