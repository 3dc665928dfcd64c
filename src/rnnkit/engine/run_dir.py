"""The files of a run directory: ``last/`` (resumable), ``best/``, and restoring a run from them.

Rank 0 writes; saving ``last/`` is still a collective call, as every rank hands in its RNG and carried
state (see ``rank_state``).
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.engine import checkpoint, rank_state
from rnnkit.engine.averaging import WeightAverage
from rnnkit.engine.config import TrainConfig
from rnnkit.engine.distributed import DistContext, broadcast_
from rnnkit.engine.loop_state import LoopState
from rnnkit.engine.optim import LRSchedule, load_optimizer_state, optimizer_state
from rnnkit.errors import CheckpointError

log = logging.getLogger("rnnkit.engine")


class RunDirectory:
    """Checkpoints of one training run in ``path`` (``last/``, ``best/``)."""

    def __init__(
        self,
        path: Path,
        model: nn.Module,
        model_meta: dict[str, Any],
        config: TrainConfig,
        ctx: DistContext,
        device: torch.device,
    ) -> None:
        self.path = path
        self.model = model
        self.model_meta = model_meta
        self.config = config
        self.ctx = ctx
        self.device = device
        self.best_saved: float | None = None  # the monitored value of the weights in best/
        self.best_saved_step: int | None = None  # and the step they are from

    def training_meta(self, state: LoopState, metric: float | None) -> dict[str, Any]:
        """``model.json``'s ``training`` section."""
        return {
            "step": state.step,
            "epoch": state.epoch,
            "monitor": self.config.monitor,
            "metric": metric,
            "best_metric": state.best_metric,
            "seed": self.config.seed,
            "device": str(self.device),
            "world_size": self.ctx.world_size,
        }

    def start_afresh(self) -> None:
        """A new run: the checkpoints of an earlier run here would be mistaken for this one's."""
        if not self.ctx.is_main:
            return
        for name in ("best", "last", ".best.old", ".last.old"):
            if (self.path / name).exists():
                log.warning("starting afresh: removing %s", self.path / name)
                shutil.rmtree(self.path / name)
        self.path.mkdir(parents=True, exist_ok=True)

    def beats(self, value: float, other: float) -> bool:
        """Whether the monitored ``value`` is better than ``other``."""
        return value < other if self.config.monitor_mode == "min" else value > other

    def save_best(self, state: LoopState, value: float) -> None:
        """Write ``best/`` if ``value`` beats the weights already there."""
        better = not math.isnan(value) if self.best_saved is None else self.beats(value, self.best_saved)
        if better and self.ctx.is_main:
            meta = self.training_meta(state, value)
            checkpoint.save_checkpoint(self.path / "best", self.model.state_dict(), self.model_meta, meta)
        if better:
            self.best_saved, self.best_saved_step = value, state.step

    def save_last(
        self, state: LoopState, carried: Any, optimizer: torch.optim.Optimizer, schedule: LRSchedule,
        average: WeightAverage | None,
    ) -> None:
        """Write the resumable ``last/`` (collective: every rank gives its RNG and carried state)."""
        tensors, ranks = rank_state.gather(carried, self.ctx, self.device)
        if not self.ctx.is_main:
            return
        optimizer_tensors, optimizer_json = optimizer_state(optimizer)
        tensors.update(optimizer_tensors)
        trainer_json = {
            "loop": state.to_json(),
            "world_size": self.ctx.world_size,
            "ranks": ranks,
            "optimizer": optimizer_json,
            "schedule": schedule.state_dict(),
            "config": self.config.to_dict(),
        }
        if average is not None:
            average_tensors, trainer_json["average"] = average.state()
            tensors.update(average_tensors)
        monitor = self.config.monitor
        metric = next((r.get(monitor) for r in reversed(state.history) if r["kind"] == "eval"), None)
        checkpoint.save_checkpoint(
            self.path / "last",
            self.model.state_dict(),
            self.model_meta,
            self.training_meta(state, metric),
            tensors,
            trainer_json,
        )

    def restore(
        self, optimizer: torch.optim.Optimizer, schedule: LRSchedule, average: WeightAverage | None
    ) -> tuple[LoopState, Any]:
        """Load ``last/`` into the model, optimiser, schedule, weight average and RNGs; returns the loop and
        carried state."""
        last = self.path / "last"
        meta, weights = checkpoint.load_checkpoint(last, "cpu")
        source = checkpoint.resolve(last)
        for key in ("task", "model_class"):
            if meta[key] != self.model_meta[key]:
                raise CheckpointError(
                    f"{source / checkpoint.MODEL_META}: {key} is {meta[key]!r}, "
                    f"this run trains {self.model_meta[key]!r}"
                )
        checkpoint.load_state_into(self.model, weights, source / checkpoint.MODEL_WEIGHTS)
        data, tensors = checkpoint.load_trainer_state(last, "cpu")
        trainer_file = source / checkpoint.TRAINER_META
        try:
            load_optimizer_state(optimizer, tensors, data["optimizer"], str(trainer_file))
            schedule.load_state_dict(data["schedule"])
            if average is not None:  # a run saved before averaging was switched on has no "average"
                average.load(tensors, data.get("average", {"count": 0}))
            state = LoopState.from_json(data["loop"])
            carried = None
            if data["world_size"] == self.ctx.world_size:
                mine = rank_state.select(tensors, self.ctx.rank)
                carried = rank_state.restore(mine, data["ranks"][self.ctx.rank], self.device)
            else:
                log.warning(
                    "resuming a %d-process run with %d processes: the data position carries over, "
                    "the RNG and recurrent states do not (not an exact continuation)",
                    data["world_size"],
                    self.ctx.world_size,
                )
                state.batch_index = state.batch_index * data["world_size"] // self.ctx.world_size
                rank_state.seed_everything(self.config.seed + self.ctx.rank + state.step)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise CheckpointError(f"{trainer_file}: corrupt trainer state ({err!r})") from None
        if (self.path / "best" / checkpoint.MODEL_META).is_file():
            saved = checkpoint.read_meta(self.path / "best").get("training", {})
            self.best_saved, self.best_saved_step = saved.get("metric"), saved.get("step")
        log.info("resuming from %s at step %d (epoch %d)", source, state.step, state.epoch)
        return state, carried

    def load_best(self) -> None:
        """Load ``best/`` into the model (rank 0 reads it and broadcasts: ranks need no shared disk)."""
        best = self.path / "best"
        found = torch.zeros(1, device=self.device)
        if self.ctx.is_main and (best / checkpoint.MODEL_META).is_file():
            _, weights = checkpoint.load_checkpoint(best, self.device)
            checkpoint.load_state_into(self.model, weights, best / checkpoint.MODEL_WEIGHTS)
            found += 1
        if self.ctx.enabled and broadcast_(found, self.ctx).item():
            for tensor in self.model.state_dict().values():
                broadcast_(tensor, self.ctx)
