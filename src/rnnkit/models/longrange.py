"""The model of the long-range problems (adding, copy): one recurrent layer and a linear read-out.

    h^{(t)} = RNN(x^{(t)}, h^{(t−1)})          (Elman, GRU or LSTM; rnnkit.layers.Recurrent)
    ŷ^{(t)} = W_hy h^{(t)} + b_y               (at every step)

Deliberately minimal: a single layer, so that whatever the model learns about distant inputs must travel
through the products of step Jacobians ∂h(t+1)/∂h(t) that the gradient probe measures.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnkit.checks import check_sizes
from rnnkit.layers import Recurrent


class LongRangeModel(nn.Module):
    """A one-layer recurrent network with a linear output at every step; returns the outputs, not a loss.

    Args:
        cell: "elman", "gru" or "lstm" (default "lstm").
        input_size: I, the size of x(t) (2 for the adding problem, 10 for the copy task; default 2).
        hidden_size: H, the size of h(t) (default 128).
        output_size: O, outputs per step (1 for the adding problem, 10 classes for copy; default 1).
        variant: the GRU's form, "lecture" or "cudnn" (default "lecture").
        init: "uniform" or "orthogonal" recurrent matrices (default "uniform").
        backend: the recurrent layer's backend (default "auto").

    Inputs:
        x: (B, T, I) float.

    Outputs:
        y: (B, T, O), W_hy h(t) + b_y at every step (regression values or class logits).

    Attributes:
        rnn: the :class:`~rnnkit.layers.Recurrent` layer. output.weight: W_hy (O, H); output.bias: b_y (O,).

    Example:
        >>> model = LongRangeModel("gru", input_size=2, hidden_size=8, output_size=1)
        >>> model(torch.rand(3, 7, 2)).shape
        torch.Size([3, 7, 1])
        >>> LongRangeModel.from_config(model.get_config()).get_config() == model.get_config()
        True
    """

    def __init__(
        self,
        cell: str = "lstm",
        input_size: int = 2,
        hidden_size: int = 128,
        output_size: int = 1,
        variant: str = "lecture",
        init: str = "uniform",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        check_sizes(input_size=input_size, hidden_size=hidden_size, output_size=output_size)
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.variant = variant
        self.init = init
        self.backend = backend
        self.rnn = Recurrent(cell, input_size, hidden_size, variant=variant, init=init, backend=backend)
        self.output = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x)  # (B, T, H)
        return self.output(h)  # (B, T, O)

    def get_config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "cell", "input_size", "hidden_size", "output_size", "variant", "init", "backend")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LongRangeModel:
        return cls(**config)
