"""An RNN encoder–decoder for translation, with or without attention (lecture, "Translation").

The lecture's scheme: an encoder reads the source x^{(1)} … x^{(n)}; its final state h^{(n)} "(hopefully)
encodes" the sentence and is decoded into the target. "In practice, this scheme needs to be extended
(using attention information)": here the decoder also looks at every encoder state through an attention
module (Bahdanau et al. 2015; Luong et al. 2015, with input feeding). With ``NoAttention`` the decoder
sees the source only through its initial state, the lecture's first scheme.

Encoder (a bidirectional Recurrent layer, each direction H/2, so the states m_j have size H):

    m_j = [→h^{(j)}; ←h^{(j)}]                                  memory (B, S, H)
    s^{(0)} = tanh(W_b [→h^{(n)}; ←h^{(1)}] + b_b)              bridge, per layer (the LSTM's c: no tanh)

Decoder, at step t with the previous target token y^{(t−1)} (<bos> at t = 1):

    s^{(t)} = cell([E y^{(t−1)}; h̃^{(t−1)}], s^{(t−1)})          L stacked cells; input feeding of h̃
    c^{(t)}, α^{(t)} = attention(s^{(t)}, m)                    context (B, H) (or (B, 0)), weights (B, S)
    h̃^{(t)} = tanh(W_c [s^{(t)}; c^{(t)}])                      attentional state (B, H), h̃^{(0)} = 0
    logits^{(t)} = W_hy h̃^{(t)} + b_y                           (B, V)

Speed: the encoder runs on the layer's fastest exact backend (``auto``); the attention keys (W_k m_j) are
computed once per batch; each decoder step runs torch's one-step kernel on the cell's own weights
(flattened once per batch) where torch has one (GRU cudnn variant, LSTM, Elman), and the output layer
runs once over all steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnkit.cells import make_cell
from rnnkit.checks import check_dropout
from rnnkit.layers import Recurrent
from rnnkit.layers.backends import torch_mode, torch_weights
from rnnkit.models.attention import AdditiveAttention, attention_config, attention_from_config


@dataclass
class Memory:
    """What the decoder reads at every step: the encoder's states, precomputed keys and padding mask.

    ``weights`` holds each decoder cell's flattened weights for torch's one-step kernel (None where the
    cell has none), computed once per batch rather than once per step.
    """

    states: torch.Tensor  # (B, S, H)
    keys: torch.Tensor  # (B, S, A)
    mask: torch.Tensor  # (B, S) bool, True at real source positions
    weights: list

    def index_select(self, index: torch.Tensor) -> Memory:
        """The memory of the batch rows ``index`` (N,), e.g. each sentence repeated for its beams."""
        return Memory(self.states[index], self.keys[index], self.mask[index], self.weights)


def _cell_step(cell: nn.Module, weights: list | None, x: torch.Tensor, state):
    """One step of ``cell``: torch's fused kernel with the cell's weights, or the readable cell."""
    if weights is None:
        return cell(x, state)
    mode = torch_mode(cell)
    if mode == "lstm":
        return torch.lstm_cell(x, state, *weights)
    return getattr(torch, f"{mode}_cell")(x, state, *weights)


class Seq2Seq(nn.Module):
    """A bidirectional RNN encoder and an attentional RNN decoder that returns next-token logits.

    Args:
        src_vocab_size: V_src, source vocabulary size (id 0 is padding).
        tgt_vocab_size: V, target vocabulary size (id 0 is padding).
        embedding_size: E, the size of source and target embeddings (default 256).
        hidden_size: H, the decoder's state size and the size of the memory; each encoder direction has
            H/2, so H must be even (default 256).
        num_layers: L, encoder and decoder layers (default 1).
        cell: "elman", "gru" or "lstm" (default "gru").
        variant: the GRU's form, "cudnn" (fused kernels, default) or "lecture".
        dropout: on embeddings, between layers and before the output layer (default 0.2).
        attention: an attention module from :mod:`rnnkit.models.attention` built for query size H and
            memory size H (``NoAttention()`` for the plain encoder–decoder), or its ``attention_config``
            dict; default ``AdditiveAttention(H, H)``.

    Inputs: src (B, S) ids, src_lengths (B,), tgt_in (B, T) ids (<bos> y^{(1)} … y^{(T−1)}).
    Outputs: logits (B, T, V).

    Attributes: src_embedding (V_src, E), tgt_embedding (V, E), encoder (Recurrent), bridge_h (H, H),
        bridge_c (H, H, LSTM only), cells (L decoder cells), combine W_c (H, H + C), output W_hy (V, H),
        attention.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = Seq2Seq(11, 13, embedding_size=8, hidden_size=8)
        >>> logits = model(torch.randint(1, 11, (2, 5)), torch.tensor([5, 3]), torch.randint(1, 13, (2, 4)))
        >>> logits.shape
        torch.Size([2, 4, 13])
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        embedding_size: int = 256,
        hidden_size: int = 256,
        num_layers: int = 1,
        cell: str = "gru",
        variant: str = "cudnn",
        dropout: float = 0.2,
        attention: nn.Module | dict | None = None,
    ) -> None:
        super().__init__()
        if hidden_size < 2 or hidden_size % 2:
            raise ValueError(f"hidden_size must be even and >= 2 (two encoder directions), got {hidden_size}")
        check_dropout(dropout)
        self.src_vocab_size = src_vocab_size
        self.tgt_vocab_size = tgt_vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.variant = variant
        self.dropout = dropout
        if attention is None:
            attention = AdditiveAttention(hidden_size, hidden_size)
        elif isinstance(attention, dict):
            attention = attention_from_config(attention)
        self.attention = attention
        H, E = hidden_size, embedding_size
        self.src_embedding = nn.Embedding(src_vocab_size, E, padding_idx=0)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, E, padding_idx=0)
        self.encoder = Recurrent(cell, E, H // 2, num_layers, bidirectional=True, dropout=dropout, variant=variant)
        self.bridge_h = nn.Linear(H, H)
        self.bridge_c = nn.Linear(H, H) if cell == "lstm" else None
        self.cells = nn.ModuleList(
            make_cell(cell, E + H if layer == 0 else H, H, variant=variant) for layer in range(num_layers)
        )
        self.combine = nn.Linear(H + attention.context_size(), H, bias=False)
        self.output = nn.Linear(H, tgt_vocab_size)
        self.drop = nn.Dropout(dropout)

    def get_config(self) -> dict:
        names = ("src_vocab_size", "tgt_vocab_size", "embedding_size", "hidden_size", "num_layers", "cell",
                 "variant", "dropout")
        return {**{n: getattr(self, n) for n in names}, "attention": attention_config(self.attention)}

    @classmethod
    def from_config(cls, config: dict) -> Seq2Seq:
        return cls(**config)

    # ----- encoder -----
    def _bridge(self, final: torch.Tensor, linear: nn.Linear, squash: bool) -> list[torch.Tensor]:
        """Per layer, [→h^{(n)}; ←h^{(1)}] (B, H) through the bridge; final (L·2, B, H/2)."""
        L, B = self.num_layers, final.size(1)
        both = final.view(L, 2, B, -1).permute(0, 2, 1, 3).reshape(L, B, -1)  # (L, B, H)
        out = linear(both)  # (L, B, H)
        return list(torch.tanh(out) if squash else out)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[Memory, tuple[torch.Tensor, ...]]:
        """Run the encoder: the memory the decoder attends to and the decoder's initial state.

        The state is a flat tuple of (N, ·) tensors: each layer's h (and c for the LSTM), then h̃ (zeros).
        """
        lengths = src_lengths.to(src.device)
        states, final = self.encoder(self.drop(self.src_embedding(src)), lengths=lengths)  # (B, S, H)
        mask = torch.arange(src.size(1), device=src.device) < lengths[:, None]  # (B, S)
        if self.bridge_c is None:
            layers = [(h,) for h in self._bridge(final, self.bridge_h, True)]
        else:
            hs, cs = self._bridge(final[0], self.bridge_h, True), self._bridge(final[1], self.bridge_c, False)
            layers = list(zip(hs, cs, strict=True))
        feed = states.new_zeros(src.size(0), self.hidden_size)  # h̃^{(0)} (B, H)
        weights = [torch_weights(cell) if torch_mode(cell) else None for cell in self.cells]
        memory = Memory(states, self.attention.keys(states), mask, weights)
        return memory, (*[part for layer in layers for part in layer], feed)

    # ----- decoder -----
    def _advance(self, embedded: torch.Tensor, state: tuple, memory: Memory):
        """One decoder step from the embedded previous token (N, E), before the output layer:
        (h̃^{(t)} (N, H), new state, α^{(t)} (N, S))."""
        per_layer = 2 if self.cell == "lstm" else 1
        x = torch.cat([embedded, state[-1]], dim=1)  # (N, E + H), input feeding
        new_state = []
        for layer, cell in enumerate(self.cells):
            old = state[layer * per_layer : (layer + 1) * per_layer]
            new = _cell_step(cell, memory.weights[layer], x, old if per_layer == 2 else old[0])
            new = tuple(new) if per_layer == 2 else (new,)
            new_state.extend(new)
            x = self.drop(new[0]) if layer + 1 < self.num_layers else new[0]
        context, alpha = self.attention(x, memory.keys, memory.states, memory.mask)  # (N, C), (N, S)
        feed = torch.tanh(self.combine(torch.cat([x, context], dim=1)))  # (N, H)
        return feed, (*new_state, feed), alpha

    def step(self, ids: torch.Tensor, state: tuple, memory: Memory):
        """One decoder step: logits (N, V) for the token after ``ids`` (N,), the new state, α (N, S)."""
        feed, state, alpha = self._advance(self.drop(self.tgt_embedding(ids)), state, memory)
        return self.output(self.drop(feed)), state, alpha

    def decode(self, tgt_in: torch.Tensor, state: tuple, memory: Memory):
        """Teacher forcing over all of ``tgt_in`` (B, T): logits (B, T, V) and the weights α (B, T, S)."""
        feeds, alphas = [], []
        embedded = self.drop(self.tgt_embedding(tgt_in))  # (B, T, E), all steps at once
        for t in range(tgt_in.size(1)):
            feed, state, alpha = self._advance(embedded[:, t], state, memory)
            feeds.append(feed)
            alphas.append(alpha)
        hidden = torch.stack(feeds, dim=1)  # (B, T, H)
        return self.output(self.drop(hidden)), torch.stack(alphas, dim=1)  # (B, T, V), (B, T, S)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, state = self.encode(src, src_lengths)
        return self.decode(tgt_in, state, memory)[0]
