"""The gradient probe against gradients computed independently: explicit products of step Jacobians."""

import math

import pytest
import torch

from rnnkit.analysis.gradients import (
    GradientProfile,
    format_table,
    probe_at_init,
    probe_cell,
    probe_model,
    write_profiles,
)
from rnnkit.cells import make_cell
from rnnkit.models.longrange import LongRangeModel

B, T, I, H = 3, 7, 2, 4


def _setup(name: str, seed: int = 0):
    torch.manual_seed(seed)
    cell = make_cell(name, I, H).double()
    x = torch.randn(B, T, I, dtype=torch.float64)
    g = torch.randn(B, H, dtype=torch.float64)
    return cell, x, g


def _trajectory(cell, x):
    """States s(1) … s(T) of one example run from zero, each flattened to (S,)."""
    states, state = [], cell.init_state(1, x)
    for t in range(x.size(1)):
        state = cell(x[:, t], state)
        flat = torch.cat(state, dim=1) if isinstance(state, tuple) else state
        states.append(flat[0].detach())
    return states


def _step(cell, x_t):
    """s(t) ↦ s(t+1) for one example, on flat state vectors."""
    def f(s):
        state = tuple(s[None].chunk(2, dim=1)) if cell.num_states == 2 else s[None]
        new = cell(x_t[None], state)
        return (torch.cat(new, dim=1) if isinstance(new, tuple) else new)[0]
    return f


def test_elman_probe_equals_the_lectures_product_of_jacobians():
    """∂L/∂h(t) = (W_hhᵀ diag(1 − h(t+1)²)) … ∂L/∂h(T), with the Elman Jacobians written out by hand."""
    cell, x, g = _setup("elman")
    profile = probe_cell(cell, x, directions=g)
    expected = torch.zeros(T, dtype=torch.float64)
    sigma = torch.zeros(T - 1, dtype=torch.float64)
    for b in range(B):
        h = _trajectory(cell, x[b : b + 1])  # h(1) … h(T)
        grad = g[b].clone()  # ∂L/∂h(T)
        expected[T - 1] += grad.norm() / B
        for t in range(T - 2, -1, -1):  # 0-based: h[t+1] = tanh(W_xh x + W_hh h[t] + b)
            J = torch.diag(1 - h[t + 1] ** 2) @ cell.W_hh.detach()  # ∂h(t+2)/∂h(t+1), 1-based
            grad = J.T @ grad
            expected[t] += grad.norm() / B
            sigma[t] += torch.linalg.matrix_norm(J, ord=2) / B
    assert profile.grad_norms == pytest.approx(expected.tolist(), rel=1e-10)
    assert profile.hidden_grad_norms == pytest.approx(expected.tolist(), rel=1e-10)
    assert profile.jacobian_norms == pytest.approx(sigma.tolist(), rel=1e-8)


@pytest.mark.parametrize("name", ["gru", "lstm"])
def test_gated_probe_equals_product_of_autograd_jacobians(name):
    """For the GRU and the LSTM (state s = [h; c]) the chain rule over full step Jacobians, each from
    torch.autograd.functional.jacobian, gives the probe's norms and singular values."""
    cell, x, g = _setup(name, seed=1)
    profile = probe_cell(cell, x, directions=g)
    S = H * cell.num_states
    expected, expected_h = torch.zeros(T, dtype=torch.float64), torch.zeros(T, dtype=torch.float64)
    sigma = torch.zeros(T - 1, dtype=torch.float64)
    for b in range(B):
        s = _trajectory(cell, x[b : b + 1])
        jacobians = [torch.autograd.functional.jacobian(_step(cell, x[b, t + 1]), s[t]) for t in range(T - 1)]
        grads = [torch.cat([g[b], torch.zeros(S - H, dtype=torch.float64)])]  # ∂L/∂s(T) = [g; 0]
        for J in reversed(jacobians):
            grads.append(J.T @ grads[-1])  # ∂L/∂s(t) = ∂s(t+1)/∂s(t)ᵀ ∂L/∂s(t+1)
        for t, grad in enumerate(reversed(grads)):
            expected[t] += grad.norm() / B
            expected_h[t] += grad[:H].norm() / B
        for t, J in enumerate(jacobians):
            sigma[t] += torch.linalg.matrix_norm(J, ord=2) / B
    assert profile.grad_norms == pytest.approx(expected.tolist(), rel=1e-10)
    assert profile.hidden_grad_norms == pytest.approx(expected_h.tolist(), rel=1e-10)
    assert profile.jacobian_norms == pytest.approx(sigma.tolist(), rel=1e-8)
    if name == "lstm":  # the cell state carries gradient that h alone does not show
        assert profile.grad_norms[0] > profile.hidden_grad_norms[0]


def test_vanishing_distance_and_decay_are_read_off_the_norms():
    norms = [0.5**d for d in range(30)][::-1]  # t = 1 … 30, halving with every step back
    profile = GradientProfile("elman", "init", 30, 4, 2, norms, norms, [0.5] * 29, 2)
    assert profile.vanishing_distance() == 10  # 0.5^10 < 1e-3 <= 0.5^9
    assert profile.vanishing_distance(1e-9) is None  # 0.5^29 ≈ 1.9e-9 stays above
    assert profile.decay_per_step() == pytest.approx(0.5)
    assert "> 29" in format_table([profile], threshold=1e-9)


def test_probe_at_init_is_deterministic_and_shows_the_elman_rnn_vanishing(tmp_path):
    first = probe_at_init(length=40, hidden_size=16, batch_size=4, seed=3)
    second = probe_at_init(length=40, hidden_size=16, batch_size=4, seed=3)
    assert [p.grad_norms for p in first] == [p.grad_norms for p in second]
    elman = first[0]
    assert elman.cell == "elman" and elman.grad_norms[-1] == pytest.approx(1.0)
    assert elman.vanishing_distance() is not None and elman.decay_per_step() < 0.9
    rows = write_profiles(first, tmp_path / "g.json").read_text()
    assert '"vanishing_distance"' in rows and all(math.isfinite(n) for p in first for n in p.grad_norms)


def test_probe_model_finds_the_recurrent_layer():
    torch.manual_seed(0)
    model = LongRangeModel("lstm", input_size=2, hidden_size=6, output_size=1)
    profile = probe_model(model, length=9, batch_size=2)
    assert (profile.cell, profile.length, profile.hidden_size) == ("lstm", 9, 6)
    with pytest.raises(ValueError, match="no rnnkit Recurrent"):
        probe_model(torch.nn.Linear(2, 2))
