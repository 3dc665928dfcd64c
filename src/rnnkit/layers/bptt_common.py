"""Pieces shared by the hand-written BPTT kernels (Elman, GRU, LSTM).

Every kernel works time-major inside, (T, B, ·), so that the slice of one step is one contiguous
block, and follows the same three phases:

1. the input projections of all steps in ONE matrix product: A_x = X W^T + b, X (T·B, I), W (G·H, I);
2. a loop over time that does only the recurrent product U h^{(t-1)} and the gate arithmetic;
3. after the backward loop over time, each weight gradient as ONE product over all T·B rows:
   ∂L/∂W = dA^T X, ∂L/∂b = Σ dA, ∂L/∂X = dA W.

A padding mask m (T, B, 1) with 1 at real and 0 at padded steps is applied so that a padded step
carries the state unchanged, outputs zero and lets no gradient flow from its (zero) output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def project_inputs(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-major copy of the input and its projection for all steps at once.

    x (B, T, I), W (G·H, I), b (G·H) or None -> (X (T·B, I), A_x (T, B, G·H)).
    """
    B, T, I = x.shape
    X = x.transpose(0, 1).reshape(T * B, I)  # (T·B, I), time-major copy
    A_x = torch.mm(X, W.t()) if b is None else torch.addmm(b, X, W.t())  # (T·B, G·H)
    return X, A_x.view(T, B, W.shape[0])  # (T, B, G·H)


def time_major_mask(mask: torch.Tensor | None, like: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The (B, T) mask as m (T, B, 1) and 1 - m in the dtype and device of `like`, or (None, None)."""
    if mask is None:
        return None, None
    m = mask.t().to(dtype=like.dtype, device=like.device).unsqueeze(2).contiguous()  # (T, B, 1)
    return m, 1.0 - m


def batch_first_output(HS: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    """Outputs (B, T, H) from the states HS (T, B, H), zero where m is 0."""
    T, B, H = HS.shape
    out = HS.new_empty(B, T, H)
    if m is None:
        out.copy_(HS.transpose(0, 1))  # (B, T, H)
    else:
        torch.mul(HS.transpose(0, 1), m.transpose(0, 1), out=out)  # (B, T, H)
    return out


def output_grads(grad_out: torch.Tensor | None, grad_state: torch.Tensor | None, m: torch.Tensor | None,
                 dh: torch.Tensor) -> Callable[[int], None]:
    """Start δ^{(T)} in the buffer dh (B, H) and return `add(t)`, which adds output t's gradient.

    δ^{(T)} = ∂L/∂h^{(T)} (the final state's gradient) + ∂L/∂out^{(T)} m^{(T)}. The backward loop
    calls add(t - 1) after forming δ^{(t-1)}'s recurrent part in dh; add(-1) does nothing. Reading
    grad_out (B, T, H) one step at a time avoids a time-major copy of it.
    """
    grads = () if grad_out is None else grad_out.unbind(1)  # T views (B, H)
    ms = None if m is None else m.unbind(0)  # T views (B, 1)

    def add(t: int) -> None:
        if t < 0:
            return
        if ms is None:
            dh.add_(grads[t])
        else:
            dh.addcmul_(grads[t], ms[t])

    if grad_state is None:
        dh.zero_()
    else:
        dh.copy_(grad_state)
    add(len(grads) - 1)
    return add


def weight_grad(dA: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Σ_t dA^{(t)T} inputs^{(t)} as ONE product over all T·B rows: (T, B, K), (T, B, N) -> (K, N).

    Either argument may be a last-dimension slice of a larger time-major buffer (no copy is made).
    """
    T, B = dA.shape[:2]
    return torch.mm(dA.view(T * B, dA.shape[2]).t(), inputs.reshape(T * B, inputs.shape[2]))  # (K, N)


def input_and_weight_grads(dA: torch.Tensor, X: torch.Tensor, W: torch.Tensor, B: int,
                           need: tuple[bool, bool, bool]) -> tuple[torch.Tensor | None, ...]:
    """∂L/∂x (B, T, I), ∂L/∂W (G·H, I) and ∂L/∂b (G·H) from the pre-activation gradients.

    dA (T, B, G·H) holds ∂L/∂A_x for every step; each gradient is one product over all T·B rows.
    `need` says which of (x, W, b) want a gradient.
    """
    T = dA.shape[0]
    dA2 = dA.view(T * B, dA.shape[2])  # (T·B, G·H)
    dx = torch.mm(dA2, W).view(T, B, W.shape[1]).transpose(0, 1) if need[0] else None  # (B, T, I)
    dW = weight_grad(dA, X.view(T, B, X.shape[1])) if need[1] else None  # (G·H, I)
    # Σ over the rows as a matrix-vector product: measured 2x faster than dA2.sum(0).
    db = torch.mv(dA2.t(), dA2.new_ones(T * B)) if need[2] else None  # (G·H,)
    return dx, dW, db
