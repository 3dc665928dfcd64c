"""Two gloo processes on CPU (torchrun + DistributedDataParallel) train the same model one process would.

Each batch is split unevenly (1 row + 3 rows) between the processes, which checks that the loss is
weighted by items across ranks rather than averaged per rank.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from tests._engine_toy import DDP_CONFIG, META, ToyNet, ToyTask

from rnnkit.engine import TrainConfig, Trainer, load_checkpoint

WORKER = Path(__file__).resolve().parent / "_engine_ddp_worker.py"


@pytest.mark.slow
def test_two_gloo_processes_train_like_one(tmp_path):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run([*command, str(WORKER), str(tmp_path / "ddp")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    torch.manual_seed(0)
    model = ToyNet(dropout=0.0)
    single = Trainer(model, ToyTask(), TrainConfig(**DDP_CONFIG), tmp_path / "one", META).fit()

    assert single.steps == 24
    _, ddp_weights = load_checkpoint(tmp_path / "ddp" / "last")
    for name, tensor in model.state_dict().items():
        assert torch.allclose(ddp_weights[name], tensor, rtol=0, atol=1e-6), name
    # the logged losses are means over both processes' items
    ddp_history = [json.loads(line) for line in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in ddp_history] == [r["step"] for r in single.history]
    for ours, theirs in zip(ddp_history, single.history, strict=True):
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-6)
