"""The Elman RNN cell, exactly as in the lecture (DD2418 lecture 9, "Recurrent neural networks")."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from rnnkit.cells.base import RecurrentCell

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda a: a}


class ElmanCell(RecurrentCell):
    r"""One step of the Elman (vanilla) recurrent network.

    .. math::
        h^{(t)} = g(W_{hh} h^{(t-1)} + W_{xh} x^{(t)} + b)

        \hat{y}^{(t)} = f(W_{hy} h^{(t)})   (only with ``output_size``)

    g is the state non-linearity (tanh by default); f is left to the task (a softmax for a language
    model), so :meth:`output` returns the logits W_hy h(t).

    Args:
        input_size: I, the size of x(t).
        hidden_size: H, the size of h(t).
        nonlinearity: g, one of "tanh", "relu", "sigmoid", "identity". Default "tanh".
        bias: learn b. Default True.
        output_size: O; with it the cell also owns W_hy. Default None.
        init: "uniform" (U(−1/√H, 1/√H), as torch) or "orthogonal" (W_hh orthogonal). Default "uniform".

    Inputs: x (B, I), h (B, H).
    Outputs: h (B, H), the new state.

    Attributes:
        W_xh: (H, I). W_hh: (H, H). b: (H). W_hy: (O, H), only with ``output_size``.

    Example:
        >>> cell = ElmanCell(10, 20)
        >>> cell(torch.randn(3, 10), torch.zeros(3, 20)).shape
        torch.Size([3, 20])
    """

    gates = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        bias: bool = True,
        output_size: int | None = None,
        init: str = "uniform",
    ) -> None:
        super().__init__(input_size, hidden_size, bias, init)
        if nonlinearity not in ACTIVATIONS:
            raise ValueError(f"nonlinearity must be one of {tuple(ACTIVATIONS)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.output_size = output_size
        if output_size is not None:
            self.W_hy = nn.Parameter(torch.empty(output_size, hidden_size))
        self._make(["W_xh"], ["W_hh"], ["b"])

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        a = x @ self.W_xh.T + h @ self.W_hh.T  # (B, H)
        if self.bias:
            a = a + self.b
        return ACTIVATIONS[self.nonlinearity](a)

    def output(self, h: torch.Tensor) -> torch.Tensor:
        """The output logits W_hy h(t): (B, O)."""
        if self.output_size is None:
            raise ValueError("this ElmanCell was built without output_size, so it has no W_hy")
        return h @ self.W_hy.T

    def stacked(
        self, weights: Mapping[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        weights = weights or {}
        return weights.get("W_xh", self.W_xh), weights.get("W_hh", self.W_hh), self.b if self.bias else None

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else f", {self.nonlinearity}")
