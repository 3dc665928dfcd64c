"""Ways of running one cell over a whole sequence (one layer, one direction).

- ``autograd``: the readable cell stepped through time and differentiated by autograd. The ground truth.
- ``bptt``: the hand-written backpropagation through time of :mod:`rnnkit.layers.bptt`, for every cell.
- ``torch``: torch's fused kernels (oneDNN on CPU, cuDNN on CUDA) fed with the cell's own parameters,
  for the formulations torch has: Elman tanh/relu, the cuDNN-form GRU and the LSTM.

``auto`` takes what measured fastest (benchmarks/recurrent_speed.py, BENCHMARKS.md, docs/core.md): on
CUDA torch's cuDNN kernel wherever torch has one; on the CPU oneDNN's LSTM, but ``bptt`` for the GRU and
the Elman RNN, whose torch CPU kernels are per-step compositions differentiated by autograd.

Every per-direction runner takes x (B, T, I), the initial state (h (B, H), or (h, c) for the LSTM) and
either nothing or the true ``lengths`` (B,) with the matching ``mask`` (B, T), and ``weights``: None, or
tensors to use instead of some of the cell's parameters, by name (weight dropout's dropped recurrent
matrices, sampled once per forward). It returns the outputs (B, T, H), zero at padded steps, and the state
after each sequence's last real step. torch's kernels run all layers and directions in one call instead
(:func:`run_torch_stack`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell, RecurrentCell
from rnnkit.layers.bptt import elman_sequence, gru_sequence, lstm_sequence

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
Weights = Mapping[str, torch.Tensor] | None  # replacements for some of a cell's parameters, by name


def run_autograd(
    cell: RecurrentCell, x: torch.Tensor, state: State, lengths: torch.Tensor | None, mask: torch.Tensor | None,
    weights: Weights = None,
) -> tuple[torch.Tensor, State]:
    """Step the readable cell through time. At padded steps the state is carried unchanged and the
    output is zero, so padding never reaches a state, an output or a gradient."""
    overrides = dict(weights or {})  # one dict for every step: the same dropped matrices throughout
    outputs = []
    for t in range(x.size(1)):
        new = torch.func.functional_call(cell, overrides, (x[:, t], state)) if overrides else cell(x[:, t], state)
        if mask is not None:
            keep = mask[:, t, None]  # (B, 1)
            new = (
                torch.where(keep, new, state)
                if cell.num_states == 1
                else tuple(torch.where(keep, n, s) for n, s in zip(new, state, strict=True))
            )
        h = new if cell.num_states == 1 else new[0]
        outputs.append(h if mask is None else h * keep)
        state = new
    return torch.stack(outputs, dim=1), state  # (B, T, H)


def torch_mode(cell: RecurrentCell) -> str | None:
    """The name of torch's fused kernel computing exactly this cell, or None if torch has none."""
    if isinstance(cell, LSTMCell):
        return "lstm"
    if isinstance(cell, GRUCell):
        return "gru" if cell.variant == "cudnn" else None
    if isinstance(cell, ElmanCell) and cell.nonlinearity in ("tanh", "relu"):
        return f"rnn_{cell.nonlinearity}"
    return None


def torch_weights(cell: RecurrentCell, weights: Weights = None) -> list[torch.Tensor]:
    """The cell's parameters in torch's flat order [W_ih, W_hh, b_ih, b_hh]: our one bias goes into
    b_ih and zeros into b_hh, except the cuDNN GRU's b_hn, which sits in b_hh's third block."""
    W, U, b = cell.stacked(weights)
    if b is None:
        return [W, U]
    if isinstance(cell, GRUCell):  # cudnn variant: b_hh = [0 | 0 | b_hn]
        H = cell.hidden_size
        return [W, U, b, torch.cat([b.new_zeros(2 * H), cell.b_hn])]
    return [W, U, b, torch.zeros_like(b)]


def run_torch_stack(
    cells: list[RecurrentCell], x: torch.Tensor, state: State, lengths: torch.Tensor | None, num_layers: int,
    bidirectional: bool, dropout: float, weights: list[Weights],
) -> tuple[torch.Tensor, State]:
    """Run a whole stack of cells (layer-major, forward then backward direction) in one call of torch's
    fused kernel, as nn.LSTM/nn.GRU/nn.RNN do: one call instead of L·D, and no reversal copies.

    state: (L·D, B, H), or (h, c) of that shape for the LSTM; weights: one entry per cell (None: its own parameters).
    Returns out (B, T, D·H) and the final state in the same layout.
    """
    cell = cells[0]
    mode = torch_mode(cell)
    if mode is None:
        raise ValueError(f"torch has no fused kernel for {cell!r}; use backend 'autograd' or 'bptt'")
    kernel = getattr(torch._VF, mode)
    flat = [w for c, cw in zip(cells, weights, strict=True) for w in torch_weights(c, cw)]
    # cuDNN can differentiate only its training path, so an eval-mode pass that needs gradients (dynamic
    # evaluation) takes that path too, without dropout, which belongs to training alone.
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or any(w.requires_grad for w in flat))
    args = (flat, cell.bias, num_layers, dropout if cell.training else 0.0, cell.training or needs_grad,
            bidirectional)
    with warnings.catch_warnings():
        # The cells keep their own W, U, b, so cuDNN gets separate tensors rather than nn.LSTM's one flat
        # buffer and copies them into one at each call: one copy of the weights per call, not per time
        # step. Its warning would otherwise print in every GPU run.
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
        if lengths is None:
            out, *final = kernel(x, state, *args, True)  # batch_first
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            order, inverse = packed.sorted_indices, packed.unsorted_indices
            state = (tuple(s.index_select(1, order) for s in state) if cell.num_states == 2
                     else state.index_select(1, order))
            data, *final = kernel(packed.data, packed.batch_sizes, state, *args)
            out, _ = pad_packed_sequence(
                PackedSequence(data, packed.batch_sizes, order, inverse), batch_first=True,
                total_length=x.size(1),
            )  # (B, T, D·H)
            final = [f.index_select(1, inverse) for f in final]
    return out, (final[0] if cell.num_states == 1 else (final[0], final[1]))


def run_bptt(
    cell: RecurrentCell, x: torch.Tensor, state: State, lengths: torch.Tensor | None, mask: torch.Tensor | None,
    weights: Weights = None,
) -> tuple[torch.Tensor, State]:
    """Run the hand-written BPTT kernel of the cell on its stacked weights."""
    W, U, b = cell.stacked(weights)
    if isinstance(cell, LSTMCell):
        out, h, c = lstm_sequence(x, state[0], state[1], W, U, b, mask)
        return out, (h, c)
    if isinstance(cell, GRUCell):
        b_hn = cell.b_hn if cell.variant == "cudnn" and cell.bias else None
        return gru_sequence(x, state, W, U, b, b_hn, cell.variant, mask)
    if isinstance(cell, ElmanCell):
        return elman_sequence(x, state, W, U, b, cell.nonlinearity, mask)
    raise ValueError(f"backend 'bptt' has no kernel for {cell!r}")


# The per-direction runners; "torch" runs the whole stack at once (run_torch_stack).
RUNNERS = {"autograd": run_autograd, "bptt": run_bptt}
BACKENDS = (*RUNNERS, "torch")


def choose_backend(cell: RecurrentCell, requested: str, device: torch.device | None = None) -> str:
    """The backend that runs ``cell`` on ``device``: the requested one, or for "auto" the fastest exact one."""
    if requested == "auto":
        mode = torch_mode(cell)
        on_cuda = device is not None and device.type == "cuda"
        return "torch" if mode is not None and (on_cuda or mode == "lstm") else "bptt"
    if requested not in BACKENDS:
        raise ValueError(f"backend must be 'auto' or one of {BACKENDS}, got {requested!r}")
    if requested == "torch" and torch_mode(cell) is None:
        raise ValueError(f"backend 'torch' has no kernel for {cell!r} (torch computes only the cudnn-form "
                         "GRU, the LSTM and Elman tanh/relu); use 'bptt', 'autograd' or 'auto'")
    return requested
