"""Moving weights between rnnkit's ``Recurrent`` and torch.nn.GRU / LSTM / RNN, exactly.

torch stores, for layer l and direction d (suffix "_reverse" for the backward one), the gate blocks
stacked along dim 0: ``weight_ih_l{l}`` (G·H, I), ``weight_hh_l{l}`` (G·H, H), ``bias_ih_l{l}`` and
``bias_hh_l{l}`` (G·H), gates r|z|n (GRU) or i|f|g|o (LSTM). rnnkit's cells hold the same blocks
under the lecture's names (W_r, U_r, ...), with ONE bias per gate: torch's two biases sum into it,
b_g = b_ig + b_hg. The exception is the GRU's b_hn, which sits inside r ⊙ (U_h h + b_hn) and so
cannot be summed with b_in; the cudnn-form GRUCell keeps it as b_hn. Going back, the summed bias
goes into bias_ih and bias_hh is zero (b_hn in its third block for the GRU): the same function.

Only the formulations torch has can move: nn.GRU <-> cell "gru" with variant "cudnn", nn.LSTM <->
"lstm" (without proj_size), nn.RNN <-> "elman" with tanh or relu.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.cells import GRUCell, RecurrentCell
from rnnkit.layers.recurrent import Recurrent

_CELL_OF = {nn.GRU: "gru", nn.LSTM: "lstm", nn.RNN: "elman"}


def from_torch(module: nn.RNNBase, backend: str = "auto") -> Recurrent:
    """A ``Recurrent`` computing exactly what ``module`` (nn.GRU, nn.LSTM or nn.RNN) computes.

    The layer is batch-first whatever ``module.batch_first`` says (rnnkit's convention); the weights,
    their dtype and device are copied from the module.
    """
    cell = _CELL_OF.get(type(module))
    if cell is None:
        raise ValueError(f"from_torch takes an nn.GRU, nn.LSTM or nn.RNN, got {type(module).__name__}")
    if getattr(module, "proj_size", 0):
        raise ValueError(f"an LSTM with proj_size={module.proj_size} has no rnnkit counterpart")
    layer = Recurrent(
        cell, module.input_size, module.hidden_size, num_layers=module.num_layers,
        bidirectional=module.bidirectional, dropout=module.dropout,
        variant="cudnn" if cell == "gru" else "lecture",
        nonlinearity=getattr(module, "nonlinearity", "tanh"), bias=module.bias, backend=backend,
    )
    first = next(module.parameters())
    layer.to(dtype=first.dtype, device=first.device)
    with torch.no_grad():
        for k, rnn_cell in enumerate(layer.cells):
            _load_cell(rnn_cell, _torch_blocks(module, k, layer.num_directions))
    return layer


def to_torch(layer: Recurrent) -> nn.RNNBase:
    """The nn.GRU / nn.LSTM / nn.RNN (batch_first=True) computing exactly what ``layer`` computes."""
    if layer.cell == "gru" and layer.variant != "cudnn":
        raise ValueError("torch has no lecture-form GRU; only variant='cudnn' converts to nn.GRU")
    if layer.cell == "elman" and layer.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nn.RNN has no nonlinearity {layer.nonlinearity!r}; only 'tanh' or 'relu' convert")
    kwargs = {"num_layers": layer.num_layers, "bias": layer.bias, "batch_first": True,
              "dropout": layer.dropout, "bidirectional": layer.bidirectional}
    if layer.cell == "gru":
        module = nn.GRU(layer.input_size, layer.hidden_size, **kwargs)
    elif layer.cell == "lstm":
        module = nn.LSTM(layer.input_size, layer.hidden_size, **kwargs)
    else:
        module = nn.RNN(layer.input_size, layer.hidden_size, nonlinearity=layer.nonlinearity, **kwargs)
    first = next(layer.parameters())
    module.to(dtype=first.dtype, device=first.device)
    with torch.no_grad():
        for k, cell in enumerate(layer.cells):
            names = _torch_names(k, layer.num_directions)
            W, U, b = cell.stacked()
            getattr(module, names[0]).copy_(W)
            getattr(module, names[1]).copy_(U)
            if b is not None:
                getattr(module, names[2]).copy_(b)
                b_hh = torch.zeros_like(b)
                if isinstance(cell, GRUCell):
                    b_hh[2 * cell.hidden_size :] = cell.b_hn
                getattr(module, names[3]).copy_(b_hh)
    module.flatten_parameters()
    return module


def _torch_names(k: int, num_directions: int) -> tuple[str, str, str, str]:
    """torch's parameter names for the k-th (layer-major, forward first) cell."""
    layer, direction = divmod(k, num_directions)
    suffix = f"l{layer}" + ("_reverse" if direction else "")
    return (f"weight_ih_{suffix}", f"weight_hh_{suffix}", f"bias_ih_{suffix}", f"bias_hh_{suffix}")


def _torch_blocks(module: nn.RNNBase, k: int, num_directions: int) -> list[torch.Tensor | None]:
    """[W_ih, W_hh, b_ih, b_hh] of the k-th cell of a torch module (biases None without bias)."""
    names = _torch_names(k, num_directions)
    return [getattr(module, name, None) for name in names]


def _load_cell(cell: RecurrentCell, blocks: list[torch.Tensor | None]) -> None:
    """Copy torch's stacked blocks into the cell's per-gate parameters (biases summed, see above)."""
    W_ih, W_hh, b_ih, b_hh = blocks
    H = cell.hidden_size
    if cell.gates == ("h",):  # Elman: one block named after the lecture's matrices
        cell.W_xh.copy_(W_ih)
        cell.W_hh.copy_(W_hh)
        if b_ih is not None:
            cell.b.copy_(b_ih + b_hh)
        return
    for j, gate in enumerate(cell.gates):
        rows = slice(j * H, (j + 1) * H)
        getattr(cell, f"W_{gate}").copy_(W_ih[rows])
        getattr(cell, f"U_{gate}").copy_(W_hh[rows])
        if b_ih is None:
            continue
        if isinstance(cell, GRUCell) and gate == "h":  # b_hn stays inside r ⊙ (U_h h + b_hn)
            cell.b_h.copy_(b_ih[rows])
            cell.b_hn.copy_(b_hh[rows])
        else:
            getattr(cell, f"b_{gate}").copy_(b_ih[rows] + b_hh[rows])
