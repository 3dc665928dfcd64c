"""A tiny model and task for the engine tests: a GRU tagger with dropout over random sequences, its
hidden state carried from batch to batch (truncated BPTT), so RNG, data position and carried state all
matter for exact resumption."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.engine import StepResult

META = {"task": "toy", "model_class": "ToyNet", "model_config": {"hidden": 8}}


class ToyNet(nn.Module):
    def __init__(self, hidden: int = 8, dropout: float = 0.3) -> None:
        super().__init__()
        self.hidden = hidden
        self.dropout = dropout
        self.rnn = nn.GRU(3, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.rnn(x, h)  # y: (B, T, H)
        return self.out(self.drop(y)), h  # (B, T, 2)


class ToyTask:
    """``n`` batches of (x (B, T, 3), y (B, T)); the epoch's order is a permutation seeded by the epoch."""

    def __init__(self, n: int = 12, batch: int = 4, seed: int = 0, hooks: dict | None = None) -> None:
        g = torch.Generator().manual_seed(seed)
        self.data = [
            (torch.randn(batch, 5, 3, generator=g), torch.randint(0, 2, (batch, 5), generator=g)) for _ in range(n)
        ]
        self.hooks = hooks or {}  # step -> callable run before that step's loss (interruptions)
        self.loss_value: float | None = None  # set to force a loss (NaN tests)
        self.direct = False  # call the model's submodules rather than its forward

    def train_batches(self, epoch: int) -> list:
        order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(100 + epoch))
        return [self.data[i] for i in order.tolist()]

    def eval_batches(self) -> list:
        return self.data[:3]

    def loss(self, model: nn.Module, batch: tuple, state: torch.Tensor | None, step: int) -> StepResult:
        if model.training and step in self.hooks:
            self.hooks.pop(step)()
        x, y = batch
        if self.direct:  # parts called one by one, as an encoder-decoder's tasks do
            hidden, h = model.rnn(x, state)  # (B, T, H)
            logits = model.out(model.drop(hidden))  # (B, T, 2)
        else:
            logits, h = model(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 2), y.reshape(-1))
        if self.loss_value is not None and model.training:
            loss = loss * 0 + self.loss_value
        accuracy = (logits.argmax(-1) == y).float().mean().item()
        return StepResult(loss, y.numel(), h, {"accuracy": accuracy})


class SplitToyTask(ToyTask):
    """ToyTask with every batch cut into rows [:1] and [1:], consecutive: with 2 processes, rank 0 takes
    the first part of each batch and rank 1 the rest, so together they see exactly ToyTask's batches."""

    def train_batches(self, epoch: int) -> list:
        return [(x[rows], y[rows]) for x, y in super().train_batches(epoch) for rows in (slice(0, 1), slice(1, None))]


# The 2-process test: no dropout, so both runs compute the same function.
DDP_CONFIG = dict(epochs=2, eval_every=5, log_every=1, progress="off", seed=1, restore_best=False, device="cpu")


@pytest.fixture
def one_thread():
    """Tiny models: extra threads only add overhead (and the CI machine has 2 cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
