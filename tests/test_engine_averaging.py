"""Weight averaging (``average_from``): θ̄ is the mean of the weights after the steps past the start; it
is what validation sees and best/ keeps; last/ keeps it too, so a resumed run continues bitwise."""

from __future__ import annotations

import pytest
import torch
from tests._engine_toy import META, ToyNet, ToyTask, one_thread  # noqa: F401 (fixture)

from rnnkit.engine import TrainConfig, Trainer, load_checkpoint
from rnnkit.engine.averaging import WeightAverage
from rnnkit.errors import ConfigError

BASE = dict(epochs=3, eval_every=5, log_every=1, progress="off", seed=3, restore_best=False, device="cpu",
            lr=0.05, average_from=20)
pytestmark = pytest.mark.usefixtures("one_thread")


def trainer(out, task=None, **config):
    torch.manual_seed(0)
    return Trainer(ToyNet(), task or ToyTask(), TrainConfig(**{**BASE, **config}), out, META)


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def test_the_average_is_the_mean_of_the_weights_after_each_step_past_the_start(tmp_path):
    task = ToyTask()
    run = trainer(tmp_path, task)
    seen = []
    # a hook runs before the loss of step k + 1, when the weights are those after step k
    task.hooks = {k: (lambda: seen.append(weights(run.model))) for k in range(21, 36)}
    result = run.fit()
    _, last = load_checkpoint(tmp_path / "last")  # the trained weights after the last step, 36
    seen.append([last[name] for name, _ in run.model.named_parameters()])
    assert result.steps == 36 and len(seen) == 16 and run.average.count == 16
    for i, mean in enumerate(run.average.mean):
        expected = torch.stack([w[i] for w in seen]).mean(0)
        assert torch.allclose(mean, expected, atol=1e-6), i
        assert not torch.allclose(mean, seen[-1][i], atol=1e-4)  # it is not just the last weights


def test_validation_and_best_see_the_averaged_weights(tmp_path):
    task = ToyTask()
    run = trainer(tmp_path, task)
    at_best = []
    task.hooks = {24: lambda: at_best.extend(t.clone() for t in run.average.mean)}  # after step 24's validation
    result = run.fit()
    last_eval = [r for r in result.history if r["kind"] == "eval"][-1]
    assert last_eval["step"] == 36 and last_eval["averaged_steps"] == 16
    assert all("averaged_steps" not in r for r in result.history if r["kind"] == "eval" and r["step"] <= 20)

    def validation_loss(model):
        model.eval()
        total, items, state = 0.0, 0, None
        with torch.no_grad():
            for batch in run.task.eval_batches():  # the state carried from batch to batch, as the engine does
                result = run.task.loss(model, batch, state, 0)
                total, items, state = total + float(result.loss) * result.n_items, items + result.n_items, result.state
        return total / items

    # restore_best=False: the model ends with the averaged weights θ̄; last/ keeps the trained θ
    assert all(torch.equal(p, mean) for p, mean in zip(weights(run.model), run.average.mean, strict=True))
    averaged = validation_loss(run.model)
    _, trained = load_checkpoint(tmp_path / "last")
    with torch.no_grad():
        with run.average.applied():
            assert all(torch.equal(p, mean) for p, mean in zip(weights(run.model), run.average.mean, strict=True))
        for name, param in run.model.named_parameters():
            param.copy_(trained[name])
        before = weights(run.model)
        with run.average.applied():
            pass
        assert all(torch.equal(a, b) for a, b in zip(weights(run.model), before, strict=True))  # θ is back after it
    raw = validation_loss(run.model)
    assert last_eval["loss"] == pytest.approx(averaged, abs=1e-6)
    assert abs(raw - averaged) > 1e-4
    _, best = load_checkpoint(tmp_path / "best")
    assert result.best_step == 24  # averaged over steps 21-24
    for name, mean in zip(run.model.state_dict(), at_best, strict=True):
        assert torch.equal(best[name], mean), name


def test_nothing_changes_before_the_start(tmp_path):
    plain = trainer(tmp_path / "plain", average_from=None).fit()
    late = trainer(tmp_path / "late", average_from=1000).fit()

    def losses(result):
        return [(r["kind"], r["step"], r["loss"]) for r in result.history]

    assert losses(late) == losses(plain)


@pytest.mark.parametrize("stop_at", [17, 27], ids=["before_the_start", "after_the_start"])
def test_an_interrupted_averaging_run_resumes_bitwise(tmp_path, stop_at):
    full = trainer(tmp_path / "full")
    full_result = full.fit()
    trainer(tmp_path / "split", max_steps=stop_at).fit()
    resumed = trainer(tmp_path / "split")
    resumed_result = resumed.fit(resume=True)

    def curve(history):
        return [{k: v for k, v in r.items() if k not in ("items_per_s", "elapsed")}
                for r in history if not r.get("final")]

    assert curve(resumed_result.history) == curve(full_result.history)
    assert resumed.average.count == full.average.count
    assert all(torch.equal(a, b) for a, b in zip(resumed.average.mean, full.average.mean, strict=True))


def test_a_negative_start_is_a_config_error():
    with pytest.raises(ConfigError, match="average_from must be >= 0"):
        TrainConfig(average_from=-1)


def test_a_saved_average_that_does_not_fit_is_refused():
    average = WeightAverage(list(ToyNet().parameters()), 0)
    with pytest.raises(ValueError, match="shape"):
        average.load({"average/0": torch.zeros(1)}, {"count": 3})
