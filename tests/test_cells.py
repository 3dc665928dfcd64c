"""The readable cells against the lecture's equations written out here, and the layer's basic contract."""

import pytest
import torch

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell, make_cell
from rnnkit.layers import Recurrent, reverse_padded


def test_lecture_gru_is_the_four_equations():
    torch.manual_seed(1)
    cell = GRUCell(4, 3).double()
    x, h = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    p = dict(cell.named_parameters())
    r = torch.sigmoid(h @ p["U_r"].T + x @ p["W_r"].T + p["b_r"])
    z = torch.sigmoid(h @ p["U_z"].T + x @ p["W_z"].T + p["b_z"])
    h_tilde = torch.tanh((r * h) @ p["U_h"].T + x @ p["W_h"].T + p["b_h"])
    expected = (1 - z) * h + z * h_tilde
    torch.testing.assert_close(cell(x, h), expected, rtol=0, atol=1e-14)


def test_elman_is_the_lecture_equation_with_output():
    torch.manual_seed(2)
    cell = ElmanCell(4, 3, nonlinearity="relu", output_size=5).double()
    x, h = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    h_new = cell(x, h)
    torch.testing.assert_close(h_new, torch.relu(h @ cell.W_hh.T + x @ cell.W_xh.T + cell.b))
    assert cell.output(h_new).shape == (2, 5)


def test_lstm_cell_matches_torch_lstm_cell():
    torch.manual_seed(3)
    ours, theirs = LSTMCell(4, 3), torch.nn.LSTMCell(4, 3)
    with torch.no_grad():
        for i, g in enumerate(ours.gates):
            getattr(ours, f"W_{g}").copy_(theirs.weight_ih[i * 3:(i + 1) * 3])
            getattr(ours, f"U_{g}").copy_(theirs.weight_hh[i * 3:(i + 1) * 3])
            getattr(ours, f"b_{g}").copy_(theirs.bias_ih[i * 3:(i + 1) * 3] + theirs.bias_hh[i * 3:(i + 1) * 3])
    x, h, c = torch.randn(2, 4), torch.randn(2, 3), torch.randn(2, 3)
    for a, b in zip(ours(x, (h, c)), theirs(x, (h, c)), strict=True):
        torch.testing.assert_close(a, b)


def test_initialisation_bounds_and_orthogonal_option():
    cell = make_cell("gru", 8, 16)
    assert all(p.abs().max() <= 16 ** -0.5 for p in cell.parameters())
    ortho = make_cell("elman", 8, 16, init="orthogonal")
    torch.testing.assert_close(ortho.W_hh @ ortho.W_hh.T, torch.eye(16), atol=1e-5, rtol=0)


def test_reverse_padded_keeps_padding_at_the_end():
    x = torch.tensor([[1.0, 2, 3], [4, 5, 0]])[..., None]
    assert reverse_padded(x, torch.tensor([3, 2]))[..., 0].tolist() == [[3, 2, 1], [5, 4, 0]]


@pytest.mark.parametrize("cell", ["elman", "gru", "lstm"])
def test_padded_sequence_gives_what_it_gives_alone(cell):
    torch.manual_seed(4)
    layer = Recurrent(cell, 3, 4, num_layers=2, bidirectional=True, backend="autograd").double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    out, state = layer(x, lengths=torch.tensor([5, 3]))
    alone, alone_state = layer(x[1:, :3])
    torch.testing.assert_close(out[1, :3], alone[0])
    assert out[1, 3:].abs().max() == 0
    h, h_alone = (state[0], alone_state[0]) if cell == "lstm" else (state, alone_state)
    torch.testing.assert_close(h[:, 1], h_alone[:, 0])


def test_bad_input_names_expected_and_given_shape():
    layer = Recurrent("gru", 3, 4)
    with pytest.raises(ValueError, match=r"\(B, T, 3\), got \(2, 5, 7\)"):
        layer(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match="lengths must lie in"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([6, 1]))
    with pytest.raises(ValueError, match=r"shape \(1, 2, 4\), got \(1, 3, 4\)"):
        layer(torch.randn(2, 5, 3), state=torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="floating-point"):
        layer(torch.ones(2, 5, 3, dtype=torch.long))
