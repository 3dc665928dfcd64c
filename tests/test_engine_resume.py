"""Exact resumption: a run interrupted and resumed gives bitwise the same loss curve and weights."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from tests._engine_toy import META, ToyNet, ToyTask, one_thread  # noqa: F401 (fixture)

from rnnkit.engine import TrainConfig, Trainer, load_checkpoint

CONFIG = dict(epochs=3, eval_every=5, log_every=1, progress="off", seed=3, restore_best=False, device="cpu")
pytestmark = pytest.mark.usefixtures("one_thread")


def run(out, hooks=None, resume=False, **overrides):
    torch.manual_seed(0)
    model = ToyNet()
    config = TrainConfig(**{**CONFIG, **overrides})
    return Trainer(model, ToyTask(hooks=hooks), config, out, META).fit(resume=resume), model


def curve(history):
    """The loss curve: every training and validation record, without timings and closing validations."""
    return [{k: v for k, v in r.items() if k not in ("items_per_s", "elapsed")} for r in history if not r.get("final")]


class CrashError(Exception):
    pass


def crash():
    raise CrashError


def interrupt():
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The run never interrupted."""
    full, model = run(tmp_path_factory.mktemp("full"))
    assert full.stopped_reason == "epochs" and full.steps == 36
    return full, model


@pytest.mark.parametrize(
    "first_run",
    [
        dict(max_steps=17),  # stopped by max_steps mid-epoch, off the validation grid
        dict(hooks={22: interrupt}),  # Ctrl-C: saves last/ after the current step
        dict(hooks={13: crash}),  # killed mid-run: resumes from the last validation's checkpoint
    ],
    ids=["max_steps", "ctrl_c", "crash"],
)
def test_interrupted_run_resumes_bitwise(tmp_path, full_run, first_run):
    full, full_model = full_run

    try:
        first, _ = run(tmp_path / "split", **first_run)
        assert first.stopped_reason in ("max_steps", "interrupted")
    except CrashError:
        pass
    resumed, resumed_model = run(tmp_path / "split", resume=True)

    assert resumed.steps == 36
    assert curve(resumed.history) == curve(full.history)  # floats compared exactly
    for name, tensor in full_model.state_dict().items():
        assert torch.equal(tensor, resumed_model.state_dict()[name]), name
    _, saved = load_checkpoint(tmp_path / "split" / "last")
    assert all(torch.equal(saved[k], v) for k, v in full_model.state_dict().items())


def test_resume_without_checkpoint_is_an_error(tmp_path):
    from rnnkit.errors import CheckpointError

    with pytest.raises(CheckpointError, match="last"):
        run(tmp_path / "nothing", resume=True)


def test_resume_from_a_damaged_or_foreign_checkpoint_is_an_error(tmp_path):
    from rnnkit.errors import CheckpointError

    run(tmp_path, max_steps=3)
    trainer_json = tmp_path / "last" / "trainer.json"
    good = trainer_json.read_text()
    trainer_json.write_text(good.replace('"loop"', '"lop"'))
    with pytest.raises(CheckpointError, match=r"trainer\.json: corrupt trainer state"):
        run(tmp_path, resume=True)
    trainer_json.write_text(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"trainer\.json:\d+: corrupt JSON"):
        run(tmp_path, resume=True)
    trainer_json.write_text(good)
    other = Trainer(ToyNet(), ToyTask(), TrainConfig(**CONFIG), tmp_path, {**META, "model_class": "Other"})
    with pytest.raises(CheckpointError, match="model_class is 'ToyNet', this run trains 'Other'"):
        other.fit(resume=True)
