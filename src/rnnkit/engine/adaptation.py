"""Dynamic evaluation: a model that goes on learning from the data it is scoring.

Mikolov's RNNLM toolkit offered it as ``-dynamic``; Krause et al. (2018, "Dynamic evaluation of neural
sequence models") showed that it lowers the loss of character and word RNN LMs on any text whose later
parts resemble its earlier ones (names, topics, style). The batches s_1 … s_M follow one another, the
recurrent state carried from each to the next. Each batch is first scored with the weights that have
seen only the batches before it, then learnt from:

    L_i = loss(s_i; θ_{i−1})                              the score of s_i (mean over its n_i items)
    θ_i = θ_{i−1} − η ∇_θ L_i + λ (θ_0 − θ_{i−1})          an SGD step, pulled back towards θ_0

θ_0 are the trained weights; the decay λ keeps the adapted weights near them (Krause et al.'s "global
prior", here in its plain L2 form). A score never depends on the batch it scores or on any later one.
The model itself is not changed: a copy adapts, in eval mode (no dropout), its carried state detached
after every batch, as in truncated BPTT. The task decides what a batch is
(:func:`rnnkit.tasks.lm_training.dynamic_stream_losses`: the windows of one token stream).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from rnnkit.engine.structures import detach
from rnnkit.engine.task import StepResult
from rnnkit.errors import ConfigError, RnnkitError


def check_adaptation(lr: float, decay: float) -> None:
    """Raise a ConfigError unless 0 < η < ∞ and 0 ≤ λ < 1 (λ = 1 would reset the weights to θ_0 at every step)."""
    if not (lr > 0 and math.isfinite(lr)):
        raise ConfigError(f"the dynamic-evaluation learning rate must be > 0 and finite, got {lr}")
    if not 0 <= decay < 1:
        raise ConfigError(f"the dynamic-evaluation decay must be in [0, 1), got {decay}")


def score_and_adapt(
    model: nn.Module,
    batches: Iterable[Any],
    loss: Callable[[nn.Module, Any, Any], StepResult],
    lr: float,
    decay: float = 0.0,
) -> list[tuple[float, int]]:
    """Score each batch, then take an SGD step on it (module docstring); returns (L_i, n_i) per batch.

    Args:
        model: the trained model; left unchanged.
        batches: s_1 … s_M, in the order they are read.
        loss: ``loss(model, batch, state)`` → :class:`StepResult` (mean loss, items, state to carry).
        lr: η, the SGD learning rate.
        decay: λ, the pull back towards the trained weights after each step (0: none).
    """
    check_adaptation(lr, decay)
    adapted = copy.deepcopy(model).eval()
    params = list(adapted.parameters())
    for p in params:
        p.requires_grad_(True)
    trained = [p.detach().clone() for p in params] if decay else []
    optimizer = torch.optim.SGD(params, lr=lr)
    scores: list[tuple[float, int]] = []
    state = None
    for batch in batches:
        result = loss(adapted, batch, state)
        value = float(result.loss.detach())
        if not math.isfinite(value):
            scored = sum(n for _, n in scores)
            raise RnnkitError(f"dynamic evaluation diverged: the loss is {value} after {scored:,} items; "
                              "lower its learning rate")
        scores.append((value, int(result.n_items)))
        optimizer.zero_grad(set_to_none=True)
        result.loss.backward()
        optimizer.step()
        if decay:
            with torch.no_grad():
                for p, p0 in zip(params, trained, strict=True):
                    p.add_(p0 - p, alpha=decay)
        state = detach(result.state)
    return scores
