"""Weight averaging: validate, keep and finish with the mean of the weights over the last steps.

Polyak–Ruppert averaging (Polyak & Juditsky 1992), the "averaged SGD" of AWD-LSTM (Merity et al. 2018)
and SWA's running mean (Izmailov et al. 2018), for any optimiser. From step s on, after each step k the
engine updates

    θ̄_n = θ̄_{n−1} + (θ_{s+n} − θ̄_{n−1}) / n        n = 1, 2, …   (θ̄_1 = θ_{s+1})

so θ̄_n is the arithmetic mean of the weights after steps s+1 … s+n. The optimiser keeps training θ;
validation, ``best/`` and early stopping see θ̄ (swapped into the model for the validation), and the
model ends training holding θ̄ (or ``best/``'s weights, with ``restore_best``). ``last/`` keeps θ and θ̄
both, so a resumed run continues exactly. The update is torch's own
(``torch.optim.swa_utils.get_swa_multi_avg_fn``), applied to the trainable parameters only: frozen ones
do not change, and the model's buffers are not averaged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import get_swa_multi_avg_fn

PREFIX = "average/"  # the averages' names in trainer.safetensors


class WeightAverage:
    """The running mean θ̄ of ``params`` over the steps after ``start``.

    Args:
        params: the trained parameters (the optimiser's), in a fixed order.
        start: steps done before the first one averaged (the config's ``average_from``).
    """

    def __init__(self, params: list[nn.Parameter], start: int) -> None:
        self.params = params
        self.start = start
        self.mean = [p.detach().clone() for p in params]
        self.count = 0  # n: steps averaged so far
        self._update = get_swa_multi_avg_fn()

    def update(self, step: int) -> None:
        """Add the weights after optimiser step ``step`` (1-based) to the mean, once past ``start``."""
        if step <= self.start:
            return
        current = [p.detach() for p in self.params]
        if self.count == 0:
            torch._foreach_copy_(self.mean, current)
        else:
            self._update(self.mean, current, self.count)  # lerp by 1 / (count + 1)
        self.count += 1

    def assign(self) -> None:
        """θ ← θ̄ (nothing happens before ``start``)."""
        if self.count:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self.params], self.mean)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """θ̄ in the parameters inside the block, θ restored after it."""
        kept = [p.detach().clone() for p in self.params]
        self.assign()
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self.params], kept)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and JSON for ``last/`` (none before ``start``)."""
        if self.count == 0:
            return {}, {"count": 0}
        return {f"{PREFIX}{i}": t for i, t in enumerate(self.mean)}, {"count": self.count}

    def load(self, tensors: dict[str, torch.Tensor], data: dict[str, Any]) -> None:
        """Restore what :meth:`state` gave; KeyError or ValueError if it does not fit ``params``."""
        self.count = int(data["count"])
        if self.count == 0:
            return
        with torch.no_grad():
            for i, mean in enumerate(self.mean):
                saved = tensors[f"{PREFIX}{i}"]
                if saved.shape != mean.shape:
                    raise ValueError(f"{PREFIX}{i} has shape {tuple(saved.shape)}, the parameter {tuple(mean.shape)}")
                mean.copy_(saved)
