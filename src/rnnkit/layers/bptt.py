"""Backpropagation through time written out: one direction of one layer over a whole sequence.

Each function runs a cell over x (B, T, I) with its stacked weights (see `cell.stacked()`):
W (G·H, I), U (G·H, H), b (G·H) or None, with G = 1 (Elman), 3 (GRU, r|z|h) or 4 (LSTM, i|f|g|o).
The work is a custom `torch.autograd.Function` per cell (modules bptt_elman, bptt_gru, bptt_lstm):

* forward: the input projections W x^{(t)} + b of all T steps in ONE matrix product, then a loop
  over time with only the recurrent product U h^{(t-1)} and the gates, saving gates and states;
* backward: a loop over time in reverse carrying δ^{(t)} = ∂L/∂h^{(t)} (and ∂L/∂c^{(t)}), the
  lecture's product of Jacobians ∂L/∂h^{(1)} = ∂h^{(2)}/∂h^{(1)} ⋯ ∂h^{(T)}/∂h^{(T-1)} ∂L/∂h^{(T)}
  applied one factor at a time, storing the pre-activation gradients ∂L/∂A^{(t)} of all steps;
  then each weight gradient as ONE product over all T·B rows: ∂L/∂W = Σ_t ∂L/∂A^{(t)} x^{(t)T},
  ∂L/∂U = Σ_t ∂L/∂A^{(t)} h^{(t-1)T}.

`mask` (B, T), 1 at real and 0 at padded steps (bool or float): a padded step carries the state
unchanged, outputs zero, and no gradient flows from it. Works on CPU and CUDA, float32 and float64.
Double backward is not supported (the backward is itself not differentiable).

Example:
    >>> import torch
    >>> from rnnkit.layers.bptt import gru_sequence
    >>> B, T, I, H = 2, 5, 3, 4
    >>> x, h0 = torch.randn(B, T, I), torch.zeros(B, H)
    >>> W, U, b = torch.randn(3 * H, I), torch.randn(3 * H, H), torch.zeros(3 * H)
    >>> out, h_T = gru_sequence(x, h0, W, U, b, None, "lecture", None)
    >>> out.shape, h_T.shape
    (torch.Size([2, 5, 4]), torch.Size([2, 4]))
    >>> torch.equal(out[:, -1], h_T)
    True
"""

from __future__ import annotations

import torch

from rnnkit.layers.bptt_common import time_major_mask
from rnnkit.layers.bptt_elman import ACTIVATIONS, ElmanSequence
from rnnkit.layers.bptt_gru import CudnnGRUSequence, LectureGRUSequence
from rnnkit.layers.bptt_lstm import LSTMSequence

__all__ = ["ACTIVATIONS", "elman_sequence", "gru_sequence", "lstm_sequence"]


def elman_sequence(x: torch.Tensor, h0: torch.Tensor, W: torch.Tensor, U: torch.Tensor,
                   b: torch.Tensor | None, nonlinearity: str = "tanh",
                   mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Elman RNN h^{(t)} = g(W_hh h^{(t-1)} + W_xh x^{(t)} + b) over x (B, T, I).

    W = W_xh (H, I), U = W_hh (H, H), b (H) or None, h0 (B, H), g one of ACTIVATIONS.
    Returns out (B, T, H), zero at padded steps, and h_T (B, H), the state at each sequence's end.
    """
    if nonlinearity not in ACTIVATIONS:
        raise ValueError(f"nonlinearity must be one of {ACTIVATIONS}, got {nonlinearity!r}")
    m, omm = time_major_mask(mask, x)
    return ElmanSequence.apply(x, h0, W, U, b, m, omm, nonlinearity)


def gru_sequence(x: torch.Tensor, h0: torch.Tensor, W: torch.Tensor, U: torch.Tensor,
                 b: torch.Tensor | None, b_hn: torch.Tensor | None, variant: str = "lecture",
                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """GRU over x (B, T, I), the lecture form or torch's ("cudnn"); see bptt_gru for the equations.

    W (3H, I), U (3H, H), b (3H) or None stacked r|z|h; b_hn (H) or None, only for "cudnn"
    (the lecture form has no bias inside r ⊙ (·)). h0 (B, H).
    Returns out (B, T, H), zero at padded steps, and h_T (B, H).
    """
    m, omm = time_major_mask(mask, x)
    if variant == "lecture":
        if b_hn is not None:
            raise ValueError("the lecture GRU has no b_hn; pass b_hn=None or use variant='cudnn'")
        return LectureGRUSequence.apply(x, h0, W, U, b, m)
    if variant == "cudnn":
        return CudnnGRUSequence.apply(x, h0, W, U, b, b_hn, m, omm)
    raise ValueError(f"variant must be 'lecture' or 'cudnn', got {variant!r}")


def lstm_sequence(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, W: torch.Tensor, U: torch.Tensor,
                  b: torch.Tensor | None, mask: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """LSTM (torch.nn.LSTM's equations) over x (B, T, I); see bptt_lstm for the equations.

    W (4H, I), U (4H, H), b (4H) or None stacked i|f|g|o; h0, c0 (B, H).
    Returns out (B, T, H), zero at padded steps, h_T (B, H) and c_T (B, H).
    """
    m, omm = time_major_mask(mask, x)
    return LSTMSequence.apply(x, h0, c0, W, U, b, m, omm)
