"""Optimisers, learning-rate schedules, and their state as safetensors + JSON (never pickle).

Schedules give the learning rate η_t of step t (counted from 0) from the peak rate η and warm-up W:

- warm-up: η_t = η · (t + 1) / W for t < W;
- constant: η_t = η · s, with s = 1 unless the plateau rule lowered it;
- plateau: after more than ``lr_patience`` validations without improvement, s ← s · ``lr_factor``
  (never below ``min_lr``), as ReduceLROnPlateau;
- cosine: η_t = η_min + (η − η_min) · ½ (1 + cos(π · (t − W) / (N − W))) for N total steps
  (Loshchilov & Hutter 2017, without restarts).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from rnnkit.engine.config import TrainConfig
from rnnkit.errors import CheckpointError, ConfigError


def build_optimizer(config: TrainConfig, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    """The optimiser named by ``config.optimizer`` over ``parameters``.

    ``foreach=True``: torch picks it on CUDA by default but not on the CPU, where updating all parameters
    in one multi-tensor kernel per operation made an Adam step 1.75x faster (2×512 LSTM, one thread).
    """
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           foreach=True)


class LRSchedule:
    """The learning rate of every step, and the plateau rule's state.

    Example:
        >>> s = LRSchedule("cosine", lr=1.0, warmup_steps=2, total_steps=6)
        >>> [round(s.lr(t), 3) for t in range(6)]
        [0.5, 1.0, 1.0, 0.854, 0.5, 0.146]
    """

    def __init__(
        self,
        kind: str,
        lr: float,
        warmup_steps: int = 0,
        total_steps: int | None = None,
        min_lr: float = 0.0,
        factor: float = 0.5,
        patience: int = 0,
        mode: str = "min",
    ) -> None:
        if kind == "cosine" and total_steps is None:
            raise ConfigError("schedule cosine needs a known number of steps: set epochs or max_steps")
        self.kind = kind
        self.base_lr = lr
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr = min_lr
        self.factor = factor
        self.patience = patience
        self.mode = mode
        # plateau state
        self.scale = 1.0
        self.best: float | None = None
        self.bad_evals = 0

    @classmethod
    def from_config(cls, config: TrainConfig, total_steps: int | None) -> LRSchedule:
        return cls(
            config.schedule,
            config.lr,
            config.warmup_steps,
            total_steps,
            config.min_lr,
            config.lr_factor,
            config.lr_patience,
            config.monitor_mode,
        )

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "cosine":
            assert self.total_steps is not None
            span = max(1, self.total_steps - self.warmup_steps)
            progress = min(1.0, (step - self.warmup_steps) / span)
            return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        return max(self.min_lr, self.base_lr * self.scale) if self.scale < 1 else self.base_lr

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every parameter group's rate for ``step``; returns it."""
        rate = self.lr(step)
        for group in optimizer.param_groups:
            group["lr"] = rate
        return rate

    def observe(self, value: float) -> None:
        """A validation result of the monitored metric (only the plateau schedule reacts)."""
        if self.kind != "plateau":
            return
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better:
            self.best, self.bad_evals = value, 0
            return
        self.bad_evals += 1
        if self.bad_evals > self.patience:
            self.scale *= self.factor
            self.bad_evals = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale, self.best, self.bad_evals = state["scale"], state["best"], state["bad_evals"]


# ----- optimiser state without pickle -----


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (``optimizer/<param>/<name>``) and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{param_id}/{name}"] = value
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    groups = [
        {key: list(value) if isinstance(value, tuple) else value for key, value in group.items()}
        for group in state["param_groups"]
    ]
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], data: dict[str, Any], source: str
) -> None:
    """Inverse of ``optimizer_state``; CheckpointError naming ``source`` if it does not fit."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer/"):
            _, param_id, name = key.split("/", 2)
            state.setdefault(int(param_id), {})[name] = value
    for param_id, entries in data["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    groups = [
        {key: tuple(value) if key == "betas" else value for key, value in group.items()}
        for group in data["param_groups"]
    ]
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as err:
        raise CheckpointError(f"{source}: optimiser state does not fit this model ({err})") from None
