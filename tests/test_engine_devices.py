"""Checkpoints move between devices: trained on GPU, loaded and resumed on CPU, and back (needs CUDA)."""

from __future__ import annotations

import pytest
import torch
from tests._engine_toy import META, ToyNet, ToyTask

from rnnkit.engine import TrainConfig, Trainer, load_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CONFIG = dict(epochs=2, eval_every=5, log_every=1, progress="off", seed=0, restore_best=False)


def fit(out, device, resume=False, **overrides):
    torch.manual_seed(0)
    model = ToyNet()
    result = Trainer(model, ToyTask(), TrainConfig(**{**CONFIG, **overrides, "device": device}), out, META).fit(resume)
    return result, model


def test_gpu_checkpoint_loads_and_resumes_on_cpu_and_back(tmp_path):
    result, model = fit(tmp_path / "gpu", "cuda", max_steps=7)
    assert next(model.parameters()).is_cuda and result.steps == 7
    _, weights = load_checkpoint(tmp_path / "gpu" / "last")
    assert all(w.device.type == "cpu" for w in weights.values())
    assert all(torch.equal(weights[k], v.cpu()) for k, v in model.state_dict().items())

    resumed, cpu_model = fit(tmp_path / "gpu", "cpu", resume=True, max_steps=17)  # GPU run, CPU resume
    assert resumed.steps == 17 and not next(cpu_model.parameters()).is_cuda
    again, gpu_model = fit(tmp_path / "gpu", "cuda", resume=True)  # and back to the GPU
    assert again.steps == 24 and next(gpu_model.parameters()).is_cuda
    steps = [r["step"] for r in again.history if r["kind"] == "train"]
    assert steps == list(range(1, 25))


def test_gpu_training_learns_like_cpu_training(tmp_path):
    gpu, _ = fit(tmp_path / "gpu", "cuda")
    cpu, _ = fit(tmp_path / "cpu", "cpu")
    gpu_losses = [r["loss"] for r in gpu.history if r["kind"] == "eval"]
    cpu_losses = [r["loss"] for r in cpu.history if r["kind"] == "eval"]
    assert gpu_losses == pytest.approx(cpu_losses, abs=1e-3)  # same seed, different kernels
