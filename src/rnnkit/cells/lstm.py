"""The long short-term memory cell (Hochreiter & Schmidhuber 1997), in torch.nn.LSTM's exact form."""

from __future__ import annotations

import torch

from rnnkit.cells.base import RecurrentCell


class LSTMCell(RecurrentCell):
    r"""One step of an LSTM, exactly torch.nn.LSTM's equations (with its two biases summed into one).

    .. math::
        i^{(t)} = σ(W_i x^{(t)} + U_i h^{(t-1)} + b_i)      (input gate)

        f^{(t)} = σ(W_f x^{(t)} + U_f h^{(t-1)} + b_f)      (forget gate)

        g^{(t)} = \tanh(W_g x^{(t)} + U_g h^{(t-1)} + b_g)  (candidate cell)

        o^{(t)} = σ(W_o x^{(t)} + U_o h^{(t-1)} + b_o)      (output gate)

        c^{(t)} = f^{(t)} ⊙ c^{(t-1)} + i^{(t)} ⊙ g^{(t)}

        h^{(t)} = o^{(t)} ⊙ \tanh(c^{(t)})

    The cell state c is the additive path that lets gradients travel far back (the forget gate, not a
    product of Jacobians of tanh layers, decides how much of ∂L/∂c(t) reaches c(t−1)).

    Args:
        input_size: I, the size of x(t).
        hidden_size: H, the size of h(t) and c(t).
        bias: learn the biases. Default True.
        init: "uniform" (U(−1/√H, 1/√H), as torch) or "orthogonal" (the U's orthogonal). Default "uniform".

    Inputs: x (B, I), state (h (B, H), c (B, H)).
    Outputs: (h (B, H), c (B, H)), the new state.

    Attributes:
        W_i, W_f, W_g, W_o: (H, I). U_i, U_f, U_g, U_o: (H, H). b_i, b_f, b_g, b_o: (H).

    Example:
        >>> cell = LSTMCell(10, 20)
        >>> h, c = cell(torch.randn(3, 10), cell.init_state(3, torch.zeros(1)))
        >>> h.shape, c.shape
        (torch.Size([3, 20]), torch.Size([3, 20]))
    """

    gates = ("i", "f", "g", "o")
    num_states = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, init: str = "uniform") -> None:
        super().__init__(input_size, hidden_size, bias, init)
        self._make([f"W_{g}" for g in self.gates], [f"U_{g}" for g in self.gates],
                   [f"b_{g}" for g in self.gates])

    def _pre(self, gate: str, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """W_g x + U_g h (+ b_g): (B, H)."""
        a = x @ getattr(self, f"W_{gate}").T + h @ getattr(self, f"U_{gate}").T
        return a + getattr(self, f"b_{gate}") if self.bias else a

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i = torch.sigmoid(self._pre("i", x, h))
        f = torch.sigmoid(self._pre("f", x, h))
        g = torch.tanh(self._pre("g", x, h))
        o = torch.sigmoid(self._pre("o", x, h))
        c = f * c + i * g
        return o * torch.tanh(c), c
