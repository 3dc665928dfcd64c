"""A bidirectional recurrent tagger: word embeddings + character-level Bi-RNN word vectors → Bi-RNN →
per-token tag logits (one prediction per input, the lecture's "Labeling words in a sequence").

The design of DD2418 assignment 4 and of Plank et al. (2016) / Lample et al. (2016): each word w_t is
represented by its embedding and by the final states of a Bi-RNN read over its characters,

    c_t = [→h_char^{(|w_t|)} ; ←h_char^{(1)}]            (2·H_c, characters of w_t; CharEncoder)
    x_t = [E w_t ; c_t]                                  (E + 2·H_c)
        or [E w_t ; c_t ; z_t]                           (+ Σ H_lm: frozen character LMs' states at w_t,
                                                          with lm_features; rnnkit.models.char_lm_features;
                                                          + P with lm_projection: W_z z_t + b_z instead)
    h^{(t)} = [→h^{(t)} ; ←h^{(t)}]                       (2·H, a bidirectional Recurrent over x_1 … x_n)
    s_t = W_hy h^{(t)} + b_y                             (K tag logits per token)
    a_t^c = W_c h^{(t)} + b_c                            (K_c logits of each auxiliary column c, aux_tags)

so that words never seen in training still get a vector from their spelling. Auxiliary columns (e.g. XPOS
and FEATS next to UPOS) are extra softmax outputs over the same h^{(t)}, trained with the main tags and
never decoded: multi-task learning (Søgaard & Goldberg 2016; Plank et al. 2016), whose only use is to make
h^{(t)} learn more from the same sentences. The head decides how tag
scores combine: :class:`SoftmaxHead` (each token on its own) or :class:`~rnnkit.models.crf.CRF`
(transition scores between neighbouring tags, Viterbi decoding). Characters are encoded once per distinct
word of a batch (``chars`` holds the U unique words), then gathered back to the (B, T) positions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from rnnkit.checks import check_dropout, check_sizes
from rnnkit.models.char_lm_features import CharLMFeatures, context_layer
from rnnkit.models.crf import CRF
from rnnkit.models.parts import bidirectional_rnn, build_part, part_config


class SoftmaxHead(nn.Module):
    """Independent per-token tags: p(y_t | x) = softmax(s_t). No parameters; the loss is the tokens'
    cross-entropy (in the task) and decoding is argmax_k s_{t,k}."""

    def get_config(self) -> dict:
        return {}


class NoChars(nn.Module):
    """No character features: words are their embeddings only (for the with/without comparison)."""

    output_size = 0

    def get_config(self) -> dict:
        return {}

    def forward(self, chars: torch.Tensor, char_lengths: torch.Tensor) -> torch.Tensor:
        return chars.new_zeros(chars.size(0), 0, dtype=torch.float)  # (U, 0)


class CharEncoder(nn.Module):
    """Word vectors from a Bi-RNN over characters: the final forward and backward states, concatenated.

    Args:
        num_chars: the size of the character vocabulary (id 0 is padding).
        char_dim: the size of the character embeddings (default 30).
        hidden_size: H_c per direction (default 50).
        cell: a cell of ``rnnkit.models.parts.CELLS`` (default "lstm").

    Inputs: chars (U, C) character ids of U words, right-padded; char_lengths (U,).
    Outputs: (U, 2·H_c).
    """

    def __init__(self, num_chars: int, char_dim: int = 30, hidden_size: int = 50, cell: str = "lstm") -> None:
        super().__init__()
        check_sizes(num_chars=num_chars, char_dim=char_dim, hidden_size=hidden_size)
        self.num_chars = num_chars
        self.char_dim = char_dim
        self.hidden_size = hidden_size
        self.cell = cell
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.rnn = bidirectional_rnn(cell, char_dim, hidden_size, num_layers=1, dropout=0.0)
        self.output_size = 2 * hidden_size

    def get_config(self) -> dict:
        return {"num_chars": self.num_chars, "char_dim": self.char_dim, "hidden_size": self.hidden_size,
                "cell": self.cell}

    def forward(self, chars: torch.Tensor, char_lengths: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(self.embedding(chars), lengths=char_lengths)
        h_n = state[0] if isinstance(state, tuple) else state  # (2, U, H_c): forward, backward
        return torch.cat([h_n[0], h_n[1]], dim=1)  # (U, 2·H_c)


HEADS: dict[str, type[nn.Module]] = {"softmax": SoftmaxHead, "crf": CRF}
CHAR_ENCODERS: dict[str, type[nn.Module]] = {"char_rnn": CharEncoder, "none": NoChars}


class BiRNNTagger(nn.Module):
    """Per-token tag logits from word embeddings, character Bi-RNN word vectors and a Bi-RNN.

    Args:
        vocab_size: V, word types (id 0 padding).
        num_tags: K.
        word_dim: E, the word embedding size (default 100).
        chars: a :class:`CharEncoder`, :class:`NoChars`, or its config dict (default: a CharEncoder over
            100 characters).
        hidden_size: H per direction of the sentence Bi-RNN (default 200).
        num_layers: L (default 1).
        cell: "lstm", "gru", "gru-cudnn" or "elman" (default "lstm").
        dropout: on the word vectors x_t, between layers and on h^{(t)} (default 0.33).
        head: :class:`SoftmaxHead`, :class:`~rnnkit.models.crf.CRF` or its config dict (default softmax).
        lm_features: a :class:`~rnnkit.models.char_lm_features.CharLMFeatures` or its config dict, whose
            states z_t join x_t (default None: none).
        lm_projection: P, the size z_t is mapped to first, W_z z_t + b_z, learned (default None: z_t as it is;
            see :func:`~rnnkit.models.char_lm_features.context_layer`).
        aux_tags: K_c for each auxiliary column c, by name (default None: none).

    Inputs:
        words: (B, T) word ids; lengths: (B,) true lengths;
        chars: (U, C) character ids of the batch's U distinct words; char_lengths: (U,);
        char_index: (B, T) row of ``chars`` for each position;
        context: (B, T, Σ H_lm) the states z_t, ``lm_features``'s output for the batch (only with it).

    Outputs:
        logits: (B, T, K) tag scores (the CRF's emissions when the head is a CRF). ``states`` gives the
        dropped-out h^{(t)} (B, T, 2·H) that ``output`` and ``aux_outputs[c]`` map to scores.

    Attributes:
        embedding.weight (V, E); chars (the character encoder); rnn (the Recurrent);
        output.weight (K, 2·H), output.bias (K,); aux_outputs (a ModuleDict of Linear(2·H, K_c)); head.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> m = BiRNNTagger(20, 5, word_dim=8, chars=CharEncoder(12, 4, 6), hidden_size=10, head=CRF(5))
        >>> words, lengths = torch.tensor([[3, 4, 3], [5, 0, 0]]), torch.tensor([3, 1])
        >>> chars, char_lengths = torch.tensor([[2, 3], [4, 0], [5, 6]]), torch.tensor([2, 1, 2])
        >>> char_index = torch.tensor([[0, 1, 0], [2, 0, 0]])
        >>> m(words, lengths, chars, char_lengths, char_index).shape
        torch.Size([2, 3, 5])
        >>> m.get_config()["head"]
        {'name': 'crf', 'num_tags': 5}
    """

    def __init__(
        self,
        vocab_size: int,
        num_tags: int,
        word_dim: int = 100,
        chars: nn.Module | Mapping[str, Any] | None = None,
        hidden_size: int = 200,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.33,
        head: nn.Module | Mapping[str, Any] | None = None,
        lm_features: CharLMFeatures | Mapping[str, Any] | None = None,
        lm_projection: int | None = None,
        aux_tags: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        check_sizes(vocab_size=vocab_size, num_tags=num_tags, word_dim=word_dim, hidden_size=hidden_size,
                    num_layers=num_layers)
        check_dropout(dropout)
        self.vocab_size = vocab_size
        self.num_tags = num_tags
        self.word_dim = word_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout
        # ----- word and character representations -----
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.chars = build_part(CharEncoder(100) if chars is None else chars, CHAR_ENCODERS, "chars")
        if isinstance(lm_features, Mapping):
            lm_features = CharLMFeatures(**lm_features)
        self.lm_features = lm_features
        self.lm_projection = lm_projection
        self.context_layer, context_size = context_layer(lm_features, lm_projection)
        # ----- sentence Bi-RNN and per-token output layer -----
        self.rnn = bidirectional_rnn(cell, word_dim + self.chars.output_size + context_size, hidden_size,
                                     num_layers, dropout)
        self.output = nn.Linear(2 * hidden_size, num_tags)
        self.aux_tags = dict(aux_tags or {})
        check_sizes(**{f"aux_tags[{name!r}]": k for name, k in self.aux_tags.items()})
        self.aux_outputs = nn.ModuleDict({name: nn.Linear(2 * hidden_size, k) for name, k in self.aux_tags.items()})
        # ----- head: how tag scores combine -----
        self.head = build_part(SoftmaxHead() if head is None else head, HEADS, "head")
        if isinstance(self.head, CRF) and self.head.num_tags != num_tags:
            raise ValueError(f"head CRF has {self.head.num_tags} tags, the tagger {num_tags}")
        self.drop = nn.Dropout(dropout)

    def get_config(self) -> dict:
        return {
            "vocab_size": self.vocab_size, "num_tags": self.num_tags, "word_dim": self.word_dim,
            "chars": part_config(self.chars, CHAR_ENCODERS), "hidden_size": self.hidden_size,
            "num_layers": self.num_layers, "cell": self.cell, "dropout": self.dropout,
            "head": part_config(self.head, HEADS),
            "lm_features": None if self.lm_features is None else self.lm_features.get_config(),
            "lm_projection": self.lm_projection, "aux_tags": self.aux_tags or None,
        }

    @classmethod
    def from_config(cls, config: dict) -> BiRNNTagger:
        return cls(**config)

    def forward(
        self,
        words: torch.Tensor,
        lengths: torch.Tensor,
        chars: torch.Tensor,
        char_lengths: torch.Tensor,
        char_index: torch.Tensor,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.output(self.states(words, lengths, chars, char_lengths, char_index, context))  # (B, T, K)

    def states(
        self,
        words: torch.Tensor,
        lengths: torch.Tensor,
        chars: torch.Tensor,
        char_lengths: torch.Tensor,
        char_index: torch.Tensor,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """h^{(t)} after dropout, (B, T, 2·H): what the output layers read (inputs as ``forward``'s)."""
        if (context is None) != (self.lm_features is None):
            raise ValueError("context (the LM states z_t) is given exactly when the tagger has lm_features")
        spelled = self.chars(chars, char_lengths)[char_index]  # (U, 2·H_c) → (B, T, 2·H_c)
        parts = [self.embedding(words), spelled] + ([] if context is None else [self.context_layer(context)])
        x = self.drop(torch.cat(parts, dim=2))  # (B, T, E + 2·H_c [+ Σ H_lm or P])
        h, _ = self.rnn(x, lengths=lengths)  # (B, T, 2·H)
        return self.drop(h)
