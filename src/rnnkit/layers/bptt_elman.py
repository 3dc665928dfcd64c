"""Hand-written BPTT for the Elman RNN over a whole sequence.

Forward (W = W_xh (H, I), U = W_hh (H, H), b (H)):

    A^{(t)} = W_hh h^{(t-1)} + W_xh x^{(t)} + b,    h^{(t)} = g(A^{(t)}),  g ∈ {tanh, relu, sigmoid, identity}

Backward, with δ^{(t)} = ∂L/∂h^{(t)} (the output's gradient plus the one carried from t+1), the
lecture's product of Jacobians one factor at a time:

    ∂L/∂A^{(t)} = δ^{(t)} ⊙ g'(A^{(t)}),    δ^{(t-1)} += W_hh^T ∂L/∂A^{(t)}

g' is read off the saved output: tanh 1 − h², sigmoid h(1 − h), relu [h > 0], identity 1.
Padding: h^{(t)} = h^{(t-1)} + m (g(A) − h^{(t-1)}), so a padded step (m = 0) passes δ on unchanged.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from rnnkit.layers.bptt_common import (
    batch_first_output,
    input_and_weight_grads,
    output_grads,
    project_inputs,
    weight_grad,
)

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


def _activate_(a: torch.Tensor, nonlinearity: str) -> None:
    """g(a) in place (identity: nothing to do)."""
    if nonlinearity == "tanh":
        a.tanh_()
    elif nonlinearity == "relu":
        a.relu_()
    elif nonlinearity == "sigmoid":
        a.sigmoid_()


def _derivative(y: torch.Tensor, nonlinearity: str) -> torch.Tensor:
    """g'(A) from y = g(A), for all steps at once."""
    if nonlinearity == "tanh":
        return 1 - y * y
    if nonlinearity == "relu":
        return (y > 0).to(y.dtype)
    if nonlinearity == "sigmoid":
        return y * (1 - y)
    return torch.ones_like(y)


class ElmanSequence(torch.autograd.Function):
    """Elman RNN over one direction: (x, h0, W, U, b, m, 1−m, nonlinearity) -> (out (B,T,H), h_T (B,H))."""

    @staticmethod
    def forward(ctx, x, h0, W, U, b, m, omm, nonlinearity):
        B, T, _ = x.shape
        H = U.shape[1]
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, H)
        U_t = U.t().contiguous()  # (H, H); a contiguous right operand measures ~1.5x faster in small products
        HS = x.new_empty(T + 1, B, H)  # h^{(0)} ... h^{(T)}
        HS[0] = h0
        # Without padding g(A) is the state itself; with padding it is kept apart for g'.
        Y = HS[1:] if m is None else x.new_empty(T, B, H)
        a_x, hs, ys = A_x.unbind(0), HS.unbind(0), Y.unbind(0)  # per-step views, made once
        ms = None if m is None else m.unbind(0)
        for t in range(T):
            _activate_(torch.addmm(a_x[t], hs[t], U_t, out=ys[t]), nonlinearity)
            if ms is not None:
                torch.lerp(hs[t], ys[t], ms[t], out=hs[t + 1])
        ctx.save_for_backward(X, W, U, HS, Y, m, omm)
        ctx.nonlinearity = nonlinearity
        ctx.has_bias = b is not None
        return batch_first_output(HS[1:], m), HS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        X, W, U, HS, Y, m, omm = ctx.saved_tensors
        T, B, H = Y.shape
        P = _derivative(Y, ctx.nonlinearity)  # g'(A) (T, B, H), one elementwise pass
        if m is not None:
            P.mul_(m)
        DA = Y.new_empty(T, B, H)
        das, ps = DA.unbind(0), P.unbind(0)
        omms = None if m is None else omm.unbind(0)
        dh = Y.new_empty(B, H)
        next_grad = output_grads(grad_out, grad_hT, m, dh)
        for t in range(T - 1, -1, -1):
            torch.mul(dh, ps[t], out=das[t])
            if omms is None:
                torch.mm(das[t], U, out=dh)
            else:
                dh.mul_(omms[t]).addmm_(das[t], U)  # a padded step passes δ on unchanged
            next_grad(t - 1)
        need_x, need_h0, need_W, need_U, need_b = ctx.needs_input_grad[:5]
        dU = weight_grad(DA, HS[:-1]) if need_U else None
        dx, dW, db = input_and_weight_grads(DA, X, W, B, (need_x, need_W, need_b and ctx.has_bias))
        return dx, (dh if need_h0 else None), dW, dU, db, None, None, None
