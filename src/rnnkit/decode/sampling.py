"""Sampling from an autoregressive model: temperature, top-k, top-p (nucleus) and greedy decoding.

At each step the model's logits s ∈ R^V for the next token are turned into a distribution

    p(w) = softmax(s / τ)_w        restricted to the k most likely tokens (top-k, Fan et al. 2018)
                                   and/or to the smallest set whose probability reaches p (top-p,
                                   Holtzman et al. 2020), then renormalised;

greedy decoding takes argmax_w s_w instead. :func:`sample` feeds each chosen token back into the model
and yields it at once, so a command line can print text as it is produced; N samples run as one batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch


def filter_logits(
    logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Set to −inf every logit outside the top-k tokens and outside the top-p nucleus.

    Args:
        logits: (N, V) scores.
        top_k: keep the k highest-scoring tokens (None: all).
        top_p: keep the smallest set of most likely tokens whose probability sum reaches top_p
            (None or 1.0: all). The most likely token is always kept.

    Returns:
        (N, V) logits, a new tensor.

    Example:
        >>> s = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
        >>> filter_logits(s, top_k=2).isfinite().tolist()
        [[True, True, False, False]]
        >>> filter_logits(s, top_p=0.75).isfinite().tolist()
        [[True, True, False, False]]
    """
    logits = logits.clone()
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if top_k < logits.size(-1):
            kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (N, 1)
            logits[logits < kth] = float("-inf")
    if top_p is not None and top_p < 1.0:
        if top_p <= 0.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (N, V)
        probs = torch.softmax(sorted_logits, dim=-1)
        # Probability mass strictly before each token: a token is kept while that mass is < top_p.
        before = torch.cumsum(probs, dim=-1) - probs  # (N, V)
        drop_sorted = before >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # (N, V), back in id order
        logits[drop] = float("-inf")
    return logits


def next_tokens(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Choose one token per row of (N, V) logits; returns (N,) LongTensor.

    Example:
        >>> next_tokens(torch.tensor([[0.0, 3.0, 1.0]]), greedy=True).tolist()
        [1]
    """
    if greedy:
        return logits.argmax(dim=-1)
    if temperature <= 0.0:
        raise ValueError(f"temperature must be > 0 (use greedy decoding for 0), got {temperature}")
    probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)  # (N, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (N,)


def sample(
    model: torch.nn.Module,
    prime: torch.Tensor,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
    forbidden: Sequence[int] = (),
    state: Any = None,
) -> Iterator[torch.Tensor]:
    """Continue ``prime`` for ``length`` tokens, yielding each step's (N,) tokens as soon as chosen.

    Args:
        model: maps ``(ids (N, T), state)`` to ``(logits (N, T, V), state)``, e.g.
            :class:`~rnnkit.models.language_model.RNNLanguageModel`; it should be in eval mode.
        prime: (N, P) LongTensor, P ≥ 1: the context each of the N samples starts from.
        length: how many tokens to produce.
        temperature, top_k, top_p, greedy: see :func:`next_tokens`.
        generator: the random generator (on the model's device) that makes samples reproducible.
        forbidden: token ids never produced (e.g. ``<pad>``).
        state: the recurrent state before the prime (None: zeros).

    Example:
        >>> class Counter(torch.nn.Module):  # always predicts "previous id + 1"
        ...     def forward(self, ids, state=None):
        ...         return torch.nn.functional.one_hot((ids + 1) % 5, 5).float() * 10, state
        >>> [int(t) for t in sample(Counter(), torch.tensor([[0]]), 4, greedy=True)]
        [1, 2, 3, 4]
    """
    if prime.dim() != 2 or prime.size(1) < 1:
        raise ValueError(f"prime must be (N, P) with P >= 1, got shape {tuple(prime.shape)}")
    # Gradients are switched off around each model call rather than around the whole generator:
    # a no_grad block left open across a `yield` would switch them off in the caller too.
    with torch.no_grad():
        logits, state = model(prime, state)
    last = logits[:, -1]  # (N, V)
    for i in range(length):
        with torch.no_grad():
            if forbidden:
                last = last.clone()
                last[:, list(forbidden)] = float("-inf")
            token = next_tokens(last, temperature, top_k, top_p, greedy, generator)  # (N,)
        yield token
        if i + 1 < length:
            with torch.no_grad():
                logits, state = model(token[:, None], state)  # (N, 1, V)
            last = logits[:, -1]
