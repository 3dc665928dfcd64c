"""Attention over the encoder's states: additive (Bahdanau), dot and general (Luong), and none.

The decoder's state s (B, Hq) queries the encoder's memory m (B, S, M), one vector m_j per source
position j (S source positions). Each module computes scores e_j, masks padded positions, and returns

    α_j = softmax_j(e_j)            (B, S)   attention weights (rows sum to 1 over real positions)
    c   = Σ_j α_j m_j               (B, M)   context vector

with the score function

    additive (Bahdanau et al. 2015):  e_j = vᵀ tanh(W_q s + W_k m_j)      W_q (A, Hq), W_k (A, M), v (A)
    dot      (Luong et al. 2015):     e_j = sᵀ m_j                        needs Hq = M
    general  (Luong et al. 2015):     e_j = sᵀ W_a m_j                    W_a (Hq, M)

The parts that depend only on the memory (W_k m_j, W_a m_j) are computed once per batch by ``keys``
and reused at every decoder step. ``NoAttention`` returns an empty context (B, 0): the plain
encoder–decoder of the lecture, where the decoder sees the source only through its initial state.
"""

from __future__ import annotations

import torch
from torch import nn


def _attend(scores: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked softmax of scores (B, S) and the weighted sum of memory (B, S, M)."""
    scores = scores.masked_fill(~mask, float("-inf"))  # padded source positions get weight 0
    weights = torch.softmax(scores, dim=-1)  # (B, S)
    context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 1, S) @ (B, S, M) -> (B, M)
    return context, weights


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention: e_j = vᵀ tanh(W_q s + W_k m_j).

    Args:
        query_size: Hq, the decoder state size.
        memory_size: M, the encoder state size (2H for a bidirectional encoder).
        attention_size: A, the size of the hidden layer of the scoring network (default: Hq).

    Inputs: query (B, Hq), keys (B, S, A) from ``keys(memory)``, memory (B, S, M), mask (B, S) bool.
    Outputs: context (B, M), weights (B, S).

    Attributes: W_q (A, Hq), W_k (A, M) with bias b_k (A), v (A).

    Example:
        >>> att = AdditiveAttention(4, 6, 5)
        >>> m = torch.randn(2, 3, 6); mask = torch.tensor([[True, True, False], [True, True, True]])
        >>> c, w = att(torch.randn(2, 4), att.keys(m), m, mask)
        >>> c.shape, w.shape, float(w[0, 2].detach())
        (torch.Size([2, 6]), torch.Size([2, 3]), 0.0)
    """

    def __init__(self, query_size: int, memory_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        self.query_size = query_size
        self.memory_size = memory_size
        self.attention_size = attention_size
        size = attention_size or query_size
        self.W_q = nn.Linear(query_size, size, bias=False)
        self.W_k = nn.Linear(memory_size, size)
        self.v = nn.Parameter(torch.empty(size).uniform_(-size**-0.5, size**-0.5))

    def context_size(self) -> int:
        return self.memory_size

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.W_k(memory)  # (B, S, A), once per batch

    def forward(self, query, keys, memory, mask):
        hidden = torch.tanh(keys + self.W_q(query).unsqueeze(1))  # (B, S, A)
        return _attend(hidden @ self.v, memory, mask)  # scores (B, S)

    def get_config(self) -> dict:
        return {"query_size": self.query_size, "memory_size": self.memory_size, "attention_size": self.attention_size}


class DotAttention(nn.Module):
    """Luong's dot attention: e_j = sᵀ m_j (no parameters; query and memory sizes must agree).

    Args:
        memory_size: M = Hq.

    Example:
        >>> att = DotAttention(3)
        >>> m = torch.eye(3).unsqueeze(0)   # three orthogonal source states
        >>> _, w = att(torch.tensor([[10.0, 0.0, 0.0]]), att.keys(m), m, torch.ones(1, 3, dtype=torch.bool))
        >>> int(w.argmax())
        0
    """

    def __init__(self, memory_size: int) -> None:
        super().__init__()
        self.memory_size = memory_size

    def context_size(self) -> int:
        return self.memory_size

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return memory

    def forward(self, query, keys, memory, mask):
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(f"dot attention needs query size {keys.shape[-1]} (= memory size), got {query.shape[-1]}")
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2)  # (B, S, M) @ (B, M, 1) -> (B, S)
        return _attend(scores, memory, mask)

    def get_config(self) -> dict:
        return {"memory_size": self.memory_size}


class GeneralAttention(DotAttention):
    """Luong's general attention: e_j = sᵀ W_a m_j, with W_a m_j precomputed by ``keys``.

    Args:
        query_size: Hq.
        memory_size: M.

    Attributes: W_a (Hq, M).

    Example:
        >>> att = GeneralAttention(4, 6)
        >>> m = torch.randn(2, 3, 6)
        >>> c, w = att(torch.randn(2, 4), att.keys(m), m, torch.ones(2, 3, dtype=torch.bool))
        >>> c.shape, torch.allclose(w.sum(-1), torch.ones(2))
        (torch.Size([2, 6]), True)
    """

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__(memory_size)
        self.query_size = query_size
        self.W_a = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.W_a(memory)  # (B, S, Hq), once per batch

    def get_config(self) -> dict:
        return {"query_size": self.query_size, "memory_size": self.memory_size}


class NoAttention(nn.Module):
    """No attention (the lecture's first encoder–decoder): an empty context (B, 0) and zero weights.

    Example:
        >>> att = NoAttention()
        >>> m = torch.randn(2, 3, 6)
        >>> c, w = att(torch.randn(2, 4), att.keys(m), m, torch.ones(2, 3, dtype=torch.bool))
        >>> c.shape, w.shape
        (torch.Size([2, 0]), torch.Size([2, 3]))
    """

    def context_size(self) -> int:
        return 0

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return memory[..., :0]  # (B, S, 0): nothing to precompute

    def forward(self, query, keys, memory, mask):
        return memory.new_zeros(memory.shape[0], 0), memory.new_zeros(memory.shape[:2])

    def get_config(self) -> dict:
        return {}


ATTENTIONS: dict[str, type[nn.Module]] = {
    "additive": AdditiveAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
    "none": NoAttention,
}


def make_attention(kind: str, query_size: int, memory_size: int) -> nn.Module:
    """The attention module ``kind`` (a key of ATTENTIONS) for a decoder of size Hq over memory of size M."""
    if kind == "additive":
        return AdditiveAttention(query_size, memory_size)
    if kind == "dot":
        if query_size != memory_size:
            raise ValueError(f"dot attention needs query size = memory size, got {query_size} and {memory_size}")
        return DotAttention(memory_size)
    if kind == "general":
        return GeneralAttention(query_size, memory_size)
    if kind == "none":
        return NoAttention()
    raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {kind!r}")


def attention_config(module: nn.Module) -> dict:
    """A JSON description of an attention module: its kind and constructor arguments."""
    kind = next(k for k, cls in ATTENTIONS.items() if type(module) is cls)
    return {"kind": kind, **module.get_config()}


def attention_from_config(config: dict) -> nn.Module:
    """Inverse of ``attention_config``."""
    config = dict(config)
    return ATTENTIONS[config.pop("kind")](**config)
