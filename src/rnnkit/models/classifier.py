"""A bidirectional recurrent sequence classifier: embeddings → Bi-RNN → read-out → class logits.

The lecture ("Bi-directional RNNs"): for sentiment analysis, "only look at the 2 final hidden states of
the 2 RNNs". With the forward RNN's last state →h^{(n)} (it has read the whole sentence left to right)
and the backward RNN's last state ←h^{(1)} (read right to left):

    r = [→h^{(n)} ; ←h^{(1)}]                     (2·H, :class:`FinalStates`, the default read-out)
    s = W_hy r + b_y                              (C class logits)

Other read-outs pool the outputs h^{(t)} = [→h^{(t)} ; ←h^{(t)}] of every step t = 1 … n:

    mean:       r = (1/n) Σ_t h^{(t)}
    max:        r_i = max_t h^{(t)}_i
    attention:  a_t = softmax_t(v^T tanh(W h^{(t)})),  r = Σ_t a_t h^{(t)}   (Bahdanau et al. 2015; Yang et al. 2016)

Each read-out is a module passed to the classifier (``pooling=MeanPool()``), never a flag.

With ``lm_features`` (frozen character LMs, :mod:`rnnkit.models.char_lm_features`) the Bi-RNN reads
x_t = [E w_t ; z_t] instead of E w_t: each word's vector also holds the LMs' states at that word; with
``lm_projection`` P, x_t = [E w_t ; W_z z_t + b_z].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from rnnkit.checks import check_dropout, check_sizes
from rnnkit.models.char_lm_features import CharLMFeatures, context_layer
from rnnkit.models.parts import bidirectional_rnn, build_part, part_config


def _mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    return torch.arange(T, device=lengths.device) < lengths[:, None]  # (B, T)


class FinalStates(nn.Module):
    """r = [→h^{(n)} ; ←h^{(1)}], the last layer's two final states (the lecture's read-out)."""

    def get_config(self) -> dict:
        return {}

    def forward(self, out: torch.Tensor, final: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.cat([final[0], final[1]], dim=1)  # (2, B, H) → (B, 2·H)


class MeanPool(nn.Module):
    """r = the mean of h^{(t)} over the n real steps."""

    def get_config(self) -> dict:
        return {}

    def forward(self, out: torch.Tensor, final: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # `out` is zero at padded steps (Recurrent's contract), so the sum needs no mask.
        return out.sum(1) / lengths.to(out.dtype)[:, None]  # (B, D·H)


class MaxPool(nn.Module):
    """r_i = the maximum of h^{(t)}_i over the n real steps."""

    def get_config(self) -> dict:
        return {}

    def forward(self, out: torch.Tensor, final: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = _mask(lengths, out.size(1))[:, :, None]  # (B, T, 1)
        return out.masked_fill(~mask, float("-inf")).max(dim=1).values  # (B, D·H)


class AttentionPool(nn.Module):
    """r = Σ_t a_t h^{(t)} with a_t = softmax_t(v^T tanh(W h^{(t)} + b)).

    Args:
        size: D·H, the size of h^{(t)}.
        attention_size: the size of W h^{(t)} (default 100).

    Attributes: W.weight (attention_size, D·H), W.bias (attention_size,), v.weight (1, attention_size).
    """

    def __init__(self, size: int, attention_size: int = 100) -> None:
        super().__init__()
        self.size = size
        self.attention_size = attention_size
        self.W = nn.Linear(size, attention_size)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def get_config(self) -> dict:
        return {"size": self.size, "attention_size": self.attention_size}

    def forward(self, out: torch.Tensor, final: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        scores = self.v(torch.tanh(self.W(out))).squeeze(2)  # (B, T)
        scores = scores.masked_fill(~_mask(lengths, out.size(1)), float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (B, T), zero at padded steps
        return torch.bmm(weights.unsqueeze(1), out).squeeze(1)  # (B, 1, T) @ (B, T, D·H) → (B, D·H)


POOLINGS: dict[str, type[nn.Module]] = {
    "final": FinalStates, "mean": MeanPool, "max": MaxPool, "attention": AttentionPool,
}


class BiRNNClassifier(nn.Module):
    """Class logits for a whole sequence from a Bi-RNN and a read-out.

    Args:
        vocab_size: V (id 0 padding).
        num_classes: C.
        embedding_dim: E (default 100).
        hidden_size: H per direction (default 150).
        num_layers: L (default 1).
        cell: "lstm", "gru", "gru-cudnn" or "elman" (default "lstm").
        dropout: on the embeddings, between layers and on r (default 0.5).
        pooling: :class:`FinalStates`, :class:`MeanPool`, :class:`MaxPool`, :class:`AttentionPool`, or
            its config dict (default FinalStates, the lecture's).
        lm_features: a :class:`~rnnkit.models.char_lm_features.CharLMFeatures` or its config dict, whose
            states z_t (Σ H_lm) join the word vectors (default None).
        lm_projection: P, the size z_t is mapped to first, W_z z_t + b_z, learned (default None: z_t as it is;
            see :func:`~rnnkit.models.char_lm_features.context_layer`).

    Inputs: ids (B, T) word ids; lengths (B,); context (B, T, Σ H_lm) the states z_t, ``lm_features``'s
    output for the batch (only with it).
    Outputs: logits (B, C).

    Attributes: embedding.weight (V, E); rnn (the Recurrent); pooling; output.weight (C, 2·H),
    output.bias (C,).

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> m = BiRNNClassifier(30, 2, embedding_dim=8, hidden_size=6, pooling=AttentionPool(12, 5))
        >>> m(torch.tensor([[4, 5, 6], [7, 8, 0]]), torch.tensor([3, 2])).shape
        torch.Size([2, 2])
        >>> m.get_config()["pooling"]
        {'name': 'attention', 'size': 12, 'attention_size': 5}
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embedding_dim: int = 100,
        hidden_size: int = 150,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.5,
        pooling: nn.Module | Mapping[str, Any] | None = None,
        lm_features: CharLMFeatures | Mapping[str, Any] | None = None,
        lm_projection: int | None = None,
    ) -> None:
        super().__init__()
        check_sizes(vocab_size=vocab_size, num_classes=num_classes, embedding_dim=embedding_dim,
                    hidden_size=hidden_size, num_layers=num_layers)
        check_dropout(dropout)
        self.vocab_size = vocab_size
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lm_features = CharLMFeatures(**lm_features) if isinstance(lm_features, Mapping) else lm_features
        self.lm_projection = lm_projection
        self.context_layer, context_size = context_layer(self.lm_features, lm_projection)
        self.rnn = bidirectional_rnn(cell, embedding_dim + context_size, hidden_size, num_layers, dropout)
        self.pooling = build_part(FinalStates() if pooling is None else pooling, POOLINGS, "pooling")
        if isinstance(self.pooling, AttentionPool) and self.pooling.size != 2 * hidden_size:
            raise ValueError(f"AttentionPool size must be 2·hidden_size = {2 * hidden_size}, got {self.pooling.size}")
        self.output = nn.Linear(2 * hidden_size, num_classes)
        self.drop = nn.Dropout(dropout)

    def get_config(self) -> dict:
        return {
            "vocab_size": self.vocab_size, "num_classes": self.num_classes, "embedding_dim": self.embedding_dim,
            "hidden_size": self.hidden_size, "num_layers": self.num_layers, "cell": self.cell,
            "dropout": self.dropout, "pooling": part_config(self.pooling, POOLINGS),
            "lm_features": None if self.lm_features is None else self.lm_features.get_config(),
            "lm_projection": self.lm_projection,
        }

    @classmethod
    def from_config(cls, config: dict) -> BiRNNClassifier:
        return cls(**config)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        if (context is None) != (self.lm_features is None):
            raise ValueError("context (the LM states z_t) is given exactly when the classifier has lm_features")
        x = self.embedding(ids)  # (B, T, E)
        if context is not None:
            x = torch.cat([x, self.context_layer(context)], dim=2)  # (B, T, E + Σ H_lm or P)
        out, state = self.rnn(self.drop(x), lengths=lengths)  # (B, T, 2·H)
        h_n = state[0] if isinstance(state, tuple) else state  # (L·2, B, H)
        return self.output(self.drop(self.pooling(out, h_n[-2:], lengths)))  # last layer's two states → (B, C)
