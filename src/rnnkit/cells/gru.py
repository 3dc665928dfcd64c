"""The gated recurrent unit (Cho et al. 2014): the lecture's form, and torch/cuDNN's as an option."""

from __future__ import annotations

import torch

from rnnkit.cells.base import RecurrentCell

VARIANTS = ("lecture", "cudnn")


class GRUCell(RecurrentCell):
    r"""One step of a GRU, in the lecture's form (default) or in torch.nn.GRU's (``variant="cudnn"``).

    The lecture's form (DD2418 lecture 9), σ the logistic sigmoid and ⊙ the element-wise product:

    .. math::
        r^{(t)} = σ(U_r h^{(t-1)} + W_r x^{(t)} + b_r)

        z^{(t)} = σ(U_z h^{(t-1)} + W_z x^{(t)} + b_z)

        \tilde{h}^{(t)} = \tanh(U_h (r^{(t)} ⊙ h^{(t-1)}) + W_h x^{(t)} + b_h)

        h^{(t)} = (1 - z^{(t)}) ⊙ h^{(t-1)} + z^{(t)} ⊙ \tilde{h}^{(t)}

    The reset gate r chooses what of h(t−1) the candidate h̃ sees; the update gate z chooses how much of
    the state is replaced by h̃. (The lecture writes no biases; they are on by default here.)

    The cuDNN form is exactly torch.nn.GRU's: r is applied *after* the recurrent product, there is a
    second bias b_hn inside it, and z plays the opposite role (it keeps the old state):

    .. math::
        \tilde{h}^{(t)} = \tanh(W_h x^{(t)} + b_h + r^{(t)} ⊙ (U_h h^{(t-1)} + b_{hn}))

        h^{(t)} = (1 - z^{(t)}) ⊙ \tilde{h}^{(t)} + z^{(t)} ⊙ h^{(t-1)}

    with r and z as above, where b_r and b_z hold the sums of torch's two biases b_i* + b_h*.

    Args:
        input_size: I, the size of x(t).
        hidden_size: H, the size of h(t).
        variant: "lecture" or "cudnn". Default "lecture".
        bias: learn the biases. Default True.
        init: "uniform" (U(−1/√H, 1/√H), as torch) or "orthogonal" (the U's orthogonal). Default "uniform".

    Inputs: x (B, I), h (B, H).
    Outputs: h (B, H), the new state.

    Attributes:
        W_r, W_z, W_h: (H, I). U_r, U_z, U_h: (H, H). b_r, b_z, b_h: (H). b_hn: (H), cudnn variant only.

    Example:
        >>> cell = GRUCell(10, 20)
        >>> cell(torch.randn(3, 10), torch.zeros(3, 20)).shape
        torch.Size([3, 20])
    """

    gates = ("r", "z", "h")

    def __init__(
        self, input_size: int, hidden_size: int, variant: str = "lecture", bias: bool = True,
        init: str = "uniform",
    ) -> None:
        super().__init__(input_size, hidden_size, bias, init)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        biases = ["b_r", "b_z", "b_h"] + (["b_hn"] if variant == "cudnn" else [])
        self._make(["W_r", "W_z", "W_h"], ["U_r", "U_z", "U_h"], biases)

    def _affine(self, gate: str, x: torch.Tensor) -> torch.Tensor:
        """W_g x (+ b_g): (B, H)."""
        a = x @ getattr(self, f"W_{gate}").T
        return a + getattr(self, f"b_{gate}") if self.bias else a

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        r = torch.sigmoid(h @ self.U_r.T + self._affine("r", x))  # (B, H)
        z = torch.sigmoid(h @ self.U_z.T + self._affine("z", x))  # (B, H)
        if self.variant == "lecture":
            h_tilde = torch.tanh((r * h) @ self.U_h.T + self._affine("h", x))
            return (1 - z) * h + z * h_tilde
        recurrent = h @ self.U_h.T + (self.b_hn if self.bias else 0)
        h_tilde = torch.tanh(self._affine("h", x) + r * recurrent)
        return (1 - z) * h_tilde + z * h

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.variant == "lecture" else f", variant={self.variant!r}")
