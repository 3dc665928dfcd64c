"""What a task gives the engine: the ``TrainingTask`` protocol and the ``StepResult`` of one batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@dataclass
class StepResult:
    """The loss of one batch.

    Attributes:
        loss: scalar tensor, the *mean* loss over the batch's ``n_items`` items (tokens, sentences).
        n_items: how many items the mean is over; the engine weights averages by it.
        state: the recurrent state to carry into the next batch (truncated BPTT), or None. Any nesting
            of tuples, lists and dicts of tensors; the engine detaches it after the step.
        metrics: extra training figures for this batch (e.g. accuracy), averaged like the loss.
    """

    loss: torch.Tensor
    n_items: int
    state: Any = None
    metrics: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class TrainingTask(Protocol):
    """The protocol the engine trains through (``evaluate`` is optional)."""

    def train_batches(self, epoch: int) -> Sequence[Any]:
        """The batches of ``epoch``: the same for the same (seed, epoch), with len() and [i]."""
        ...

    def eval_batches(self) -> Iterable[Any]:
        """Validation batches (may be empty)."""
        ...

    def loss(self, model: nn.Module, batch: Any, state: Any, step: int) -> StepResult:
        """Mean loss of ``batch``; ``state`` is the carried state (None at each epoch start)."""
        ...


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """The block runs with ``model`` in eval mode and no gradients; the model's mode is restored after.

    Example:
        >>> model = nn.Linear(2, 1)
        >>> with evaluating(model):
        ...     model.training, torch.is_grad_enabled()
        (False, False)
        >>> model.training, torch.is_grad_enabled()
        (True, True)
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
