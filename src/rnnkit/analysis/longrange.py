"""Long-range experiments: train each cell on the adding problem or the copy task, length by length.

:class:`LongRangeTask` is the :class:`rnnkit.engine.TrainingTask` of one (problem, length): fresh
training examples for every batch (a pure function of (seed, epoch, batch index)), a fixed validation
set that picks ``best/``, and a separate test set on which :func:`run_longrange` reports the problem's
metric next to the trivial baseline computed on the same test examples. Every (cell, length) gets the
same wall-clock budget, so the comparison is "what can each cell learn in N seconds".
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.analysis.problems import AddingProblem, CopyProblem, make_problem
from rnnkit.engine import StepResult, TrainConfig, Trainer, evaluating
from rnnkit.models.longrange import LongRangeModel

log = logging.getLogger("rnnkit.analysis")

Problem = AddingProblem | CopyProblem
Batch = tuple[torch.Tensor, torch.Tensor]


def _generator(*key: Any) -> torch.Generator:
    """A generator seeded by a hash of ``key``, so that (seed, "train", epoch, i) never collide."""
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)


class GeneratedBatches(Sequence):
    """``count`` batches of fresh examples, batch i drawn from its own seed (random access, no storage)."""

    def __init__(self, problem: Problem, length: int, batch_size: int, count: int, key: tuple) -> None:
        self.problem, self.length, self.batch_size, self.count, self.key = problem, length, batch_size, count, key

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Batch:  # type: ignore[override]
        if not 0 <= index < self.count:
            raise IndexError(index)
        return self.problem.generate(self.batch_size, self.length, _generator(*self.key, index))


class LongRangeTask:
    """Training task of one long-range problem at one length.

    Args:
        problem: an :class:`AddingProblem` or :class:`CopyProblem`.
        length: T (for the copy task: the delay).
        batch_size: training examples per step (default 64).
        steps_per_epoch: steps between two validations (default 200).
        eval_size: validation and test examples each (default 1000).
        seed: all data are drawn from generators seeded by it.

    Example:
        >>> task = LongRangeTask(AddingProblem(), length=10, batch_size=4, steps_per_epoch=3, eval_size=8)
        >>> x, y = task.train_batches(0)[2]
        >>> tuple(x.shape), len(task.train_batches(1)), bool(torch.equal(x, task.train_batches(0)[2][0]))
        ((4, 10, 2), 3, True)
    """

    def __init__(
        self,
        problem: Problem,
        length: int,
        batch_size: int = 64,
        steps_per_epoch: int = 200,
        eval_size: int = 1000,
        seed: int = 0,
    ) -> None:
        self.problem = problem
        self.length = length
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.seed = seed
        self.valid = problem.generate(eval_size, length, _generator(seed, "valid"))
        self.test = problem.generate(eval_size, length, _generator(seed, "test"))

    def train_batches(self, epoch: int) -> GeneratedBatches:
        return GeneratedBatches(self.problem, self.length, self.batch_size, self.steps_per_epoch,
                                (self.seed, "train", epoch))

    def eval_batches(self) -> list[Batch]:
        x, y = self.valid
        size = 250  # examples per evaluation batch: memory stays small at T = 1000
        return [(x[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]

    def loss(self, model: nn.Module, batch: Batch, state: Any, step: int) -> StepResult:
        x, y = batch
        return StepResult(self.problem.loss(model(x), y), len(y))

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return self.score(model, self.valid)

    def score(self, model: nn.Module, data: Batch | None = None) -> dict[str, float]:
        """The problem's metrics on ``data`` (default: the test set), in eval mode without gradients."""
        x, y = self.test if data is None else data
        device = next(model.parameters()).device
        with evaluating(model):
            logits = torch.cat([model(x[i : i + 250].to(device)).cpu() for i in range(0, len(y), 250)])
        return self.problem.metrics(logits, y)


@dataclass
class LongRangeResult:
    """One trained (cell, length): the test metric, the baseline on the same test set, the effort spent."""

    problem: str
    cell: str
    length: int
    metric: str
    value: float
    baseline: float
    steps: int
    seconds: float
    run_dir: str


def train_one(
    problem: Problem,
    cell: str,
    length: int,
    out_dir: str | Path,
    budget_seconds: float = 90.0,
    hidden_size: int = 64,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
    device: str = "cpu",
    max_steps: int | None = None,
) -> LongRangeResult:
    """Train a :class:`LongRangeModel` with ``cell`` for ``budget_seconds`` (and at most ``max_steps``)
    through the engine (Adam, gradient clipping at norm 1), keep the best validation checkpoint, and
    score it on the test set."""
    task = LongRangeTask(problem, length, batch_size=batch_size, seed=seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LongRangeModel(cell, problem.input_size, hidden_size, problem.output_size)
    config = TrainConfig(
        optimizer="adam", lr=lr, epochs=10**9, max_steps=max_steps, time_budget=budget_seconds, clip_norm=1.0,
        seed=seed,
        device=device, monitor="loss", monitor_mode="min", log_every=100, progress="off",
    )
    meta = {"task": f"longrange-{problem.name}", "model_class": type(model).__name__,
            "model_config": model.get_config(), "settings": {"problem": problem.name, "length": length}}
    started = time.perf_counter()
    result = Trainer(model, task, config, out_dir, model_meta=meta).fit()
    seconds = time.perf_counter() - started
    value = task.score(model)[problem.metric]
    baseline = problem.baseline(task.test[1])
    log.info("%s T=%d %s: test %s %.4f (baseline %.4f) after %d steps, %.0f s",
             problem.name, length, cell, problem.metric, value, baseline, result.steps, seconds)
    return LongRangeResult(problem.name, cell, length, problem.metric, value, baseline, result.steps, seconds,
                           str(out_dir))


def run_longrange(
    problem: str = "adding",
    lengths: Sequence[int] = (25, 50, 100, 200),
    cells: Sequence[str] = ("elman", "gru", "lstm"),
    out_dir: str | Path = "longrange",
    budget_seconds: float = 90.0,
    hidden_size: int = 64,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
    device: str = "cpu",
) -> list[LongRangeResult]:
    """Train every cell at every length with the same budget; writes ``out_dir/<cell>-T<length>/`` run
    directories and ``out_dir/results.json``, and returns the results in (length, cell) order."""
    out = Path(out_dir)
    task = make_problem(problem)
    results = [
        train_one(task, cell, length, out / f"{cell}-T{length}", budget_seconds, hidden_size, batch_size, lr,
                  seed, device)
        for length in lengths
        for cell in cells
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n", encoding="utf-8")
    return results


def format_results(results: Sequence[LongRangeResult]) -> str:
    """A plain-text table: one row per length, one column per cell, the baseline last."""
    if not results:
        return "(no results)"
    cells = list(dict.fromkeys(r.cell for r in results))
    lengths = list(dict.fromkeys(r.length for r in results))
    by_key = {(r.length, r.cell): r for r in results}
    metric = results[0].metric
    header = f"{'T':>6} " + " ".join(f"{c + ' ' + metric:>16}" for c in cells) + f" {'baseline':>10} {'steps':>18}"
    lines = [header, "-" * len(header)]
    for length in lengths:
        row = [by_key.get((length, c)) for c in cells]
        values = " ".join(f"{r.value:>16.4g}" if r else f"{'-':>16}" for r in row)
        steps = "/".join(str(r.steps) if r else "-" for r in row)
        baseline = next(r.baseline for r in row if r)
        lines.append(f"{length:>6} {values} {baseline:>10.4f} {steps:>18}")
    return "\n".join(lines)
