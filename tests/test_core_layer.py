"""The Recurrent layer: every fast backend against the readable cells under autograd, directions,
padding, bad input, and the documented parameter shapes."""

from __future__ import annotations

import re

import pytest
import torch

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell
from rnnkit.layers import Recurrent, locked_dropout, reverse_padded
from rnnkit.layers.backends import choose_backend

DT = torch.float64
B, T, I, H = 3, 5, 4, 3
LENGTHS = torch.tensor([5, 2, 4])

# (cell, variant, nonlinearity) for every formulation rnnkit has.
FORMS = [("elman", "lecture", g) for g in ("tanh", "relu", "sigmoid", "identity")] + [
    ("gru", "lecture", "tanh"), ("gru", "cudnn", "tanh"), ("lstm", "lecture", "tanh")]
HAS_TORCH_KERNEL = {("elman", "tanh"), ("elman", "relu"), ("gru", "cudnn"), ("lstm", "lecture")}


def _layer(cell, variant, g, num_layers=1, bidirectional=False, backend="autograd", seed=0):
    torch.manual_seed(seed)
    return Recurrent(cell, I, H, num_layers=num_layers, bidirectional=bidirectional, variant=variant,
                     nonlinearity=g, backend=backend).to(DT)


def _run(layer, backend, x, state, lengths):
    """Outputs, final state and the gradients of x, the initial state and every parameter."""
    layer.backend = backend
    gen = torch.Generator().manual_seed(5)
    out, final = layer(x, state, lengths)
    finals = final if isinstance(final, tuple) else (final,)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=DT)).sum()
    loss = loss + sum((f * torch.randn(f.shape, generator=gen, dtype=DT)).sum() for f in finals)
    states = state if isinstance(state, tuple) else (state,)
    grads = torch.autograd.grad(loss, [x, *states, *layer.parameters()])
    return [out, *finals, *grads]


def _rel_err(a, b):
    return float((a - b).detach().norm() / b.detach().norm().clamp_min(1e-300))


@pytest.mark.parametrize(("cell", "variant", "g"), FORMS, ids=lambda v: str(v))
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (1, True), (2, True), (3, False)])
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
def test_fast_backends_match_autograd(cell, variant, g, num_layers, bidirectional, padded):
    layer = _layer(cell, variant, g, num_layers, bidirectional)
    D = 2 if bidirectional else 1
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    h0 = torch.randn(num_layers * D, B, H, dtype=DT, requires_grad=True)
    state = (h0, torch.randn_like(h0).requires_grad_()) if cell == "lstm" else h0
    lengths = LENGTHS if padded else None
    expected = _run(layer, "autograd", x, state, lengths)
    backends = ["bptt", "auto"] + (["torch"] if (cell, g if cell == "elman" else variant) in HAS_TORCH_KERNEL
                                   else [])
    for backend in backends:
        got = _run(layer, backend, x, state, lengths)
        for k, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert a.shape == b.shape
            assert _rel_err(a, b) <= 1e-10, f"{backend}: tensor {k} differs by {_rel_err(a, b):.1e}"


@pytest.mark.parametrize(("cell", "variant", "g"), [f for f in FORMS if f[1] == "cudnn" or f[2] in ("tanh", "relu")],
                         ids=lambda v: str(v))
@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
def test_float32_kernels_match_the_float64_ground_truth(cell, variant, g, padded):
    # Training runs in float32, where torch's CPU LSTM is oneDNN's kernel, a path float64 never takes; the
    # kernels that training really uses must agree with the readable cells to float32's precision.
    num_layers, Bf, Tf = 2, 4, 30
    layer64 = _layer(cell, variant, g, num_layers, bidirectional=True)
    layer32 = _layer(cell, variant, g, num_layers, bidirectional=True).float()
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(Bf, Tf, I, generator=gen, dtype=DT, requires_grad=True)
    h0 = torch.randn(2 * num_layers, Bf, H, generator=gen, dtype=DT, requires_grad=True)
    state = (h0, torch.randn(h0.shape, generator=gen, dtype=DT).requires_grad_()) if cell == "lstm" else h0
    lengths = torch.tensor([30, 7, 19, 30]) if padded else None
    expected = _run(layer64, "autograd", x, state, lengths)
    x32 = x.detach().float().requires_grad_()
    state32 = (tuple(s.detach().float().requires_grad_() for s in state) if cell == "lstm"
               else state.detach().float().requires_grad_())
    has_kernel = (cell, g if cell == "elman" else variant) in HAS_TORCH_KERNEL
    for backend in ["bptt", "auto"] + (["torch"] if has_kernel else []):
        got = _run(layer32, backend, x32, state32, lengths)
        for k, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert a.dtype == torch.float32
            assert _rel_err(a.double(), b) <= 2e-5, f"{backend}: tensor {k} differs by {_rel_err(a.double(), b):.1e}"


@pytest.mark.parametrize(("cell", "variant", "g"), FORMS, ids=lambda v: str(v))
def test_auto_backend_is_visible_and_overridable(cell, variant, g):
    layer = _layer(cell, variant, g, backend="auto")
    layer(torch.randn(2, 3, I, dtype=DT))
    # On the CPU only oneDNN's LSTM beats the hand-written BPTT (BENCHMARKS.md).
    assert layer.backend_used == ("torch" if cell == "lstm" else "bptt")
    layer.backend = "autograd"
    layer(torch.randn(2, 3, I, dtype=DT))
    assert layer.backend_used == "autograd"


@pytest.mark.parametrize(("cell", "variant", "g"), FORMS, ids=lambda v: str(v))
def test_auto_backend_on_cuda_takes_cudnn_wherever_torch_has_the_cell(cell, variant, g):
    layer = _layer(cell, variant, g)
    has_kernel = (cell, g if cell == "elman" else variant) in HAS_TORCH_KERNEL
    assert choose_backend(layer.cells[0], "auto", torch.device("cuda")) == ("torch" if has_kernel else "bptt")


def test_torch_backend_refuses_the_lecture_gru():
    with pytest.raises(ValueError, match=r"no kernel for GRUCell.*cudnn-form GRU"):
        Recurrent("gru", I, H, backend="torch")
    with pytest.raises(ValueError, match="backend must be"):
        Recurrent("gru", I, H, backend="cuda")


@pytest.mark.parametrize(("cell", "variant", "g"), [f for f in FORMS if f[2] in ("tanh", "sigmoid")])
@pytest.mark.parametrize("backend", ["bptt", "auto"])
def test_backward_direction_is_the_forward_cell_on_reversed_sequences(cell, variant, g, backend):
    bi = _layer(cell, variant, g, bidirectional=True, backend=backend)
    uni = _layer(cell, variant, g, backend=backend)
    uni.cells[0].load_state_dict(bi.cells[1].state_dict())
    x = torch.randn(B, T, I, dtype=DT)
    out, final = bi(x, lengths=LENGTHS)
    rev_out, rev_final = uni(reverse_padded(x, LENGTHS), lengths=LENGTHS)
    torch.testing.assert_close(out[..., H:], reverse_padded(rev_out, LENGTHS), rtol=1e-12, atol=1e-12)
    h, rev_h = (final[0], rev_final[0]) if cell == "lstm" else (final, rev_final)
    torch.testing.assert_close(h[1], rev_h[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cell", "variant", "g"), FORMS, ids=lambda v: str(v))
@pytest.mark.parametrize("backend", ["bptt", "auto"])
def test_padded_sequence_gives_what_it_gives_alone(cell, variant, g, backend):
    layer = _layer(cell, variant, g, num_layers=2, bidirectional=True, backend=backend)
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    out, final = layer(x, lengths=LENGTHS)
    grad_x, = torch.autograd.grad(out[1].sum(), x)
    alone = x[1:2, :2].detach().requires_grad_()
    out_alone, final_alone = layer(alone)
    grad_alone, = torch.autograd.grad(out_alone.sum(), alone)
    torch.testing.assert_close(out[1:2, :2], out_alone, rtol=1e-12, atol=1e-12)
    assert torch.all(out[1, 2:] == 0)
    h, h_alone = (final[0], final_alone[0]) if cell == "lstm" else (final, final_alone)
    torch.testing.assert_close(h[:, 1], h_alone[:, 0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad_x[1:2, :2], grad_alone, rtol=1e-12, atol=1e-12)
    assert torch.all(grad_x[1, 2:] == 0) and torch.all(grad_x[[0, 2]] == 0)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bad_input_names_expected_and_given_shape(cell):
    layer = Recurrent(cell, I, H, num_layers=2)
    x = torch.randn(B, T, I)
    cases = [
        ((torch.randn(B, I),), {}, rf"\(B, T, {I}\), got \({B}, {I}\)"),
        ((torch.randn(B, T, I + 1),), {}, rf"\(B, T, {I}\), got \({B}, {T}, {I + 1}\)"),
        ((torch.ones(B, T, I, dtype=torch.long),), {}, "floating-point.*int64"),
        ((x,), {"lengths": torch.tensor([T + 1, 1, 1])}, rf"\[1, {T}\], got min 1 and max {T + 1}"),
        ((x,), {"lengths": torch.tensor([0, 1, 1])}, rf"\[1, {T}\], got min 0"),
        ((x,), {"lengths": torch.tensor([1, 2])}, rf"shape \({B},\), got .*\(2,\)"),
    ]
    bad_h = torch.zeros(2, B + 1, H)
    cases.append(((x, (bad_h, bad_h) if cell == "lstm" else bad_h), {},
                  rf"shape \(2, {B}, {H}\), got \(2, {B + 1}, {H}\)"))
    cases.append(((x, torch.zeros(2, B, H) if cell == "lstm" else (torch.zeros(2, B, H),) * 2), {},
                  "state must be"))
    for args, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            layer(*args, **kwargs)


def _documented_shapes(cls) -> dict[str, tuple[str, bool]]:
    """{parameter name: (shape text, optional)} from the "Attributes:" section of a cell's docstring."""
    section = cls.__doc__.split("Attributes:")[1].split("Example")[0]
    documented = {}
    for names, shape, note in re.findall(r"((?:\w+, )*\w+): \(([^)]*)\)([^.]*)\.", section):
        for name in names.split(", "):
            documented[name] = (shape, "only" in note)
    return documented


@pytest.mark.parametrize("make", [
    lambda: ElmanCell(3, 5), lambda: ElmanCell(3, 5, output_size=7), lambda: GRUCell(3, 5),
    lambda: GRUCell(3, 5, variant="cudnn"), lambda: LSTMCell(3, 5)])
def test_documented_parameter_shapes_match_named_parameters(make):
    cell = make()
    sizes = {"I": 3, "H": 5, "O": 7}
    documented = _documented_shapes(type(cell))
    actual = dict(cell.named_parameters())
    assert set(actual) <= set(documented), f"undocumented: {set(actual) - set(documented)}"
    for name, (shape, optional) in documented.items():
        if name not in actual:
            assert optional, f"{name} is documented but {cell!r} has no such parameter"
            continue
        expected = tuple(sizes[s.strip()] for s in shape.split(","))
        assert tuple(actual[name].shape) == expected, name


@pytest.mark.parametrize(("cell", "variant", "g"), FORMS, ids=lambda v: str(v))
def test_weight_dropout_is_one_mask_per_forward_on_every_backend(cell, variant, g):
    """With weight dropout, every backend computes the layer whose recurrent matrices are the dropped ones,
    the same dropped matrix at every time step: rebuilt by hand from the same random numbers, a layer
    without weight dropout gives the same outputs, final state and gradients."""
    p = 0.5
    layer = _layer(cell, variant, g, num_layers=2, bidirectional=True)
    layer.weight_dropout = p
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    h0 = torch.randn(4, B, H, dtype=DT, requires_grad=True)
    state = (h0, torch.randn_like(h0).requires_grad_()) if cell == "lstm" else h0
    # Expected: the same masks drawn in the layer's order, applied to a copy's weights by hand.
    torch.manual_seed(3)
    masks = [{n: torch.nn.functional.dropout(torch.ones_like(getattr(c, n)), p) for n in c.recurrent_names()}
             for c in layer.cells]
    by_hand = _layer(cell, variant, g, num_layers=2, bidirectional=True)
    with torch.no_grad():
        for c, m in zip(by_hand.cells, masks, strict=True):
            for n, mask in m.items():
                getattr(c, n).mul_(mask)
    expected = _run(by_hand, "autograd", x, state, LENGTHS)[: 3 + (cell == "lstm")]  # outputs, state, ∂x
    backends = ["autograd", "bptt"] + (["torch"] if (cell, g if cell == "elman" else variant) in HAS_TORCH_KERNEL
                                       else [])
    for backend in backends:
        torch.manual_seed(3)
        got = _run(layer, backend, x, state, LENGTHS)[: len(expected)]
        for k, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert _rel_err(a, b) <= 1e-10, f"{backend}: tensor {k} differs by {_rel_err(a, b):.1e}"


def test_weight_dropout_acts_in_training_only_and_is_checked():
    layer = _layer("lstm", "lecture", "tanh")
    x = torch.randn(B, T, I, dtype=DT)
    plain = layer.eval()(x)[0]
    layer.weight_dropout = 0.5
    assert torch.equal(layer(x)[0], plain)  # eval: the full matrices
    layer.train()
    assert not torch.allclose(layer(x)[0], plain)
    assert all(not p.grad_fn for p in layer.parameters())  # the parameters themselves are never changed
    assert Recurrent.from_config(layer.get_config()).weight_dropout == 0.5
    with pytest.raises(ValueError, match=r"weight_dropout must be in \[0, 1\), got 1.0"):
        Recurrent("gru", I, H, weight_dropout=1.0)


def test_locked_dropout_keeps_one_mask_over_the_time_steps():
    torch.manual_seed(0)
    x = torch.ones(4, 7, 6, dtype=DT)
    out = locked_dropout(x, 0.5)
    assert set(out.unique().tolist()) == {0.0, 2.0}  # dropped or scaled by 1 / (1 − p)
    assert torch.equal(out, out[:, :1].expand_as(out))  # the same features dropped at every step
    assert not torch.equal(out[0], out[1]) or not torch.equal(out[1], out[2])  # a mask per sequence
    assert locked_dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize(("cell", "variant", "g"), [f for f in FORMS if f[2] in ("tanh", "relu")],
                         ids=lambda v: str(v))
def test_locked_dropout_between_layers_is_the_same_on_every_backend(cell, variant, g):
    """Between layers, every backend draws the same per-sequence masks (the fused kernel then runs one layer at
    a time); with a fresh mask per step instead, the outputs differ."""
    layer = _layer(cell, variant, g, num_layers=3, bidirectional=True)
    layer.dropout, layer.locked_dropout = 0.5, True
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    h0 = torch.randn(6, B, H, dtype=DT, requires_grad=True)
    state = (h0, torch.randn_like(h0).requires_grad_()) if cell == "lstm" else h0
    torch.manual_seed(3)
    expected = _run(layer, "autograd", x, state, LENGTHS)
    backends = ["bptt"] + (["torch"] if (cell, g if cell == "elman" else variant) in HAS_TORCH_KERNEL else [])
    for backend in backends:
        torch.manual_seed(3)
        got = _run(layer, backend, x, state, LENGTHS)
        for k, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert _rel_err(a, b) <= 1e-10, f"{backend}: tensor {k} differs by {_rel_err(a, b):.1e}"
    layer.locked_dropout = False
    torch.manual_seed(3)
    assert _rel_err(_run(layer, "autograd", x, state, LENGTHS)[0], expected[0]) > 1e-3
    assert Recurrent.from_config({**layer.get_config(), "locked_dropout": True}).locked_dropout
