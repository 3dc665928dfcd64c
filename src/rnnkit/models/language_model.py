"""A recurrent language model: embedding → multi-layer RNN → dropout → linear layer to next-token logits.

For a token sequence x^{(1)} … x^{(T)} the model predicts, at every step t, a distribution over the next
token (lecture, "Language models"):

    e^{(t)} = E x^{(t)}                               (embedding lookup, E ∈ R^{V×E})
    h^{(t)} = RNN(e^{(t)}, h^{(t−1)})                 (Elman, GRU or LSTM, L layers; rnnkit.layers.Recurrent)
    ŷ^{(t)} = softmax(W_hy h^{(t)} + b_y)             (W_hy ∈ R^{V×H})

The model returns the logits W_hy h^{(t)} + b_y; the softmax and the loss live in the task.

Embedding dropout (Gal & Ghahramani 2016; AWD-LSTM's ``embedded_dropout``) drops whole token types: one
mask m ∈ {0, 1/(1−p)}^V per forward call, and every occurrence of a dropped type in the window reads the
zero vector, e^{(t)} = m_{x^{(t)}} E x^{(t)}. The model then cannot lean on any one symbol being seen.

Weight tying (Press & Wolf 2016, "Using the output embedding to improve language models"; Inan et al.
2016) shares one matrix between the input embedding and W_hy, which needs E = H.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnkit.checks import check_dropout, check_sizes
from rnnkit.layers import Recurrent, sequence_dropout

State = Any  # h_n (L, B, H), or the pair (h_n, c_n) for the LSTM, as rnnkit.layers.Recurrent returns it


class RNNLanguageModel(nn.Module):
    """Next-token logits from an embedding, a recurrent layer and a linear output layer.

    Args:
        vocab_size: V, the number of token types (specials included).
        embedding_size: E, the size of the token embeddings (default 64).
        hidden_size: H, the size of the recurrent state (default 256).
        num_layers: L, stacked recurrent layers (default 2).
        cell: "elman", "gru" or "lstm" (default "lstm").
        variant: GRU variant, "lecture" or "cudnn" (default "lecture"; ignored by other cells).
        dropout: dropout on the embeddings, between recurrent layers and before the output layer
            (default 0.0).
        weight_dropout: DropConnect on the recurrent matrices U, one mask per forward call
            (:class:`~rnnkit.layers.Recurrent`; default 0.0).
        embedding_dropout: the probability of dropping a token type, all its occurrences in the forward
            call at once (see above; default 0.0).
        locked_dropout: every ``dropout`` with one mask per window, the same units dropped at all T steps
            (variational dropout, AWD-LSTM's locked dropout; :func:`~rnnkit.layers.recurrent.locked_dropout`),
            rather than a fresh mask per step (default False).
        tie_weights: share the embedding matrix with the output layer W_hy; needs E = H (default False).
        backend: the recurrent layer's backend (default "auto": the fastest exact path, e.g. torch's fused
            LSTM).

    Inputs:
        ids: (B, T) LongTensor of token ids.
        state: the recurrent state carried from the previous window, or None for zeros.

    Outputs:
        logits: (B, T, V) next-token logits.
        state: h_n (L, B, H), or (h_n, c_n) for the LSTM.

    Attributes:
        embedding.weight: (V, E).
        rnn: the :class:`~rnnkit.layers.Recurrent` layer.
        output.weight: (V, H) — the same tensor as ``embedding.weight`` when tied; output.bias: (V,).

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> lm = RNNLanguageModel(vocab_size=10, embedding_size=8, hidden_size=8, num_layers=1, cell="gru")
        >>> logits, h = lm(torch.randint(0, 10, (3, 5)))
        >>> tuple(logits.shape), tuple(h.shape)
        ((3, 5, 10), (1, 3, 8))
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int = 64,
        hidden_size: int = 256,
        num_layers: int = 2,
        cell: str = "lstm",
        variant: str = "lecture",
        dropout: float = 0.0,
        weight_dropout: float = 0.0,
        embedding_dropout: float = 0.0,
        locked_dropout: bool = False,
        tie_weights: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        check_sizes(vocab_size=vocab_size, embedding_size=embedding_size, hidden_size=hidden_size,
                    num_layers=num_layers)
        check_dropout(dropout)
        check_dropout(embedding_dropout, "embedding_dropout")
        if tie_weights and embedding_size != hidden_size:
            raise ValueError(
                f"tie_weights needs embedding_size == hidden_size, got {embedding_size} and {hidden_size}"
            )
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.variant = variant
        self.dropout = dropout
        self.weight_dropout = weight_dropout
        self.embedding_dropout = embedding_dropout
        self.locked_dropout = locked_dropout
        self.tie_weights = tie_weights
        self.backend = backend

        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = Recurrent(
            cell=cell,
            input_size=embedding_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            weight_dropout=weight_dropout,
            locked_dropout=locked_dropout,
            variant=variant,
            backend=backend,
        )
        self.output = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.output.weight = self.embedding.weight

    def hidden_states(self, ids: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """The top layer's states h^{(1)} … h^{(T)} (B, T, H) and the final state: the forward pass without
        the output layer (what :mod:`rnnkit.models.char_lm_features` reads)."""
        if ids.dim() != 2:
            raise ValueError(f"ids must be (B, T), got shape {tuple(ids.shape)}")
        return self.rnn(self._drop(self._embed(ids)), state)  # (B, T, H)

    def forward(self, ids: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        h, state = self.hidden_states(ids, state)  # (B, T, H)
        return self.output(self._drop(h)), state  # (B, T, V)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        """The embeddings E x (B, T, E), with whole token types dropped in training (``embedding_dropout``)."""
        p = self.embedding_dropout
        if not (self.training and p):
            return self.embedding(ids)
        weight = self.embedding.weight  # (V, E)
        keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)  # (V, 1): one draw per type
        return nn.functional.embedding(ids, weight * keep)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        """Dropout on x (B, T, F): one mask per window with ``locked_dropout``, else one per element."""
        return sequence_dropout(x, self.dropout, self.training, self.locked_dropout)

    def get_config(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "embedding_size": self.embedding_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "variant": self.variant,
            "dropout": self.dropout,
            "weight_dropout": self.weight_dropout,
            "embedding_dropout": self.embedding_dropout,
            "locked_dropout": self.locked_dropout,
            "tie_weights": self.tie_weights,
            "backend": self.backend,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RNNLanguageModel:
        return cls(**config)
