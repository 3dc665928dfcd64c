"""rnnkit's layer against torch.nn.GRU / LSTM / RNN with copied weights, and from_torch / to_torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.layers import Recurrent

BACKENDS = ["autograd", "bptt", "torch"]
MODULE_IDS = ["GRU", "LSTM", "RNN-tanh", "RNN-relu"]


def _modules():
    """(torch module, rnnkit cell name) pairs covering every formulation torch has."""
    return [
        (lambda **kw: nn.GRU(6, 5, **kw), "gru"),
        (lambda **kw: nn.LSTM(6, 5, **kw), "lstm"),
        (lambda **kw: nn.RNN(6, 5, **kw), "elman"),
        (lambda **kw: nn.RNN(6, 5, nonlinearity="relu", **kw), "elman"),
    ]


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_dd2418_gru_check(bidirectional, backend):
    """The DD2418 assignment's check: seed 100304343, input 5×3×10, nn.GRU(10, 20, batch_first=True).

    The weights are copied here by hand (not through interop), so the mapping itself is under test:
    the cudnn-form cell keeps b_hn apart and sums torch's two biases for r and z.
    """
    torch.manual_seed(100304343)
    x = torch.randn(5, 3, 10)
    theirs = nn.GRU(10, 20, batch_first=True, bidirectional=bidirectional)
    ours = Recurrent("gru", 10, 20, bidirectional=bidirectional, variant="cudnn", backend=backend)
    with torch.no_grad():
        for k, cell in enumerate(ours.cells):
            sfx = "_l0" + ("_reverse" if k else "")
            w_ih, w_hh = getattr(theirs, "weight_ih" + sfx), getattr(theirs, "weight_hh" + sfx)
            b_ih, b_hh = getattr(theirs, "bias_ih" + sfx), getattr(theirs, "bias_hh" + sfx)
            for j, gate in enumerate("rzh"):
                rows = slice(20 * j, 20 * (j + 1))
                getattr(cell, f"W_{gate}").copy_(w_ih[rows])
                getattr(cell, f"U_{gate}").copy_(w_hh[rows])
            cell.b_r.copy_(b_ih[:20] + b_hh[:20])
            cell.b_z.copy_(b_ih[20:40] + b_hh[20:40])
            cell.b_h.copy_(b_ih[40:])
            cell.b_hn.copy_(b_hh[40:])
    out, h = ours(x)
    out_t, h_t = theirs(x)
    assert out.shape == (5, 3, 20 * (2 if bidirectional else 1))
    torch.testing.assert_close(out, out_t, rtol=0, atol=1e-6)
    torch.testing.assert_close(h, h_t, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("make", "cell"), _modules(), ids=MODULE_IDS)
@pytest.mark.parametrize(("num_layers", "bidirectional", "bias"), [(1, False, True), (2, True, True),
                                                                    (3, True, False)])
@pytest.mark.parametrize("backend", BACKENDS)
def test_from_torch_matches_torch_with_lengths(make, cell, num_layers, bidirectional, bias, backend):
    torch.manual_seed(1)
    theirs = make(num_layers=num_layers, bidirectional=bidirectional, bias=bias, batch_first=True)
    ours = Recurrent.from_torch(theirs, backend=backend)
    assert (ours.cell, ours.num_layers, ours.bidirectional, ours.bias) == (cell, num_layers, bidirectional, bias)
    x, lengths = torch.randn(4, 7, 6), torch.tensor([7, 3, 5, 1])
    D = 2 if bidirectional else 1
    h0 = torch.randn(num_layers * D, 4, 5)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_t, final_t = theirs(packed, state)
    out_t, _ = pad_packed_sequence(out_t, batch_first=True, total_length=7)
    out, final = ours(x, state, lengths)
    torch.testing.assert_close(out, out_t, rtol=0, atol=1e-6)
    for a, b in zip(final if cell == "lstm" else (final,), final_t if cell == "lstm" else (final_t,),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("make", "cell"), _modules(), ids=MODULE_IDS)
def test_gradients_match_torch_in_float64(make, cell):
    torch.manual_seed(2)
    theirs = make(num_layers=2, bidirectional=True, batch_first=True).double()
    ours = Recurrent.from_torch(theirs, backend="bptt")
    x = torch.randn(3, 6, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 6, 10, dtype=torch.float64)
    g_ours = torch.autograd.grad((ours(x)[0] * w).sum(), [x, *ours.parameters()])
    g_theirs = torch.autograd.grad((theirs(x)[0] * w).sum(), [x, *theirs.parameters()])
    torch.testing.assert_close(g_ours[0], g_theirs[0], rtol=1e-10, atol=1e-12)
    # Map torch's weight gradients into the layer to compare them: the weight matrices copy over
    # one to one, and a summed bias's gradient equals each of torch's two.
    with torch.no_grad():
        for p, g in zip(theirs.parameters(), g_theirs[1:], strict=True):
            p.copy_(g)
    ours_grads = dict(zip([name for name, _ in ours.named_parameters()], g_ours[1:], strict=True))
    for name, mapped in Recurrent.from_torch(theirs).named_parameters():
        short = name.split(".")[-1]
        summed = short.startswith("b") and not (cell == "gru" and short in ("b_h", "b_hn"))
        torch.testing.assert_close(ours_grads[name], mapped / 2 if summed else mapped, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("make", "cell"), _modules(), ids=MODULE_IDS)
def test_to_torch_round_trip(make, cell):
    torch.manual_seed(3)
    layer = Recurrent.from_torch(make(num_layers=2, bidirectional=True, batch_first=True))
    back = layer.to_torch()
    assert back.batch_first and back.bidirectional and back.num_layers == 2
    x = torch.randn(2, 4, 6)
    torch.testing.assert_close(back(x)[0], layer(x)[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(Recurrent.from_torch(back)(x)[0], layer(x)[0], rtol=0, atol=1e-6)


def test_conversions_refuse_what_torch_lacks():
    with pytest.raises(ValueError, match="lecture"):
        Recurrent("gru", 3, 4).to_torch()
    with pytest.raises(ValueError, match="sigmoid"):
        Recurrent("elman", 3, 4, nonlinearity="sigmoid").to_torch()
    with pytest.raises(ValueError, match="proj_size"):
        Recurrent.from_torch(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError, match=r"nn\.GRU, nn\.LSTM or nn\.RNN"):
        Recurrent.from_torch(nn.Linear(3, 4))
