"""Hand-written BPTT for the LSTM (torch.nn.LSTM's equations) over a whole sequence.

Forward (gates stacked i|f|g|o in W (4H, I), U (4H, H), b (4H)):

    [A_i; A_f; A_g; A_o] = W x^{(t)} + U h^{(t-1)} + b
    i = σ(A_i),  f = σ(A_f),  g = tanh(A_g),  o = σ(A_o)
    c^{(t)} = f ⊙ c^{(t-1)} + i ⊙ g,    h^{(t)} = o ⊙ tanh(c^{(t)})

Backward, with δ = ∂L/∂h^{(t)} and γ = ∂L/∂c^{(t)} carried from t+1:

    γ += δ ⊙ o ⊙ (1 − tanh²(c^{(t)}))
    ∂L/∂A_o = δ ⊙ tanh(c^{(t)}) ⊙ o(1 − o)
    [∂L/∂A_i; ∂L/∂A_f; ∂L/∂A_g] = γ ⊙ [g i(1 − i); c^{(t-1)} f(1 − f); i (1 − g²)]
    ∂L/∂c^{(t-1)} = γ ⊙ f,    ∂L/∂h^{(t-1)} += U^T ∂L/∂A

Padding: c and h are carried through a padded step (m = 0) by lerp, so there the gate factors are
multiplied by m, f is replaced by f m + 1 − m, and δ passes to h^{(t-1)} through the factor 1 − m.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from rnnkit.layers.bptt_common import (
    add_state_grad,
    batch_first_output,
    input_and_weight_grads,
    project_inputs,
    time_major_grad,
)


class LSTMSequence(torch.autograd.Function):
    """LSTM over one direction: (x, h0, c0, W, U, b, m, 1−m) -> (out (B,T,H), h_T (B,H), c_T (B,H))."""

    @staticmethod
    def forward(ctx, x, h0, c0, W, U, b, m, omm):
        B, T, _ = x.shape
        H = U.shape[1]
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 4H)
        U_t = U.t()  # (H, 4H)
        G = x.new_empty(T, B, 4 * H)  # i | f | g | o
        CS = x.new_empty(T + 1, B, H)  # c^{(0)} ... c^{(T)}
        HS = x.new_empty(T + 1, B, H)  # h^{(0)} ... h^{(T)}
        TC = x.new_empty(T, B, H)  # tanh(c^{(t)}) before padding is applied
        CS[0], HS[0] = c0, h0
        c_new, h_new = (CS[1:], HS[1:]) if m is None else (x.new_empty(T, B, H), x.new_empty(B, H))
        for t in range(T):
            gates = G[t]
            torch.addmm(A_x[t], HS[t], U_t, out=gates)
            gates[:, : 2 * H].sigmoid_()
            gates[:, 2 * H : 3 * H].tanh_()
            gates[:, 3 * H :].sigmoid_()
            c = c_new[t]
            torch.mul(gates[:, H : 2 * H], CS[t], out=c)
            c.addcmul_(gates[:, :H], gates[:, 2 * H : 3 * H])
            torch.tanh(c, out=TC[t])
            if m is None:
                torch.mul(gates[:, 3 * H :], TC[t], out=HS[t + 1])
            else:
                torch.mul(gates[:, 3 * H :], TC[t], out=h_new)
                torch.lerp(CS[t], c, m[t], out=CS[t + 1])
                torch.lerp(HS[t], h_new, m[t], out=HS[t + 1])
        ctx.save_for_backward(X, W, U, HS, CS, G, TC, m, omm)
        ctx.has_bias = b is not None
        return batch_first_output(HS[1:], m), HS[T].clone(), CS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT, grad_cT):
        X, W, U, HS, CS, G, TC, m, omm = ctx.saved_tensors
        T, B, H = TC.shape
        DH = time_major_grad(grad_out, m, T, B, H, TC)
        add_state_grad(DH[T - 1], grad_hT)
        i, f, g, o = G[..., :H], G[..., H : 2 * H], G[..., 2 * H : 3 * H], G[..., 3 * H :]
        # δ-independent factors for all steps at once.
        PC = o * (1 - TC * TC)  # ∂h/∂c (T, B, H)
        PO = TC * o * (1 - o)  # ∂h/∂A_o
        P3 = TC.new_empty(T, B, 3, H)  # ∂c/∂[A_i, A_f, A_g]
        torch.mul(g, i * (1 - i), out=P3[:, :, 0])
        torch.mul(CS[:-1], f * (1 - f), out=P3[:, :, 1])
        torch.mul(i, 1 - g * g, out=P3[:, :, 2])
        if m is None:
            F = f
        else:
            PC.mul_(m)
            PO.mul_(m)
            P3.mul_(m.unsqueeze(3))
            F = torch.addcmul(omm, f, m)  # f m + 1 − m
        dc = TC.new_zeros(B, H) if grad_cT is None else grad_cT.clone()
        DA = TC.new_empty(T, B, 4 * H)
        for t in range(T - 1, -1, -1):
            dh, dA = DH[t], DA[t]
            dc.addcmul_(dh, PC[t])
            torch.mul(dc.unsqueeze(1), P3[t], out=dA[:, : 3 * H].view(B, 3, H))
            torch.mul(dh, PO[t], out=dA[:, 3 * H :])
            dc.mul_(F[t])
            dh_prev = DH[t - 1] if t > 0 else torch.zeros_like(dh)
            if m is not None:
                dh_prev.addcmul_(dh, omm[t])
            dh_prev.addmm_(dA, U)
        need_x, need_h0, need_c0, need_W, need_U, need_b = ctx.needs_input_grad[:6]
        dU = torch.mm(DA.view(T * B, 4 * H).t(), HS[:-1].reshape(T * B, H)) if need_U else None
        dx, dW, db = input_and_weight_grads(DA, X, W, B, (need_x, need_W, need_b and ctx.has_bias))
        return (dx, (dh_prev if need_h0 else None), (dc if need_c0 else None), dW, dU, db, None, None)
