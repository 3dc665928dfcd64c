"""The training task the engine runs for a language model: stream batches, carried state, next-token loss.

Every batch is a window of B parallel token streams (:class:`~rnnkit.data.streams.TokenStreams`); the
recurrent state at the end of window i is the start state of window i+1 (the engine detaches it between
steps: truncated BPTT). The loss is the mean next-token cross-entropy in nats,

    loss = −(1 / (B·T)) Σ_{b,t} log softmax(s_b^{(t)})_{y_b^{(t)}},

with teacher forcing, or, when a :class:`~rnnkit.tasks.scheduled_sampling.SamplingSchedule` is given,
with scheduled sampling during training (validation always feeds the gold text).
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import torch.nn.functional as F

from rnnkit.data.streams import ShardedStreams, TokenStreams
from rnnkit.engine.adaptation import score_and_adapt
from rnnkit.engine.task import StepResult, evaluating
from rnnkit.tasks.scheduled_sampling import SamplingSchedule, unroll


def _to(state: Any, device: torch.device) -> Any:
    if state is None or isinstance(state, torch.Tensor):
        return None if state is None else state.to(device)
    return tuple(s.to(device) for s in state)


class LMTraining:
    """A :class:`rnnkit.engine.TrainingTask` for next-token prediction over token streams.

    Args:
        train_ids: (N,) LongTensor, the training stream.
        valid_ids: (M,) LongTensor, the validation stream, or None.
        batch_size: B, parallel streams.
        bptt: T, window length (truncation of BPTT).
        schedule: scheduled sampling, or None for teacher forcing.
    """

    def __init__(
        self,
        train_ids: torch.Tensor,
        valid_ids: torch.Tensor | None,
        batch_size: int,
        bptt: int,
        schedule: SamplingSchedule | None = None,
    ) -> None:
        # Under torchrun each process reads its own part of the text (see ShardedStreams).
        self.train = ShardedStreams(train_ids, batch_size, bptt, int(os.environ.get("WORLD_SIZE", "1")))
        self.valid = None if valid_ids is None else streams_for(valid_ids, bptt)
        self.schedule = schedule

    def train_batches(self, epoch: int) -> ShardedStreams:
        # The streams are one continuous text: their order is the text's, the same every epoch.
        return self.train

    def eval_batches(self) -> TokenStreams | list:
        return [] if self.valid is None else self.valid

    def loss(self, model: torch.nn.Module, batch: Any, state: Any, step: int) -> StepResult:
        probability = self.schedule.sample_probability(step) if self.schedule and model.training else 0.0
        result = window_loss(model, batch, state, probability)
        if self.schedule:
            result.metrics["sample_probability"] = probability
        return result

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        return {}


EVAL_STREAMS = 64


def streams_for(ids: torch.Tensor, bptt: int) -> TokenStreams:
    """Token streams for evaluation: up to :data:`EVAL_STREAMS` of them, each at least ``bptt`` long.

    Without gradients the batch can be wider than in training, which makes validation fast; only the
    first tokens of each stream see a zero state, a negligible effect once streams hold ~1,000 tokens.
    """
    return TokenStreams(ids, max(1, min(EVAL_STREAMS, (ids.numel() - 1) // bptt)), bptt)


def forward_window(
    model: torch.nn.Module, inputs: torch.Tensor, state: Any, probability: float = 0.0
) -> tuple[torch.Tensor, Any]:
    """The model's logits (B, T, V) over one window, with scheduled sampling when probability > 0."""
    device = next(model.parameters()).device
    inputs, state = inputs.to(device), _to(state, device)
    if probability <= 0.0:
        return model(inputs, state)  # one call: the fused recurrent kernel runs the whole window

    def step(ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits, state = model(ids[:, None], state)  # (B, 1, V)
        return logits[:, 0], state

    return unroll(step, inputs, probability, state)


def window_loss(model: torch.nn.Module, batch: Any, state: Any, probability: float = 0.0) -> StepResult:
    """The mean next-token loss of one window (inputs (B, T), targets (B, T)) and the state after it."""
    inputs, targets = batch
    logits, state = forward_window(model, inputs, state, probability)  # (B, T, V)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.to(logits.device).reshape(-1))
    return StepResult(loss, targets.numel(), state)


def dynamic_stream_losses(
    model: torch.nn.Module, ids: torch.Tensor, bptt: int, lr: float, decay: float = 0.0
) -> list[tuple[float, int]]:
    """The (mean loss, tokens) of every window of ``ids`` (N,) under dynamic evaluation
    (:mod:`rnnkit.engine.adaptation`): a copy of the model learns from each window once it is scored.

    The text is read as one stream, not as parallel ones: every token is then predicted from the text before
    it and nothing after it, so the total is a true log-likelihood of the text (the chain rule read left to
    right) and compares with the static loss of the same single stream. With B streams the weights would
    adapt to text lying after the tokens the other streams are still to predict.
    """
    return score_and_adapt(model, TokenStreams(ids, 1, bptt), window_loss, lr, decay)


def stream_loss(model: torch.nn.Module, streams: TokenStreams) -> float:
    """Mean next-token cross-entropy (nats) over all windows of ``streams``, state carried, no gradients."""
    total, state = 0.0, None
    with evaluating(model):
        for batch in streams:
            result = window_loss(model, batch, state)
            total, state = total + result.loss.item() * result.n_items, result.state
    loss = total / streams.num_tokens
    if not math.isfinite(loss):
        raise FloatingPointError("the model's loss on this text is not finite")
    return loss
