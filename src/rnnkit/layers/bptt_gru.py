"""Hand-written BPTT for the GRU over a whole sequence, lecture form and torch's (cuDNN) form.

Lecture form (gates stacked r|z|h in W (3H, I), U (3H, H), b (3H)):

    r^{(t)} = σ(U_r h^{(t-1)} + W_r x^{(t)} + b_r)
    z^{(t)} = σ(U_z h^{(t-1)} + W_z x^{(t)} + b_z)
    h̃^{(t)} = tanh(U_h (r^{(t)} ⊙ h^{(t-1)}) + W_h x^{(t)} + b_h)
    h^{(t)} = (1 − z^{(t)}) ⊙ h^{(t-1)} + z^{(t)} ⊙ h̃^{(t)}

Backward, with δ = ∂L/∂h^{(t)} (the output's gradient plus the one carried from t+1):

    ∂L/∂A_h = δ ⊙ z ⊙ (1 − h̃²)                       (A_h: pre-activation of h̃)
    ∂L/∂A_z = δ ⊙ (h̃ − h^{(t-1)}) ⊙ z ⊙ (1 − z)
    ∂L/∂(r⊙h) = U_h^T ∂L/∂A_h
    ∂L/∂A_r = ∂L/∂(r⊙h) ⊙ h^{(t-1)} ⊙ r ⊙ (1 − r)
    ∂L/∂h^{(t-1)} += δ ⊙ (1 − z) + ∂L/∂(r⊙h) ⊙ r + U_rz^T [∂L/∂A_r; ∂L/∂A_z]

cuDNN form (torch.nn.GRU; b holds b_i* + b_h* for r and z and b_in for n, b_hn apart):

    r = σ(W_r x + b_r + U_r h),  z = σ(W_z x + b_z + U_z h)
    n = tanh(W_h x + b_h + r ⊙ (U_h h + b_hn)),  h^{(t)} = (1 − z) ⊙ n + z ⊙ h^{(t-1)}

whose backward needs ONE product per step: with G = U h + [0; 0; b_hn],

    ∂L/∂G = δ ⊙ [(1−z)(1−n²) G_n r(1−r);  (h^{(t-1)} − n) z(1−z);  (1−z)(1−n²) r]
    ∂L/∂h^{(t-1)} = δ ⊙ z + U^T ∂L/∂G

All factors that do not depend on δ are computed for all steps at once before the backward loop,
so each step does only a handful of operations. Padding: z is replaced by z ⊙ m (lecture) or
z ⊙ m + 1 − m (cuDNN), which carries the state through a padded step exactly and, because
z'(1 − z') = m z (1 − z) for m ∈ {0, 1}, zeroes every gate gradient there.
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


class LectureGRUSequence(torch.autograd.Function):
    """The lecture GRU over one sequence direction: (x, h0, W, U, b, m) -> (out (B,T,H), h_T (B,H))."""

    @staticmethod
    def forward(ctx, x, h0, W, U, b, m):
        B, T, _ = x.shape
        H = U.shape[1]
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 3H)
        U_rz_t, U_h_t = U[: 2 * H].t(), U[2 * H :].t()  # (H, 2H), (H, H)
        RZ = x.new_empty(T, B, 2 * H)  # r | z (z masked)
        RH = x.new_empty(T, B, H)  # r ⊙ h^{(t-1)}
        HT = x.new_empty(T, B, H)  # h̃
        HS = x.new_empty(T + 1, B, H)  # h^{(0)} ... h^{(T)}
        HS[0] = h0
        for t in range(T):
            h, rz = HS[t], RZ[t]
            torch.addmm(A_x[t, :, : 2 * H], h, U_rz_t, out=rz)
            rz.sigmoid_()
            if m is not None:
                rz[:, H:].mul_(m[t])
            torch.mul(rz[:, :H], h, out=RH[t])
            torch.addmm(A_x[t, :, 2 * H :], RH[t], U_h_t, out=HT[t])
            HT[t].tanh_()
            torch.lerp(h, HT[t], rz[:, H:], out=HS[t + 1])
        ctx.save_for_backward(X, W, U, HS, RZ, RH, HT, m)
        ctx.has_bias = b is not None
        return batch_first_output(HS[1:], m), HS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        X, W, U, HS, RZ, RH, HT, m = ctx.saved_tensors
        T, B, H = HT.shape
        H2 = 2 * H
        DH = time_major_grad(grad_out, m, T, B, H, HT)
        add_state_grad(DH[T - 1], grad_hT)
        H_prev, r, z = HS[:-1], RZ[..., :H], RZ[..., H:]
        # δ-independent factors for all steps at once.
        P = HT.new_empty(T, B, 2, H)  # [(h̃ − h) z(1−z); z(1 − h̃²)]
        torch.mul(HT - H_prev, z * (1 - z), out=P[:, :, 0])
        torch.mul(z, 1 - HT * HT, out=P[:, :, 1])
        PR = H_prev * r * (1 - r)  # (T, B, H)
        OMZ = 1 - z  # (T, B, H)
        U_rz, U_h = U[:H2], U[H2:]
        DA = HT.new_empty(T, B, 3 * H)  # ∂L/∂A for r | z | h
        d_rh = HT.new_empty(B, H)
        for t in range(T - 1, -1, -1):
            dh, dA = DH[t], DA[t]
            torch.mul(dh.unsqueeze(1), P[t], out=dA[:, H:].view(B, 2, H))
            torch.mm(dA[:, H2:], U_h, out=d_rh)
            torch.mul(d_rh, PR[t], out=dA[:, :H])
            if t > 0:
                dh_prev = DH[t - 1]
            else:
                dh_prev = torch.zeros_like(dh)
            dh_prev.addcmul_(dh, OMZ[t]).addcmul_(d_rh, r[t]).addmm_(dA[:, :H2], U_rz)
        need_x, need_h0, need_W, need_U, need_b = ctx.needs_input_grad[:5]
        dU = None
        if need_U:
            DA2 = DA.view(T * B, 3 * H)  # (T·B, 3H)
            dU = U.new_empty(U.shape)
            torch.mm(DA2[:, :H2].t(), H_prev.reshape(T * B, H), out=dU[:H2])
            torch.mm(DA2[:, H2:].t(), RH.view(T * B, H), out=dU[H2:])
        dx, dW, db = input_and_weight_grads(DA, X, W, B, (need_x, need_W, need_b and ctx.has_bias))
        return dx, (dh_prev if need_h0 else None), dW, dU, db, None


class CudnnGRUSequence(torch.autograd.Function):
    """torch.nn.GRU's equations over one direction: (x, h0, W, U, b, b_hn, m, 1−m) -> (out, h_T)."""

    @staticmethod
    def forward(ctx, x, h0, W, U, b, b_hn, m, omm):
        B, T, _ = x.shape
        H = U.shape[1]
        H2 = 2 * H
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 3H)
        U_t = U.t()  # (H, 3H)
        b_h = None if b_hn is None else torch.cat([b_hn.new_zeros(H2), b_hn])  # (3H)
        G = x.new_empty(T, B, 3 * H)  # U h + [0; 0; b_hn]
        RZ = x.new_empty(T, B, H2)  # r | z (z masked)
        N = x.new_empty(T, B, H)  # n
        HS = x.new_empty(T + 1, B, H)
        HS[0] = h0
        for t in range(T):
            h, g, rz = HS[t], G[t], RZ[t]
            if b_h is None:
                torch.mm(h, U_t, out=g)
            else:
                torch.addmm(b_h, h, U_t, out=g)
            torch.add(A_x[t, :, :H2], g[:, :H2], out=rz)
            rz.sigmoid_()
            if m is not None:
                rz[:, H:].mul_(m[t]).add_(omm[t])
            torch.addcmul(A_x[t, :, H2:], rz[:, :H], g[:, H2:], out=N[t])
            N[t].tanh_()
            torch.lerp(N[t], h, rz[:, H:], out=HS[t + 1])
        ctx.save_for_backward(X, W, U, HS, RZ, N, G, m)
        ctx.has_bias = (b is not None, b_hn is not None)
        return batch_first_output(HS[1:], m), HS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        X, W, U, HS, RZ, N, G, m = ctx.saved_tensors
        T, B, H = N.shape
        H2 = 2 * H
        DH = time_major_grad(grad_out, m, T, B, H, N)
        add_state_grad(DH[T - 1], grad_hT)
        H_prev, r, z, G_n = HS[:-1], RZ[..., :H], RZ[..., H:], G[..., H2:]
        P1 = (1 - z) * (1 - N * N)  # ∂h/∂A_n (T, B, H)
        P = N.new_empty(T, B, 3, H)  # ∂h/∂G for r | z | n
        torch.mul(P1 * G_n, r * (1 - r), out=P[:, :, 0])
        torch.mul(H_prev - N, z * (1 - z), out=P[:, :, 1])
        torch.mul(P1, r, out=P[:, :, 2])
        DG = N.new_empty(T, B, 3 * H)
        for t in range(T - 1, -1, -1):
            dh = DH[t]
            torch.mul(dh.unsqueeze(1), P[t], out=DG[t].view(B, 3, H))
            dh_prev = DH[t - 1] if t > 0 else torch.zeros_like(dh)
            dh_prev.addcmul_(dh, z[t]).addmm_(DG[t], U)
        need_x, need_h0, need_W, need_U, need_b, need_bhn = ctx.needs_input_grad[:6]
        DG2 = DG.view(T * B, 3 * H)  # (T·B, 3H)
        dU = torch.mm(DG2.t(), H_prev.reshape(T * B, H)) if need_U else None
        db_hn = DG2[:, H2:].sum(0) if need_bhn and ctx.has_bias[1] else None
        # The input projection's gradient differs from ∂L/∂G only in the n block: ∂L/∂A_n = δ P1.
        torch.mul(DH, P1, out=DG[..., H2:])
        dx, dW, db = input_and_weight_grads(DG, X, W, B, (need_x, need_W, need_b and ctx.has_bias[0]))
        return dx, (dh_prev if need_h0 else None), dW, dU, db, db_hn, None, None
