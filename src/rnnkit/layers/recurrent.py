"""``Recurrent``: any rnnkit cell run over time, with layers, two directions and variable lengths."""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.cells import make_cell
from rnnkit.checks import check_dropout, check_sizes
from rnnkit.layers.backends import RUNNERS, State, Weights, choose_backend, run_torch_stack


def locked_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Dropout with one mask per sequence: the same features of x (B, T, F) are dropped at every time step,
    x · m / (1 − p) with m (B, 1, F) ~ Bernoulli(1 − p) (variational dropout, Gal & Ghahramani 2016;
    AWD-LSTM's locked dropout). Outside training, or for p = 0, x itself."""
    if not training or p == 0:
        return x
    return x * x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p).div_(1 - p)


def sequence_dropout(x: torch.Tensor, p: float, training: bool, locked: bool) -> torch.Tensor:
    """Dropout on x (B, T, F): one mask per sequence with ``locked`` (:func:`locked_dropout`), else one per
    element (``nn.functional.dropout``)."""
    return locked_dropout(x, p, training) if locked else nn.functional.dropout(x, p, training)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each sequence of x (B, T, ...) within its own length; padding stays at the end.

    With lengths [3, 2], rows [a b c] and [d e _] become [c b a] and [e d _].
    """
    T = x.size(1)
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(T, device=x.device)  # (T,)
    lengths = lengths.to(x.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)  # (B, T, ...)
    return x.gather(1, index)


class Recurrent(nn.Module):
    r"""A multi-layer, optionally bidirectional recurrent layer built from any rnnkit cell.

    Layer l runs its cell over the outputs of layer l−1 (the input x for l = 0). A bidirectional layer
    also runs a second cell over each sequence reversed within its own length and concatenates the two
    outputs: :math:`h^{(t)} = [\overrightarrow{h}^{(t)}; \overleftarrow{h}^{(t)}]`.

    Args:
        cell: "elman", "gru" or "lstm". Default "gru".
        input_size: I, the size of x(t).
        hidden_size: H, the size of each direction's state.
        num_layers: L, stacked layers. Default 1.
        bidirectional: add a right-to-left direction (D = 2). Default False.
        dropout: dropout on the outputs of every layer but the last, in training. Default 0.0.
        weight_dropout: DropConnect on the recurrent matrices in training (Wan et al. 2013; the weight-dropped
            LSTM of Merity et al. 2018): every element of each U (the Elman cell's W_hh) is zeroed with this
            probability, the rest scaled by 1/(1 − p), with one mask per forward call shared by all time
            steps, so the same dropped U carries h(t−1) to h(t) throughout a sequence. Default 0.0.
        locked_dropout: ``dropout`` with one mask per sequence (:func:`locked_dropout`): the same units of a
            layer's output are dropped at every time step, rather than a fresh mask at each. Default False.
        variant: the GRU's form, "lecture" or "cudnn". Default "lecture".
        nonlinearity: the Elman cell's g. Default "tanh".
        bias: learn biases. Default True.
        init: "uniform" or "orthogonal" (recurrent matrices). Default "uniform".
        backend: "auto" (the fastest exact path for the device: on CUDA "torch" where it exists,
            on the CPU "torch" for the LSTM, else "bptt"), "autograd"
            (the readable cells stepped by autograd, the ground truth), "bptt" (hand-written BPTT,
            every cell) or "torch" (torch's fused kernels; only where the math is identical: the
            cudnn-form GRU, the LSTM, Elman tanh/relu). Default "auto".

    Inputs: x, state=None, lengths=None
        x: (B, T, I), batch first.
        state: the initial state, h_0 (L·D, B, H), or (h_0, c_0) for the LSTM; zeros if None.
        lengths: (B,) true lengths, 1 ≤ length ≤ T, for a right-padded batch; None if all are T.

    Outputs: out, state
        out: (B, T, D·H), the last layer's outputs, zero at padded steps.
        state: h_n (L·D, B, H) (or (h_n, c_n)), each direction's state after its last real step,
            ordered as torch does: layer 0 forward, layer 0 backward, layer 1 forward, ...

    Attributes:
        cells: the L·D cells, in the same order as the state; ``cells[k].W_xh`` etc.
        backend_used: the backend of the last forward.

    Example:
        >>> layer = Recurrent("lstm", input_size=10, hidden_size=20, num_layers=2, bidirectional=True)
        >>> out, (h, c) = layer(torch.randn(3, 5, 10), lengths=torch.tensor([5, 2, 4]))
        >>> out.shape, h.shape
        (torch.Size([3, 5, 40]), torch.Size([4, 3, 20]))
    """

    def __init__(
        self,
        cell: str = "gru",
        input_size: int = 1,
        hidden_size: int = 1,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        weight_dropout: float = 0.0,
        locked_dropout: bool = False,
        variant: str = "lecture",
        nonlinearity: str = "tanh",
        bias: bool = True,
        init: str = "uniform",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        check_sizes(num_layers=num_layers)
        check_dropout(dropout)
        check_dropout(weight_dropout, "weight_dropout")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.weight_dropout = weight_dropout
        self.locked_dropout = locked_dropout
        self.variant = variant
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.init = init
        self.backend = backend
        self.num_directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            make_cell(cell, input_size if layer == 0 else hidden_size * self.num_directions, hidden_size,
                      variant=variant, nonlinearity=nonlinearity, bias=bias, init=init)
            for layer in range(num_layers)
            for _ in range(self.num_directions)
        )
        choose_backend(self.cells[0], backend)  # fail now, not at the first forward
        self.backend_used: str | None = None

    # The constructor's arguments, in order: what get_config saves and extra_repr shows.
    SETTINGS = ("cell", "input_size", "hidden_size", "num_layers", "bidirectional", "dropout", "weight_dropout",
                "locked_dropout", "variant", "nonlinearity", "bias", "init", "backend")

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in self.SETTINGS}

    @classmethod
    def from_config(cls, config: dict) -> Recurrent:
        return cls(**config)

    @classmethod
    def from_torch(cls, module: nn.RNNBase, backend: str = "auto") -> Recurrent:
        """The layer computing exactly what an nn.GRU (-> variant "cudnn"), nn.LSTM or nn.RNN computes."""
        from rnnkit.layers.interop import from_torch  # interop builds a Recurrent: import here, not above

        return from_torch(module, backend)

    def to_torch(self) -> nn.RNNBase:
        """The nn.GRU / nn.LSTM / nn.RNN (batch_first=True) with this layer's weights; ValueError for the
        formulations torch lacks (the lecture GRU, Elman sigmoid/identity)."""
        from rnnkit.layers.interop import to_torch

        return to_torch(self)

    @property
    def output_size(self) -> int:
        """D·H, the size of each output vector."""
        return self.hidden_size * self.num_directions

    def _check(self, x: torch.Tensor, state: State | None, lengths: torch.Tensor | None) -> None:
        """Raise a ValueError naming the expected and the given shape for any malformed input."""
        if not torch.is_floating_point(x):
            raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() != 3 or x.size(2) != self.input_size:
            raise ValueError(f"x must have shape (B, T, {self.input_size}), got {tuple(x.shape)}")
        B, T = x.shape[:2]
        if T == 0:
            raise ValueError(f"x must have at least one time step, got shape {tuple(x.shape)}")
        if lengths is not None:
            if lengths.shape != (B,) or torch.is_floating_point(lengths):
                raise ValueError(f"lengths must be an integer tensor of shape ({B},), got "
                                 f"{lengths.dtype} {tuple(lengths.shape)}")
            if int(lengths.min()) < 1 or int(lengths.max()) > T:
                raise ValueError(f"lengths must lie in [1, {T}], got min {int(lengths.min())} "
                                 f"and max {int(lengths.max())}")
        if state is not None:
            expected = (self.num_layers * self.num_directions, B, self.hidden_size)
            parts = state if isinstance(state, tuple) else (state,)
            if len(parts) != self.cells[0].num_states:
                raise ValueError(f"state must be {'(h_0, c_0)' if self.cell == 'lstm' else 'h_0'} for a "
                                 f"{self.cell} layer, got {len(parts)} tensor(s)")
            for part in parts:
                if tuple(part.shape) != expected:
                    raise ValueError(f"initial state must have shape {expected}, got {tuple(part.shape)}")

    def _dropped_weights(self) -> list[Weights]:
        """Per cell, the recurrent matrices with weight dropout applied (one fresh mask each), or None
        outside training or without weight dropout."""
        if not (self.training and self.weight_dropout):
            return [None] * len(self.cells)
        return [{name: nn.functional.dropout(getattr(cell, name), self.weight_dropout)
                 for name in cell.recurrent_names()} for cell in self.cells]

    def forward(
        self, x: torch.Tensor, state: State | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        self._check(x, state, lengths)
        weights = self._dropped_weights()
        B, T = x.shape[:2]
        if lengths is not None and bool((lengths == T).all()):
            lengths = None  # nothing is padded: take the faster unmasked path
        mask = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            mask = torch.arange(T, device=x.device) < lengths[:, None]  # (B, T)
        if choose_backend(self.cells[0], self.backend, x.device) == "torch":
            self.backend_used = "torch"
            if state is None:
                zeros = x.new_zeros(self.num_layers * self.num_directions, B, self.hidden_size)
                state = zeros if self.cells[0].num_states == 1 else (zeros, zeros.clone())
            if self.locked_dropout and self.dropout and self.training and self.num_layers > 1:
                return self._torch_by_layer(x, state, lengths, weights)
            return run_torch_stack(list(self.cells), x, state, lengths, self.num_layers, self.bidirectional,
                                   self.dropout, weights)
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                cell = self.cells[k]
                self.backend_used = choose_backend(cell, self.backend, x.device)
                if state is None:
                    initial = cell.init_state(B, x)
                elif isinstance(state, tuple):
                    initial = tuple(s[k] for s in state)
                else:
                    initial = state[k]
                seq = layer_input if direction == 0 else reverse_padded(layer_input, lengths)
                out, final = RUNNERS[self.backend_used](cell, seq, initial, lengths, mask, weights[k])
                outputs.append(out if direction == 0 else reverse_padded(out, lengths))
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)  # (B, T, D·H)
            if self.dropout and layer < self.num_layers - 1:
                layer_input = sequence_dropout(layer_input, self.dropout, self.training, self.locked_dropout)
        if self.cells[0].num_states == 2:
            final_state = (torch.stack([f[0] for f in finals]), torch.stack([f[1] for f in finals]))
        else:
            final_state = torch.stack(finals)  # (L·D, B, H)
        return layer_input, final_state

    def _torch_by_layer(
        self, x: torch.Tensor, state: State, lengths: torch.Tensor | None, weights: list[Weights]
    ) -> tuple[torch.Tensor, State]:
        """The fused kernel one layer at a time, with a locked dropout mask between layers (torch's
        kernel draws a fresh mask per step)."""
        D, finals = self.num_directions, []
        for layer in range(self.num_layers):
            k = slice(layer * D, (layer + 1) * D)
            initial = tuple(s[k] for s in state) if isinstance(state, tuple) else state[k]
            x, final = run_torch_stack(list(self.cells[k]), x, initial, lengths, 1, self.bidirectional, 0.0,
                                       weights[k])
            finals.append(final if isinstance(final, tuple) else (final,))
            if layer < self.num_layers - 1:
                x = locked_dropout(x, self.dropout)
        parts = tuple(torch.cat(part) for part in zip(*finals, strict=True))  # (L·D, B, H) each
        return x, parts if len(parts) == 2 else parts[0]

    def extra_repr(self) -> str:
        defaults = Recurrent.__init__.__defaults__
        return ", ".join(f"{n}={getattr(self, n)!r}" for n, d in zip(self.SETTINGS, defaults, strict=True)
                         if getattr(self, n) != d)
