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
    batch_first_output,
    input_and_weight_grads,
    output_grads,
    project_inputs,
    weight_grad,
)


class LSTMSequence(torch.autograd.Function):
    """LSTM over one direction: (x, h0, c0, W, U, b, m, 1−m) -> (out (B,T,H), h_T (B,H), c_T (B,H))."""

    @staticmethod
    def forward(ctx, x, h0, c0, W, U, b, m, omm):
        B, T, _ = x.shape
        H = U.shape[1]
        X, A_x = project_inputs(x, W, b)  # X (T·B, I), A_x (T, B, 4H)
        U_t = U.t().contiguous()  # (H, 4H); a contiguous right operand measures ~1.5x faster in small products
        G = x.new_empty(T, B, 4 * H)  # i | f | g | o
        CS = x.new_empty(T + 1, B, H)  # c^{(0)} ... c^{(T)}
        HS = x.new_empty(T + 1, B, H)  # h^{(0)} ... h^{(T)}
        TC = x.new_empty(T, B, H)  # tanh(c^{(t)}) before padding is applied
        CS[0], HS[0] = c0, h0
        # Per-step views made once: indexing inside the loop costs more than the small ops.
        a_x, gs, cs, hs, tcs = A_x.unbind(0), G.unbind(0), CS.unbind(0), HS.unbind(0), TC.unbind(0)
        g_if, i_, f_, g_, o_ = (G[..., : 2 * H].unbind(0), G[..., :H].unbind(0), G[..., H : 2 * H].unbind(0),
                                G[..., 2 * H : 3 * H].unbind(0), G[..., 3 * H :].unbind(0))
        if m is None:
            c_new, h_new, ms = cs[1:], hs[1:], None
        else:  # the new state is formed apart, then blended with the old one by m
            c_new, h_new, ms = x.new_empty(T, B, H).unbind(0), x.new_empty(T, B, H).unbind(0), m.unbind(0)
        for t in range(T):
            torch.addmm(a_x[t], hs[t], U_t, out=gs[t])
            g_if[t].sigmoid_()
            g_[t].tanh_()
            o_[t].sigmoid_()
            torch.mul(f_[t], cs[t], out=c_new[t]).addcmul_(i_[t], g_[t])
            torch.mul(o_[t], torch.tanh(c_new[t], out=tcs[t]), out=h_new[t])
            if ms is not None:
                torch.lerp(cs[t], c_new[t], ms[t], out=cs[t + 1])
                torch.lerp(hs[t], h_new[t], ms[t], out=hs[t + 1])
        ctx.save_for_backward(X, W, U, HS, CS, G, TC, m, omm)
        ctx.has_bias = b is not None
        return batch_first_output(HS[1:], m), HS[T].clone(), CS[T].clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hT, grad_cT):
        X, W, U, HS, CS, G, TC, m, omm = ctx.saved_tensors
        T, B, H = TC.shape
        H3 = 3 * H
        DA = TC.new_empty(T, B, 4 * H)  # ∂L/∂A for i | f | g | o
        das, da_i, da_f, da_g, da_o = (DA.unbind(0), DA[..., :H].unbind(0), DA[..., H : 2 * H].unbind(0),
                                       DA[..., 2 * H : H3].unbind(0), DA[..., H3:].unbind(0))
        i_, f_, g_, o_ = (G[..., :H].unbind(0), G[..., H : 2 * H].unbind(0), G[..., 2 * H : H3].unbind(0),
                          G[..., H3:].unbind(0))
        cs, tcs = CS.unbind(0), TC.unbind(0)
        ms = None if m is None else (m.unbind(0), omm.unbind(0))
        dh, tmp, dh_o = TC.new_empty(B, H), TC.new_empty(B, H), TC.new_empty(B, H)
        dh_m, dc_m = (TC.new_empty(B, H), TC.new_empty(B, H)) if ms is not None else (dh, None)
        dc = TC.new_zeros(B, H) if grad_cT is None else grad_cT.clone()  # γ = ∂L/∂c^{(t)}
        next_grad = output_grads(grad_out, grad_hT, m, dh)
        for t in range(T - 1, -1, -1):
            i, f, g, o, tc = i_[t], f_[t], g_[t], o_[t], tcs[t]
            if ms is not None:  # a padded step (m = 0) has no path from δ or γ to c^{(t)} or the gates
                torch.mul(dh, ms[0][t], out=dh_m)
            torch.mul(dh_m, o, out=dh_o)  # δ o
            torch.mul(tc, tc, out=tmp)
            dc.add_(dh_o).addcmul_(dh_o, tmp, value=-1)  # γ += δ o (1 − tanh² c)
            dc_g = dc if ms is None else torch.mul(dc, ms[0][t], out=dc_m)
            torch.mul(dh_m, tc, out=tmp).mul_(o)
            torch.addcmul(tmp, tmp, o, value=-1, out=da_o[t])  # δ tanh(c) o (1 − o)
            torch.mul(dc_g, g, out=tmp).mul_(i)
            torch.addcmul(tmp, tmp, i, value=-1, out=da_i[t])  # γ g i (1 − i)
            torch.mul(dc_g, cs[t], out=tmp).mul_(f)
            torch.addcmul(tmp, tmp, f, value=-1, out=da_f[t])  # γ c^{(t-1)} f (1 − f)
            torch.mul(dc_g, i, out=tmp)
            torch.mul(g, g, out=da_g[t])
            torch.addcmul(tmp, tmp, da_g[t], value=-1, out=da_g[t])  # γ i (1 − g²)
            if ms is None:
                dc.mul_(f)  # ∂L/∂c^{(t-1)} = γ f
                torch.mm(das[t], U, out=dh)
            else:  # a padded step passes γ and δ on unchanged
                dc.mul_(torch.addcmul(ms[1][t], f, ms[0][t], out=tmp))
                dh.mul_(ms[1][t]).addmm_(das[t], U)
            next_grad(t - 1)
        need_x, need_h0, need_c0, need_W, need_U, need_b = ctx.needs_input_grad[:6]
        dU = weight_grad(DA, HS[:-1]) if need_U else None
        dx, dW, db = input_and_weight_grads(DA, X, W, B, (need_x, need_W, need_b and ctx.has_bias))
        return (dx, (dh if need_h0 else None), (dc if need_c0 else None), dW, dU, db, None, None)
