"""The one training loop of rnnkit: ``Trainer(model, task, config, out_dir, model_meta).fit()``.

One step on batch b with carried state s (truncated BPTT, Williams & Peng 1990):

    L, s' = task.loss(model, b, s)          mean loss over n items
    g = ∇_θ L                               (summed over processes, each L weighted by n_r / Σ n)
    g ← g · min(1, c / ||g||_2)             clipping by norm c (Pascanu et al. 2013)
    θ ← optimiser(θ, g, η_t)                η_t from the schedule
    s ← detach(s')                          gradients stop at the batch boundary
    θ̄ ← θ̄ + (θ − θ̄) / n                     from step ``average_from`` on (see ``averaging``)

Validation (every ``eval_every`` steps and at each epoch end) computes the item-weighted mean loss
over ``task.eval_batches()`` under ``model.eval()`` and ``torch.no_grad()``, plus ``task.evaluate(model)``;
the ``monitor``ed value picks ``best/`` and drives early stopping and the plateau schedule. With weight
averaging under way, validation sees the averaged weights θ̄. Each validation also writes ``last/``, a
checkpoint holding everything needed to resume exactly.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.engine import checkpoint, rank_state
from rnnkit.engine.averaging import WeightAverage
from rnnkit.engine.config import TrainConfig
from rnnkit.engine.distributed import all_gather_bytes, all_reduce_sum, broadcast_model, init_from_env, sum_gradients
from rnnkit.engine.loop_state import LoopState
from rnnkit.engine.metrics_log import MetricsLog
from rnnkit.engine.optim import LRSchedule, build_optimizer
from rnnkit.engine.progress import Progress
from rnnkit.engine.run_dir import RunDirectory
from rnnkit.engine.structures import detach, to_device
from rnnkit.engine.task import StepResult, TrainingTask
from rnnkit.errors import CheckpointError, ConfigError, RnnkitError

log = logging.getLogger("rnnkit.engine")
PLOT_EVERY = 60.0  # seconds between redraws of curves.png during training (it is always drawn at the end)


@dataclass
class TrainResult:
    """What ``fit`` returns.

    ``stopped_reason`` is one of "epochs", "max_steps", "time_budget", "early_stopping", "interrupted".
    """

    best_metric: float | None
    steps: int
    history: list[dict[str, Any]]
    stopped_reason: str
    best_step: int | None = None
    epoch: int = 0


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``auto`` (CUDA when available) as a torch device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested, but CUDA is not available on this machine")
    return torch.device(name)


class Trainer:
    """Trains ``model`` on ``task`` (see ``rnnkit.engine.TrainingTask``), writing into ``out_dir``.

    Args:
        model: the nn.Module to train (its weights are updated in place).
        task: train_batches(epoch), eval_batches(), loss(model, batch, state, step), optional evaluate(model).
        config: TrainConfig.
        out_dir: run directory: ``last/``, ``best/``, ``metrics.jsonl``, ``curves.png``.
        model_meta: JSON-able dict stored in every checkpoint's model.json, with at least ``task``,
            ``model_class``, ``model_config`` (plus ``vocabularies``, ``settings``) so the model can be
            rebuilt without the training data. Default: derived from the model.
    """

    def __init__(
        self,
        model: nn.Module,
        task: TrainingTask,
        config: TrainConfig,
        out_dir: str | Path,
        model_meta: dict[str, Any] | None = None,
    ) -> None:
        if model_meta is None:
            get_config = getattr(model, "get_config", dict)
            model_meta = {"task": "unknown", "model_class": type(model).__name__, "model_config": get_config()}
        checkpoint.model_json(model_meta)  # ValueError now rather than at the first save
        json.dumps(model_meta)  # TypeError now if it is not JSON
        self.model = model
        self.task = task
        self.config = config
        self.out_dir = Path(out_dir)
        self.model_meta = model_meta
        self.device = torch.device("cpu")
        self._interrupted = False

    # ----- the loop -----

    def fit(self, resume: bool = False) -> TrainResult:
        """Train until epochs, max_steps, time_budget, early stopping or Ctrl-C; see the module docstring.

        With ``resume=True`` training continues from ``out_dir/last`` exactly where it stopped.
        """
        cfg = self.config
        self.device = resolve_device(cfg.device)
        ctx = init_from_env(self.device.type == "cuda")
        if ctx.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", ctx.local_rank)
        self.ctx = ctx
        self.model.to(self.device)
        broadcast_model(self.model, ctx)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(cfg, self.params)
        self.average = None if cfg.average_from is None else WeightAverage(self.params, cfg.average_from)
        self.metrics_log = MetricsLog(self.out_dir, enabled=ctx.is_main)
        self._interrupted = False

        batches = self.task.train_batches(0)
        per_rank = self._per_rank(batches, 0)
        limits = [cfg.epochs * per_rank] + ([cfg.max_steps] if cfg.max_steps is not None else [])
        self.schedule = LRSchedule.from_config(cfg, min(limits))

        self.run_dir = RunDirectory(self.out_dir, self.model, self.model_meta, cfg, ctx, self.device)
        state, carried = LoopState(), None
        if resume:
            state, carried = self.run_dir.restore(self.optimizer, self.schedule, self.average)
        else:
            self.run_dir.start_afresh()
            rank_state.seed_everything(cfg.seed + ctx.rank)
        self.metrics_log.rewrite(state.history)

        progress = Progress(cfg.progress, min(limits), state.step, enabled=ctx.is_main)
        self.started = time.perf_counter()
        start_step = state.step  # every run makes at least one step, whatever its time budget
        self._train_seconds = 0.0  # time spent in training steps since the latest training record
        self._last_plot = time.perf_counter()
        batches_epoch = -1
        reason = ""
        try:
            with progress.redirect_logging(), self._sigint_guard():
                while True:
                    if state.epoch >= cfg.epochs:
                        reason = "epochs"
                    elif cfg.max_steps is not None and state.step >= cfg.max_steps:
                        reason = "max_steps"
                    elif not ctx.enabled and state.step > start_step:
                        reason = self._local_stop_reason()
                    if reason:
                        break
                    if batches_epoch != state.epoch:
                        batches = batches if state.epoch == 0 else self.task.train_batches(state.epoch)
                        per_rank, batches_epoch = self._per_rank(batches, state.epoch), state.epoch
                        if state.batch_index >= per_rank:
                            raise CheckpointError(
                                f"{self.out_dir / 'last'}: the checkpoint is at batch {state.batch_index} of epoch "
                                f"{state.epoch}, which now has {per_rank}: the training data changed"
                            )
                    if state.batch_index == 0:
                        carried = None  # each epoch starts with a fresh recurrent state
                    batch = to_device(batches[state.batch_index * ctx.world_size + ctx.rank], self.device)
                    step_start = time.perf_counter()
                    carried, stop = self._train_step(state, batch, carried)
                    self._train_seconds += time.perf_counter() - step_start
                    state.step += 1
                    if self.average is not None:
                        self.average.update(state.step)
                    state.batch_index += 1
                    progress.step(state.step)
                    if state.step % cfg.log_every == 0:
                        items = state.window["n"]
                        record = {"kind": "train", "step": state.step, "epoch": self._epoch(state, per_rank)}
                        record.update(state.take("window"))
                        record["lr"] = self.optimizer.param_groups[0]["lr"]
                        record["items_per_s"] = items / max(self._train_seconds, 1e-9)
                        record["elapsed"] = time.perf_counter() - self.started
                        self._train_seconds = 0.0
                        self._append(state, record)
                        progress.report(state.step, state.epoch, record["loss"], record["lr"], record["items_per_s"])
                    if state.batch_index >= per_rank:
                        state.epoch += 1
                        state.batch_index = 0
                        carried = None
                    if state.batch_index == 0 or (cfg.eval_every and state.step % cfg.eval_every == 0):
                        if self._validate(state, carried, per_rank):
                            reason = "early_stopping"
                            break
                    elif cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                        self._save_last(state, carried)
                    if stop:
                        reason = stop
                        break
                if state.last_eval_step != state.step:
                    self._save_last(state, carried)
                if reason != "interrupted" and state.last_eval_step != state.step:
                    # A closing validation for best/ and the report; last/ was saved before it, so a
                    # resumed run continues as if this validation had not happened.
                    self._validate(state, None, per_rank, final=True)
        finally:
            progress.close()
        self.metrics_log.plot(state.history)
        best_metric, best_step = self._best(state)
        if reason == "interrupted":
            log.warning("interrupted at step %d; saved %s (continue with resume)", state.step, self.out_dir / "last")
        else:
            log.info("stopped (%s) at step %d; best %s %s", reason, state.step, cfg.monitor, best_metric)
        if self.average is not None:
            self.average.assign()  # training ends with the averaged weights θ̄ (last/ keeps θ for a resume)
        if cfg.restore_best:
            self.run_dir.load_best()
        return TrainResult(best_metric, state.step, state.history, reason, best_step, state.epoch)

    def _best(self, state: LoopState) -> tuple[float | None, int | None]:
        """The best monitored value and its step: the run's own, or best/'s where that is better. A resumed
        run starts from last/, saved before the closing validation of the run it continues; that
        validation's weights may be the ones in best/."""
        saved = self.run_dir.best_saved
        if saved is None or (state.best_metric is not None and not self.run_dir.beats(saved, state.best_metric)):
            return state.best_metric, state.best_step
        return saved, self.run_dir.best_saved_step

    def _per_rank(self, batches: Any, epoch: int) -> int:
        per_rank = len(batches) // self.ctx.world_size
        if per_rank == 0:
            raise RnnkitError(
                f"the task gave {len(batches)} training batches for epoch {epoch}, "
                f"fewer than the {self.ctx.world_size} process(es)"
            )
        return per_rank

    @staticmethod
    def _epoch(state: LoopState, per_rank: int) -> float:
        """Epochs done, as a fraction (a record's ``epoch``)."""
        return round(state.epoch + state.batch_index / per_rank, 6)

    def _local_stop_reason(self) -> str:
        if self._interrupted:
            return "interrupted"
        budget = self.config.time_budget
        if budget is not None and time.perf_counter() - self.started >= budget:
            return "time_budget"
        return ""

    def _train_step(self, state: LoopState, batch: Any, carried: Any) -> tuple[Any, str]:
        """One optimiser step; returns the detached carried state and a stop reason agreed by all ranks
        ("" to go on)."""
        ctx, cfg = self.ctx, self.config
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        result = self.task.loss(self.model, batch, carried, state.step)
        if not isinstance(result, StepResult) or not isinstance(result.loss, torch.Tensor) or result.loss.dim():
            raise TypeError("task.loss must return a StepResult whose loss is a scalar tensor")
        n = int(result.n_items)
        loss = result.loss
        scale = 1.0
        stop = ""
        if ctx.enabled:
            reason = self._local_stop_reason()
            flags = [float(reason == "time_budget"), float(reason == "interrupted")]
            sums = torch.tensor([float(loss.detach()) * n, n, *flags], dtype=torch.float64, device=self.device)
            all_reduce_sum(sums, ctx)
            value, n_all = float(sums[0] / sums[1]), int(sums[1])
            scale = n / max(1, n_all)  # this rank's share: summed over ranks, the mean over all items
            stop = "interrupted" if sums[3] > 0 else ("time_budget" if sums[2] > 0 else "")
        else:
            value, n_all = float(loss.detach()), n
        if not math.isfinite(value):
            self._nonfinite(state, f"the training loss is {value}")
        (loss * scale if scale != 1.0 else loss).backward()
        sum_gradients(self.params, ctx)
        if cfg.clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.clip_norm)
            if not torch.isfinite(norm):
                self._nonfinite(state, f"the gradient norm is {float(norm)}")
        self.schedule.apply(self.optimizer, state.step)
        self.optimizer.step()
        metrics = {k: float(v) for k, v in result.metrics.items()}
        state.add(state.window, value, n_all, n, metrics)
        state.add(state.since_eval, value, n_all, n, {})
        return detach(result.state), stop

    def _nonfinite(self, state: LoopState, what: str) -> None:
        last = self.out_dir / "last"
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written"
        raise RnnkitError(f"step {state.step + 1}: {what}; training stopped ({kept}; try a lower lr or clip_norm)")

    # ----- validation -----

    def _evaluate(self, step: int) -> dict[str, float]:
        """Validation metrics on rank 0 (shared with the other ranks): weighted mean ``loss`` + evaluate()."""
        metrics: dict[str, float] = {}
        if self.ctx.is_main:
            model = self.model
            model.eval()
            total, items, state = 0.0, 0, None
            with torch.no_grad():
                for batch in self.task.eval_batches():
                    result = self.task.loss(model, to_device(batch, self.device), state, step)
                    total += float(result.loss) * int(result.n_items)
                    items += int(result.n_items)
                    state = result.state
                if items:
                    metrics["loss"] = total / items
                evaluate = getattr(self.task, "evaluate", None)
                if evaluate is not None:
                    metrics.update({k: float(v) for k, v in evaluate(model).items()})
            model.train()
        if self.ctx.enabled:
            shared = all_gather_bytes(json.dumps(metrics).encode("utf-8"), self.ctx, self.device)
            metrics = json.loads(shared[0])
        return metrics

    def _validate(self, state: LoopState, carried: Any, per_rank: int, final: bool = False) -> bool:
        """Validate, update best/ and early stopping, save last/ (unless ``final``); True: stop early.

        With weight averaging under way, the averaged weights θ̄ are the ones validated and kept in best/."""
        cfg = self.config
        train = state.take("since_eval")
        averaging = self.average is not None and self.average.count > 0
        with self.average.applied() if averaging else nullcontext():
            metrics = self._evaluate(state.step)
            value = metrics.get(cfg.monitor)
            if value is None and not metrics and cfg.monitor == "loss" and "loss" in train:
                value = train["loss"]  # no validation data: the training loss stands in
            if value is None:
                available = ", ".join(sorted(metrics)) or "none: the task has no validation data"
                raise ConfigError(f"monitor {cfg.monitor!r} is not a validation metric (available: {available})")
            improved = state.best_metric is None or self.run_dir.beats(value, state.best_metric)
            if improved:
                state.best_metric, state.best_step, state.bad_evals = value, state.step, 0
            else:
                state.bad_evals += 1
            state.last_eval_step = state.step
            self.run_dir.save_best(state, value)
        record: dict[str, Any] = {"kind": "eval", "step": state.step, "epoch": self._epoch(state, per_rank)}
        record.update(metrics)
        if "loss" in train:
            record["train_loss"] = train["loss"]
        if averaging:
            record["averaged_steps"] = self.average.count
        if final:
            record["final"] = True
        self.schedule.observe(value)
        self._append(state, record)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        averaged = f"  (weights averaged over {self.average.count} steps)" if averaging else ""
        log.info("step %d  validation  %s%s%s", state.step, shown or f"train loss {value:.4f}", averaged,
                 "  (best)" * improved)
        if not final:
            self._save_last(state, carried)
            if time.perf_counter() - self._last_plot > PLOT_EVERY:  # drawing takes a while: not every time
                self.metrics_log.plot(state.history)
                self._last_plot = time.perf_counter()
        return cfg.patience is not None and state.bad_evals >= cfg.patience

    def _save_last(self, state: LoopState, carried: Any) -> None:
        self.run_dir.save_last(state, carried, self.optimizer, self.schedule, self.average)

    def _append(self, state: LoopState, record: dict[str, Any]) -> None:
        state.history.append(record)
        self.metrics_log.append(record)

    @contextmanager
    def _sigint_guard(self) -> Iterator[None]:
        """First Ctrl-C: finish the step, save last/, return. Second Ctrl-C: KeyboardInterrupt at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
            log.warning("Ctrl-C: stopping after this step and saving last/ (press Ctrl-C again to abort)")

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
