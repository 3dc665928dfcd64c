"""The training loop: stopping rules, best/last checkpoints, NaN handling, carried state, logs."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch
from tests._engine_toy import META, ToyNet, ToyTask, one_thread  # noqa: F401 (fixture)

from rnnkit.engine import StepResult, TrainConfig, Trainer, load_checkpoint
from rnnkit.errors import ConfigError, RnnkitError

BASE = dict(epochs=2, log_every=2, progress="off", seed=0, device="cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


def fit(out, task=None, model=None, **config):
    torch.manual_seed(0)
    model = model or ToyNet()
    trainer = Trainer(model, task or ToyTask(), TrainConfig(**{**BASE, **config}), out, META)
    return trainer.fit(), model


def test_run_directory_and_logs(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="rnnkit.engine"):
        result, _ = fit(tmp_path, eval_every=5, progress="lines")
    assert result.stopped_reason == "epochs" and result.steps == 24 and result.epoch == 2
    assert {p.name for p in tmp_path.iterdir()} == {"best", "last", "metrics.jsonl", "curves.png"}
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert records == result.history
    evals = [r["step"] for r in records if r["kind"] == "eval"]
    assert evals == [5, 10, 12, 15, 20, 24]  # every 5 steps and at both epoch ends
    assert [r["step"] for r in records if r["kind"] == "train"] == list(range(2, 25, 2))
    assert all("accuracy" in r for r in records if r["kind"] == "train")
    assert "step 2/24" in caplog.text and "items/s" in caplog.text and "validation" in caplog.text
    best_loss = min(r["loss"] for r in records if r["kind"] == "eval")
    assert result.best_metric == best_loss
    assert load_checkpoint(tmp_path)[0]["training"]["metric"] == best_loss  # resolve() picks best/


def test_validation_loss_is_the_item_weighted_mean_under_eval_and_no_grad(tmp_path):
    class Probe(ToyTask):
        def eval_batches(self):
            return [self.data[0], (self.data[1][0][:1], self.data[1][1][:1])]  # 20 and 5 items

        def loss(self, model, batch, state, step):
            if not model.training:
                assert not torch.is_grad_enabled()
                return StepResult(torch.tensor(float(batch[1].numel())), batch[1].numel())
            return super().loss(model, batch, state, step)

    result, _ = fit(tmp_path, task=Probe(), epochs=1)
    assert result.history[-1]["loss"] == pytest.approx((20 * 20 + 5 * 5) / 25)


def test_carried_state_is_detached_and_reset_each_epoch(tmp_path):
    seen = []

    class Watch(ToyTask):
        def loss(self, model, batch, state, step):
            if model.training:
                seen.append(None if state is None else state.requires_grad)
            return super().loss(model, batch, state, step)

    fit(tmp_path, task=Watch(n=4))
    assert seen == [None, False, False, False] * 2


def test_max_steps_stops_and_validates_once_more(tmp_path):
    result, _ = fit(tmp_path, max_steps=7, eval_every=5)
    assert result.stopped_reason == "max_steps" and result.steps == 7
    assert result.history[-1]["kind"] == "eval" and result.history[-1]["final"] is True
    assert load_checkpoint(tmp_path / "last")[0]["training"]["step"] == 7


def test_time_budget(tmp_path):
    result, _ = fit(tmp_path, time_budget=1e-6)
    assert result.stopped_reason == "time_budget" and result.steps == 1


def test_early_stopping_on_a_task_metric_and_restore_best(tmp_path):
    class Scored(ToyTask):
        calls = 0

        def evaluate(self, model):
            Scored.calls += 1
            return {"f1": [0.5, 0.9, 0.8, 0.7, 0.6][Scored.calls - 1]}

    result, model = fit(tmp_path, task=Scored(), eval_every=3, patience=2, monitor="f1", monitor_mode="max")
    assert result.stopped_reason == "early_stopping" and result.steps == 12
    assert result.best_metric == 0.9 and result.best_step == 6
    _, best = load_checkpoint(tmp_path / "best")
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())  # restore_best
    _, last = load_checkpoint(tmp_path / "last")
    assert not all(torch.equal(last[k], v) for k, v in model.state_dict().items())


def test_a_resumed_run_reports_the_best_weights_it_keeps(tmp_path):
    class Scored(ToyTask):
        calls = 0

        def evaluate(self, model):
            Scored.calls += 1
            return {"f1": [0.5, 0.9, 0.6][Scored.calls - 1]}

    settings = {**BASE, "eval_every": 4, "monitor": "f1", "monitor_mode": "max"}
    # Stopped at step 6: last/ is saved, then a closing validation (0.9, the best) writes best/.
    first = Trainer(ToyNet(), Scored(), TrainConfig(**settings, max_steps=6), tmp_path, META).fit()
    assert (first.best_metric, first.best_step) == (0.9, 6)
    # Resumed from last/ (as if the closing validation had not happened), validated once more at step 8 (0.6).
    resumed = Trainer(ToyNet(), Scored(), TrainConfig(**settings, max_steps=8), tmp_path, META).fit(resume=True)
    assert (resumed.best_metric, resumed.best_step) == (0.9, 6)  # what best/ holds
    assert load_checkpoint(tmp_path / "best")[0]["training"]["metric"] == 0.9


def test_unknown_monitor_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"monitor 'bleu'.*available: loss"):
        fit(tmp_path, monitor="bleu")


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, bad):
    task = ToyTask()
    task.hooks = {7: lambda: setattr(task, "loss_value", bad)}
    with pytest.raises(RnnkitError, match=rf"step 8: the training loss is {bad}.*{tmp_path / 'last'}"):
        fit(tmp_path, task=task, eval_every=5)
    assert load_checkpoint(tmp_path / "last")[0]["training"]["step"] == 5
    _, weights = load_checkpoint(tmp_path / "last")
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_no_validation_data_monitors_the_training_loss(tmp_path):
    class NoDev(ToyTask):
        def eval_batches(self):
            return []

    result, _ = fit(tmp_path, task=NoDev(), epochs=1)
    assert result.history[-1]["kind"] == "eval" and result.best_metric == result.history[-1]["train_loss"]


def test_cuda_request_without_cuda_is_a_config_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        fit(tmp_path, device="cuda")
