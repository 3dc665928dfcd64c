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
    batch_first_output,
    input_and_weight_grads,
    output_grads,
    project_inputs,
    weight_grad,
)


class LectureGRUSequence(torch.autograd.Function):
    """The lecture GRU over one sequence direction: (x, h0, W, U, b, m) -> (out (B,T,H), h_T (B,H))."""

    @staticmethod
    def forward(ctx, x, h0, W, U, b, m):
        B, T, _ = x.shape
        H = U.shape[1]
        H2 = 2 * H
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 3H)
        # Contiguous right operands: small products h U^T measure ~1.5x faster than with a transposed view.
        U_rz_t, U_h_t = U[:H2].t().contiguous(), U[H2:].t().contiguous()  # (H, 2H), (H, H)
        RZ = x.new_empty(T, B, H2)  # r | z (z masked)
        RH = x.new_empty(T, B, H)  # r ⊙ h^{(t-1)}
        HT = x.new_empty(T, B, H)  # h̃
        HS = x.new_empty(T + 1, B, H)  # h^{(0)} ... h^{(T)}
        HS[0] = h0
        # Per-step views made once: indexing inside the loop costs more than the small ops.
        A_rz, A_h = A_x[..., :H2].unbind(0), A_x[..., H2:].unbind(0)
        rzs, rs, zs = RZ.unbind(0), RZ[..., :H].unbind(0), RZ[..., H:].unbind(0)
        rhs, h_tildes, hs = RH.unbind(0), HT.unbind(0), HS.unbind(0)
        ms = None if m is None else m.unbind(0)
        for t in range(T):
            h, z, h_tilde = hs[t], zs[t], h_tildes[t]
            torch.addmm(A_rz[t], h, U_rz_t, out=rzs[t]).sigmoid_()
            if ms is not None:
                z.mul_(ms[t])
            torch.mul(rs[t], h, out=rhs[t])
            torch.addmm(A_h[t], rhs[t], U_h_t, out=h_tilde).tanh_()
            torch.lerp(h, h_tilde, z, out=hs[t + 1])
        ctx.save_for_backward(X, W, U, HS, RZ, RH, HT, m)
        ctx.has_bias = b is not None
        return batch_first_output(HS[1:], m), HS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        X, W, U, HS, RZ, RH, HT, m = ctx.saved_tensors
        T, B, H = HT.shape
        H2 = 2 * H
        U_rz, U_h = U[:H2], U[H2:]
        DA = HT.new_empty(T, B, 3 * H)  # ∂L/∂A for r | z | h
        dA_r, dA_z, dA_h, dA_rz = (DA[..., :H].unbind(0), DA[..., H:H2].unbind(0),
                                   DA[..., H2:].unbind(0), DA[..., :H2].unbind(0))
        rs, zs, h_tildes, hs = RZ[..., :H].unbind(0), RZ[..., H:].unbind(0), HT.unbind(0), HS.unbind(0)
        # The factors are formed step by step from cache-resident slices: that measures faster than
        # whole-sequence passes over (T, B, H) tensors.
        dh, dh_z, tmp, d_rh = (HT.new_empty(B, H) for _ in range(4))
        next_grad = output_grads(grad_out, grad_hT, m, dh)
        for t in range(T - 1, -1, -1):
            r, z, h_tilde, h = rs[t], zs[t], h_tildes[t], hs[t]
            torch.mul(dh, z, out=dh_z)  # δ z
            torch.mul(h_tilde, h_tilde, out=tmp)
            torch.addcmul(dh_z, dh_z, tmp, value=-1, out=dA_h[t])  # δ z (1 − h̃²)
            torch.sub(h_tilde, h, out=tmp).mul_(dh_z)  # δ z (h̃ − h)
            torch.addcmul(tmp, tmp, z, value=-1, out=dA_z[t])  # δ z (1 − z)(h̃ − h)
            torch.mm(dA_h[t], U_h, out=d_rh)  # ∂L/∂(r ⊙ h)
            torch.mul(d_rh, h, out=tmp).mul_(r)
            torch.addcmul(tmp, tmp, r, value=-1, out=dA_r[t])  # ∂L/∂(r⊙h) h r (1 − r)
            # δ^{(t-1)} = δ (1 − z) + ∂L/∂(r⊙h) r + U_rz^T ∂L/∂A_rz (+ the output's gradient at t − 1)
            dh.sub_(dh_z).addcmul_(d_rh, r).addmm_(dA_rz[t], U_rz)
            next_grad(t - 1)
        need_x, need_h0, need_W, need_U, need_b = ctx.needs_input_grad[:5]
        dU = None
        if need_U:  # U_r, U_z act on h^{(t-1)}, U_h on r ⊙ h^{(t-1)}
            dU = torch.cat([weight_grad(DA[..., :H2], HS[:-1]), weight_grad(DA[..., H2:], RH)])  # (3H, H)
        dx, dW, db = input_and_weight_grads(DA, X, W, B, (need_x, need_W, need_b and ctx.has_bias))
        return dx, (dh if need_h0 else None), dW, dU, db, None


class CudnnGRUSequence(torch.autograd.Function):
    """torch.nn.GRU's equations over one direction: (x, h0, W, U, b, b_hn, m, 1−m) -> (out, h_T)."""

    @staticmethod
    def forward(ctx, x, h0, W, U, b, b_hn, m, omm):
        B, T, _ = x.shape
        H = U.shape[1]
        H2 = 2 * H
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 3H)
        U_t = U.t().contiguous()  # (H, 3H), contiguous: see the lecture form
        b_h = None if b_hn is None else torch.cat([b_hn.new_zeros(H2), b_hn])  # (3H)
        G = x.new_empty(T, B, 3 * H)  # U h + [0; 0; b_hn]
        RZ = x.new_empty(T, B, H2)  # r | z (z masked)
        N = x.new_empty(T, B, H)  # n
        HS = x.new_empty(T + 1, B, H)
        HS[0] = h0
        A_rz, A_n = A_x[..., :H2].unbind(0), A_x[..., H2:].unbind(0)
        gs, g_rz, g_n = G.unbind(0), G[..., :H2].unbind(0), G[..., H2:].unbind(0)
        rzs, rs, zs = RZ.unbind(0), RZ[..., :H].unbind(0), RZ[..., H:].unbind(0)
        ns, hs = N.unbind(0), HS.unbind(0)
        ms = None if m is None else (m.unbind(0), omm.unbind(0))
        for t in range(T):
            h, z, n = hs[t], zs[t], ns[t]
            if b_h is None:
                torch.mm(h, U_t, out=gs[t])
            else:
                torch.addmm(b_h, h, U_t, out=gs[t])
            torch.add(A_rz[t], g_rz[t], out=rzs[t]).sigmoid_()
            if ms is not None:
                z.mul_(ms[0][t]).add_(ms[1][t])  # z m + 1 − m: a padded step keeps h
            torch.addcmul(A_n[t], rs[t], g_n[t], out=n).tanh_()
            torch.lerp(n, h, z, out=hs[t + 1])
        ctx.save_for_backward(X, W, U, HS, RZ, N, G, m)
        ctx.has_bias = (b is not None, b_hn is not None)
        return batch_first_output(HS[1:], m), HS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT):
        X, W, U, HS, RZ, N, G, m = ctx.saved_tensors
        T, B, H = N.shape
        H2 = 2 * H
        DG = N.new_empty(T, B, 3 * H)  # ∂L/∂G for r | z | n, G = U h + [0; 0; b_hn]
        DA_n = N.new_empty(T, B, H)  # ∂L/∂A_n, the n block of the input projection's gradient
        dgs, dg_r, dg_z, dg_n = (DG.unbind(0), DG[..., :H].unbind(0), DG[..., H:H2].unbind(0),
                                 DG[..., H2:].unbind(0))
        rs, zs, ns, hs, g_n, da_n = (RZ[..., :H].unbind(0), RZ[..., H:].unbind(0), N.unbind(0),
                                     HS.unbind(0), G[..., H2:].unbind(0), DA_n.unbind(0))
        dh, tmp = N.new_empty(B, H), N.new_empty(B, H)
        next_grad = output_grads(grad_out, grad_hT, m, dh)
        for t in range(T - 1, -1, -1):
            r, z, n, h = rs[t], zs[t], ns[t], hs[t]
            torch.sub(h, n, out=tmp).mul_(dh)  # δ (h − n)
            torch.addcmul(tmp, tmp, z, value=-1, out=dg_z[t]).mul_(z)  # δ (h − n) z (1 − z)
            torch.addcmul(dh, dh, z, value=-1, out=tmp)  # δ (1 − z)
            torch.mul(n, n, out=da_n[t])
            torch.addcmul(tmp, tmp, da_n[t], value=-1, out=da_n[t])  # δ (1 − z)(1 − n²) = ∂L/∂A_n
            torch.mul(da_n[t], r, out=dg_n[t])  # ∂L/∂G_n
            torch.mul(da_n[t], g_n[t], out=tmp).mul_(r)
            torch.addcmul(tmp, tmp, r, value=-1, out=dg_r[t])  # ∂L/∂A_n G_n r (1 − r)
            dh.mul_(z).addmm_(dgs[t], U)  # δ^{(t-1)} = δ z + U^T ∂L/∂G
            next_grad(t - 1)
        need_x, need_h0, need_W, need_U, need_b, need_bhn = ctx.needs_input_grad[:6]
        dU = weight_grad(DG, HS[:-1]) if need_U else None
        db_hn = DG[..., H2:].sum((0, 1)) if need_bhn and ctx.has_bias[1] else None
        # The input projection's gradient differs from ∂L/∂G only in the n block.
        DG[..., H2:] = DA_n
        dx, dW, db = input_and_weight_grads(DG, X, W, B, (need_x, need_W, need_b and ctx.has_bias[0]))
        return dx, (dh if need_h0 else None), dW, dU, db, db_hn, None, None
