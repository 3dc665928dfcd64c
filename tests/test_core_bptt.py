"""The hand-written BPTT kernels against step-by-step autograd transcriptions of their equations."""

from __future__ import annotations

import pytest
import torch

from rnnkit.layers.bptt import elman_sequence, gru_sequence, lstm_sequence

B, T, I, H = 3, 6, 4, 5
LENGTHS = torch.tensor([6, 2, 4])
DT = torch.float64


def _mask(padded: bool) -> torch.Tensor | None:
    return (torch.arange(T)[None] < LENGTHS[:, None]) if padded else None


def _carry(h_new, h, t, mask):
    """State after step t: h_new at real steps, h (unchanged) at padded ones."""
    return h_new if mask is None else torch.where(mask[:, t : t + 1], h_new, h)


def _out(h, t, mask):
    return h if mask is None else h * mask[:, t : t + 1]


def ref_elman(x, h0, W, U, b, g, mask):
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda a: a}[g]
    h, outs = h0, []
    for t in range(x.shape[1]):
        h = _carry(act(U @ h.T + W @ x[:, t].T + b[:, None]).T, h, t, mask)
        outs.append(_out(h, t, mask))
    return torch.stack(outs, 1), h


def ref_lecture_gru(x, h0, W, U, b, mask):
    """The lecture's four equations, one per line (with biases)."""
    W_r, W_z, W_h = W.chunk(3)
    U_r, U_z, U_h = U.chunk(3)
    b_r, b_z, b_h = b.chunk(3)
    h, outs = h0, []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        r = torch.sigmoid(h @ U_r.T + x_t @ W_r.T + b_r)
        z = torch.sigmoid(h @ U_z.T + x_t @ W_z.T + b_z)
        h_tilde = torch.tanh((r * h) @ U_h.T + x_t @ W_h.T + b_h)
        h = _carry((1 - z) * h + z * h_tilde, h, t, mask)
        outs.append(_out(h, t, mask))
    return torch.stack(outs, 1), h


def ref_cudnn_gru(x, h0, W, U, b, b_hn, mask):
    W_r, W_z, W_n = W.chunk(3)
    U_r, U_z, U_n = U.chunk(3)
    b_r, b_z, b_n = b.chunk(3)
    h, outs = h0, []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        r = torch.sigmoid(x_t @ W_r.T + b_r + h @ U_r.T)
        z = torch.sigmoid(x_t @ W_z.T + b_z + h @ U_z.T)
        n = torch.tanh(x_t @ W_n.T + b_n + r * (h @ U_n.T + b_hn))
        h = _carry((1 - z) * n + z * h, h, t, mask)
        outs.append(_out(h, t, mask))
    return torch.stack(outs, 1), h


def ref_lstm(x, h0, c0, W, U, b, mask):
    h, c, outs = h0, c0, []
    for t in range(x.shape[1]):
        a_i, a_f, a_g, a_o = (x[:, t] @ W.T + h @ U.T + b).chunk(4, dim=1)
        c_new = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h_new = torch.sigmoid(a_o) * torch.tanh(c_new)
        h, c = _carry(h_new, h, t, mask), _carry(c_new, c, t, mask)
        outs.append(_out(h, t, mask))
    return torch.stack(outs, 1), h, c


def _inputs(G, bias=True, extra_bias=False, lstm=False):
    gen = torch.Generator().manual_seed(7)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, dtype=DT) * scale).requires_grad_()

    args = [rnd(B, T, I), rnd(B, H)]
    if lstm:
        args.append(rnd(B, H))
    args += [rnd(G * H, I, scale=0.5), rnd(G * H, H, scale=0.5), rnd(G * H) if bias else None]
    if extra_bias:
        args.append(rnd(H))
    return args


def _compare(fast, ref, args, rtol=1e-10):
    """Outputs, final states and the gradients of every input agree to a relative error ≤ rtol."""
    gen = torch.Generator().manual_seed(11)
    ys_fast, ys_ref = fast(*args), ref(*args)
    weights = [torch.randn(y.shape, generator=gen, dtype=DT) for y in ys_ref]
    leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    g_fast = torch.autograd.grad(sum((y * w).sum() for y, w in zip(ys_fast, weights, strict=True)), leaves)
    g_ref = torch.autograd.grad(sum((y * w).sum() for y, w in zip(ys_ref, weights, strict=True)), leaves)
    for a, r in [*zip(ys_fast, ys_ref, strict=True), *zip(g_fast, g_ref, strict=True)]:
        assert a.shape == r.shape
        assert (a - r).norm() <= rtol * r.norm() + 1e-300


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("g", ["tanh", "relu", "sigmoid", "identity"])
@pytest.mark.parametrize("bias", [True, False])
def test_elman_matches_autograd(g, padded, bias):
    mask = _mask(padded)
    args = _inputs(1, bias=bias)

    def fast(*a):
        return elman_sequence(*a, nonlinearity=g, mask=mask)

    def ref(x, h0, W, U, b):
        return ref_elman(x, h0, W, U, torch.zeros(H, dtype=DT) if b is None else b, g, mask)

    _compare(fast, ref, args)


@pytest.mark.parametrize("padded", [False, True])
def test_lecture_gru_matches_the_lecture_equations(padded):
    mask = _mask(padded)
    args = _inputs(3)
    _compare(lambda *a: gru_sequence(*a, None, "lecture", mask), lambda *a: ref_lecture_gru(*a, mask), args)


def test_lecture_gru_without_bias():
    args = _inputs(3, bias=False)

    def ref(x, h0, W, U, b):
        return ref_lecture_gru(x, h0, W, U, torch.zeros(3 * H, dtype=DT), None)

    _compare(lambda *a: gru_sequence(*a, None, "lecture", None), ref, args)


@pytest.mark.parametrize("padded", [False, True])
def test_cudnn_gru_matches_autograd(padded):
    mask = _mask(padded)
    args = _inputs(3, extra_bias=True)
    _compare(lambda *a: gru_sequence(*a, "cudnn", mask), lambda *a: ref_cudnn_gru(*a, mask), args)


@pytest.mark.parametrize("padded", [False, True])
def test_lstm_matches_autograd(padded):
    mask = _mask(padded)
    args = _inputs(4, lstm=True)
    _compare(lambda *a: lstm_sequence(*a, mask=mask), lambda *a: ref_lstm(*a, mask), args)


def test_gradcheck_every_kernel():
    """torch.autograd.gradcheck (finite differences) on small sizes, padded."""
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    gen = torch.Generator().manual_seed(3)

    def rnd(*shape):
        return (torch.randn(*shape, generator=gen, dtype=DT) * 0.6).requires_grad_()

    b_, t_, i_, h_ = 2, 3, 2, 3
    x, h0, c0 = rnd(b_, t_, i_), rnd(b_, h_), rnd(b_, h_)
    for g in ("tanh", "sigmoid", "identity"):
        assert torch.autograd.gradcheck(
            lambda *a, g=g: elman_sequence(*a, nonlinearity=g, mask=mask),
            (x, h0, rnd(h_, i_), rnd(h_, h_), rnd(h_)))
    assert torch.autograd.gradcheck(lambda *a: gru_sequence(*a, None, "lecture", mask),
                                    (x, h0, rnd(3 * h_, i_), rnd(3 * h_, h_), rnd(3 * h_)))
    assert torch.autograd.gradcheck(lambda *a: gru_sequence(*a, "cudnn", mask),
                                    (x, h0, rnd(3 * h_, i_), rnd(3 * h_, h_), rnd(3 * h_), rnd(h_)))
    assert torch.autograd.gradcheck(lambda *a: lstm_sequence(*a, mask=mask),
                                    (x, h0, c0, rnd(4 * h_, i_), rnd(4 * h_, h_), rnd(4 * h_)))


def test_padding_sends_no_gradient_to_padded_inputs():
    x, h0, W, U, b = _inputs(3)
    mask = _mask(True)
    out, h_T = gru_sequence(x, h0, W, U, b, None, "lecture", mask)
    (out.sum() + h_T.sum()).backward()
    assert torch.all(out[~mask] == 0)
    assert torch.all(x.grad[~mask] == 0)
    assert torch.all(x.grad[mask].abs().sum(-1) > 0)


def test_float32_runs_and_agrees_with_float64():
    args64 = _inputs(4, lstm=True)
    args32 = [a.detach().float().requires_grad_() for a in args64]
    out64 = lstm_sequence(*args64)[0]
    out32 = lstm_sequence(*args32)[0]
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), out64, atol=1e-5)


def test_unknown_variant_and_nonlinearity_are_refused():
    x, h0, W, U, b = _inputs(3)
    with pytest.raises(ValueError, match="variant"):
        gru_sequence(x, h0, W, U, b, None, "paper")
    with pytest.raises(ValueError, match="b_hn"):
        gru_sequence(x, h0, W, U, b, torch.zeros(H, dtype=DT), "lecture")
    with pytest.raises(ValueError, match="nonlinearity"):
        elman_sequence(x, h0, W[:H], U[:H], None, "softplus")
