"""The training loop's own position and bookkeeping, saved in ``trainer.json`` for exact resumption."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _window() -> dict[str, Any]:
    return {"loss": 0.0, "n": 0, "local_n": 0, "metrics": {}}


@dataclass
class LoopState:
    """Where the loop is and what it has seen; everything here is JSON.

    Attributes:
        step: optimiser steps done. epoch: the current epoch (0-based).
        batch_index: steps done within the current epoch by this process (its next batch is
            ``batches[batch_index * world_size + rank]``).
        best_metric / best_step: the best monitored value so far and its step.
        bad_evals: validations since the last improvement (early stopping).
        last_eval_step: step of the latest validation (-1: none yet).
        history: the metrics records so far (``metrics.jsonl``).
        window: sums of loss·items over the steps since the last training record.
        since_eval: sums of loss·items since the last validation (the eval record's ``train_loss``).
    """

    step: int = 0
    epoch: int = 0
    batch_index: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    last_eval_step: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=_window)
    since_eval: dict[str, Any] = field(default_factory=_window)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopState:
        return cls(**data)

    def add(self, window: dict[str, Any], loss: float, n: int, local_n: int, metrics: dict[str, float]) -> None:
        """Add one step's mean ``loss`` over ``n`` items (all ranks) and this rank's ``metrics``."""
        window["loss"] += loss * n
        window["n"] += n
        window["local_n"] += local_n
        for key, value in metrics.items():
            window["metrics"][key] = window["metrics"].get(key, 0.0) + float(value) * local_n

    def take(self, name: str) -> dict[str, float]:
        """The item-weighted means of window ``name`` (``loss`` and the task's metrics); resets it."""
        window = getattr(self, name)
        setattr(self, name, _window())
        if window["n"] == 0:
            return {}
        means = {"loss": window["loss"] / window["n"]}
        for key, value in window["metrics"].items():
            means[key] = value / max(1, window["local_n"])
        return means
