"""What every recurrent cell shares: sizes, initialisation, stacked weights for the fast paths."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from rnnkit.checks import check_sizes

INITS = ("uniform", "orthogonal")


class RecurrentCell(nn.Module):
    """Base class of the cells: one time step, h(t) = cell(x(t), h(t−1)).

    Subclasses declare ``gates`` (the names of the gate blocks, in torch's stacking order) and create, for
    every gate ``g``, the parameters ``W_g (H, I)``, ``U_g (H, H)`` and (with ``bias``) ``b_g (H)``.
    The Elman cell names its single block after the lecture's W_xh, W_hh and b instead.
    """

    gates: tuple[str, ...] = ()
    num_states = 1  # 2 for the LSTM's (h, c)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, init: str = "uniform") -> None:
        super().__init__()
        check_sizes(input_size=input_size, hidden_size=hidden_size)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.init = init

    def _make(self, names_in: list[str], names_hh: list[str], names_b: list[str]) -> None:
        H, I = self.hidden_size, self.input_size
        for name in names_in:
            self.register_parameter(name, nn.Parameter(torch.empty(H, I)))
        for name in names_hh:
            self.register_parameter(name, nn.Parameter(torch.empty(H, H)))
        for name in names_b if self.bias else []:
            self.register_parameter(name, nn.Parameter(torch.empty(H)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) for every parameter, as torch does; with ``init="orthogonal"`` the recurrent
        matrices (the U's and W_hh) start orthogonal instead, which keeps ∂h(t)/∂h(t−1) near norm 1."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        recurrent = self.recurrent_names()
        for name, weight in self.named_parameters():
            if self.init == "orthogonal" and name in recurrent:
                nn.init.orthogonal_(weight)
            else:
                nn.init.uniform_(weight, -bound, bound)

    def recurrent_names(self) -> list[str]:
        """The names of the recurrent matrices, those that multiply h(t−1): the U's (the Elman cell's W_hh)."""
        return [name for name, _ in self.named_parameters() if name.startswith("U_") or name == "W_hh"]

    def init_state(self, batch_size: int, like: torch.Tensor):
        """The zero state for a batch: h (B, H), or (h, c) for the LSTM."""
        zeros = like.new_zeros(batch_size, self.hidden_size)
        return zeros if self.num_states == 1 else (zeros, zeros.clone())

    def stacked(
        self, weights: Mapping[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The weights with the gate blocks stacked in torch's order, for the fast paths.

        Args:
            weights: tensors to use instead of some parameters, by name (weight dropout's dropped U's).

        Returns:
            W: (G·H, I), U: (G·H, H) and b: (G·H) or None, G = number of gates.
        """
        weights = weights or {}

        def block(kind: str) -> torch.Tensor:
            return torch.cat([weights.get(f"{kind}_{g}", getattr(self, f"{kind}_{g}")) for g in self.gates])

        return block("W"), block("U"), block("b") if self.bias else None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
