"""Teacher forcing and scheduled sampling for any autoregressive model (Bengio et al. 2015).

Teacher forcing feeds the correct previous token y^{(t−1)} as the input at step t. The lecture warns that a
model trained only this way "will never learn to react to its own output"; scheduled sampling feeds,
at each step and for each sequence independently, the model's own sampled prediction
ŷ^{(t−1)} ~ softmax(s^{(t−1)}) instead, with a probability 1 − ε_i that grows with the training step i:

    linear            ε_i = max(ε, k − c·i)          k = 1, c = (1 − ε) / steps
    exponential       ε_i = max(ε, k^i)              k = max(ε, 0.01)^(1 / steps)
    inverse sigmoid   ε_i = max(ε, k / (k + e^{i/k}))  k ≥ 1 chosen so that ε_i = 1/2 at i = steps / 2

ε (``min_truth``) is the floor of the probability of the truth. The three are Bengio et al.'s decay
shapes, here each set by one length in steps so that they can be compared. Nothing here knows about a
particular task: :func:`unroll` drives any ``step(ids (B,), state) -> (logits (B, V), state)`` function
(a language model, or a translation decoder).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

SCHEDULES = ("linear", "exponential", "inverse_sigmoid")


def _inverse_sigmoid_k(midpoint: float) -> float:
    """The k ≥ 1 with k·ln k = midpoint (where k / (k + e^{i/k}) = 1/2), by Newton's method."""
    k = max(2.0, midpoint / max(math.log(midpoint + 1.0), 1.0))
    for _ in range(50):
        k = max(1.0, k - (k * math.log(k) - midpoint) / (math.log(k) + 1.0))
    return k


@dataclass(frozen=True)
class SamplingSchedule:
    """How often the model's own prediction replaces the gold input, as a function of the training step.

    Args:
        kind: "linear", "exponential" or "inverse_sigmoid" (default "linear").
        steps: the number of training steps over which the probability of the truth decays (default 5000).
        min_truth: ε, the floor of the probability of feeding the truth (default 0.75, so at most a quarter
            of the inputs are the model's own samples).

    Example:
        >>> s = SamplingSchedule("linear", steps=100, min_truth=0.5)
        >>> [round(s.sample_probability(i), 3) for i in (0, 50, 100, 1000)]
        [0.0, 0.25, 0.5, 0.5]
        >>> s = SamplingSchedule("inverse_sigmoid", steps=1000, min_truth=0.0)
        >>> round(s.truth_probability(500), 3)
        0.5
    """

    kind: str = "linear"
    steps: int = 5000
    min_truth: float = 0.75

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule kind must be one of {SCHEDULES}, got {self.kind!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not 0.0 <= self.min_truth <= 1.0:
            raise ValueError(f"min_truth must be in [0, 1], got {self.min_truth}")

    def truth_probability(self, step: int) -> float:
        """ε_i: the probability of feeding the gold token at training step ``step``."""
        floor = self.min_truth
        if self.kind == "linear":
            eps = 1.0 - (1.0 - floor) * step / self.steps
        elif self.kind == "exponential":
            eps = max(floor, 0.01) ** (step / self.steps)  # k^i with k = max(ε, 0.01)^(1/steps)
        else:
            k = _inverse_sigmoid_k(self.steps / 2)
            eps = k / (k + math.exp(min(step / k, 700.0)))  # the clamp keeps exp finite
        return max(floor, min(1.0, eps))

    def sample_probability(self, step: int) -> float:
        """1 − ε_i: the probability of feeding the model's own sampled prediction."""
        return 1.0 - self.truth_probability(step)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mix(
    gold: torch.Tensor,
    logits: torch.Tensor,
    probability: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per row, the gold token or (with ``probability``) a token sampled from the model's logits.

    Args:
        gold: (B,) LongTensor, the correct next inputs.
        logits: (B, V) the model's scores for that position (detached: a sampled token carries no
            gradient, as in Bengio et al.).
        probability: 1 − ε_i.
        generator: random generator (None: torch's global one, which a resumed run restores).

    Returns:
        (B,) LongTensor.

    Example:
        >>> gold = torch.tensor([0, 0, 0])
        >>> mix(gold, torch.tensor([[0.0, 9e9]] * 3), probability=1.0).tolist()
        [1, 1, 1]
        >>> mix(gold, torch.tensor([[0.0, 9e9]] * 3), probability=0.0).tolist()
        [0, 0, 0]
    """
    if probability <= 0.0:
        return gold
    probs = torch.softmax(logits.detach().float(), dim=-1)  # (B, V)
    sampled = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
    use_sample = torch.rand(gold.shape, generator=generator, device=gold.device) < probability  # (B,)
    return torch.where(use_sample, sampled, gold)


def unroll(
    step: Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]],
    inputs: torch.Tensor,
    probability: float,
    state: Any = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, Any]:
    """Run ``step`` over the gold ``inputs`` one position at a time, with scheduled sampling.

    The first input is always gold; the input at t ≥ 1 is ``mix(inputs[:, t], logits at t − 1, ...)``.

    Args:
        step: ``step(ids (B,), state) -> (logits (B, V), state)``.
        inputs: (B, T) LongTensor of gold inputs (teacher forcing's inputs).
        probability: 1 − ε_i, the probability of each sampled replacement.
        state: the initial state passed to ``step``.

    Returns:
        logits (B, T, V) and the final state.

    Example:
        >>> def step(ids, state):  # always scores "id + 1" highest
        ...     return torch.nn.functional.one_hot((ids + 1) % 9, 9).float() * 50, state
        >>> logits, _ = unroll(step, torch.zeros(2, 3, dtype=torch.long), probability=1.0)
        >>> logits.argmax(-1).tolist()  # the model's own predictions were fed back
        [[1, 2, 3], [1, 2, 3]]
    """
    outputs = []
    current = inputs[:, 0]  # (B,)
    for t in range(inputs.size(1)):
        logits, state = step(current, state)  # (B, V)
        outputs.append(logits)
        if t + 1 < inputs.size(1):
            current = mix(inputs[:, t + 1], logits, probability, generator)
    return torch.stack(outputs, dim=1), state  # (B, T, V)
