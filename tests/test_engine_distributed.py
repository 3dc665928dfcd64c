"""Two gloo processes on CPU (torchrun + DistributedDataParallel) train the same model one process would.

Each batch is split unevenly (1 row + 3 rows) between the processes, which checks that the loss is
weighted by items across ranks rather than averaged per rank. "direct" runs call the model's submodules
rather than its forward (as encoder-decoder tasks do), whose gradients must be synchronised too.
A 2-process run with dropout, stopped and resumed, must continue bitwise as one never stopped.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from tests._engine_toy import DDP_CONFIG, META, ToyNet, ToyTask

from rnnkit.engine import TrainConfig, Trainer, load_checkpoint

WORKER = Path(__file__).resolve().parent / "_engine_ddp_worker.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """Two processes with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR/PORT), started directly:
    torchrun's own agent process would only add start-up time. They train every variant in one go."""
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    ranks = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(out)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    try:
        errors = [process.communicate(timeout=300)[1] for process in ranks]
    finally:
        for process in ranks:
            process.kill()  # only if still running (a timeout)
    assert all(process.returncode == 0 for process in ranks), "\n".join(e[-2000:] for e in errors)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("call", ["forward", "direct"])
def test_two_gloo_processes_train_like_one(tmp_path, ddp_runs, call):
    torch.manual_seed(0)
    model = ToyNet(dropout=0.0)
    task = ToyTask()
    task.direct = call == "direct"
    single = Trainer(model, task, TrainConfig(**DDP_CONFIG), tmp_path, META).fit()

    assert single.steps == 24
    _, ddp_weights = load_checkpoint(ddp_runs / call / "last")
    for name, tensor in model.state_dict().items():
        assert torch.allclose(ddp_weights[name], tensor, rtol=0, atol=1e-6), name
    # the logged losses are means over both processes' items
    ddp_history = [json.loads(line) for line in (ddp_runs / call / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in ddp_history] == [r["step"] for r in single.history]
    for ours, theirs in zip(ddp_history, single.history, strict=True):
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-6)


@pytest.mark.slow
def test_two_process_run_resumes_bitwise(ddp_runs):
    def curve(run):
        lines = (ddp_runs / run / "metrics.jsonl").read_text().splitlines()
        return [(r["step"], r["loss"]) for r in map(json.loads, lines) if not r.get("final")]

    assert curve("split") == curve("full") and len(curve("full")) == 24 + 6  # steps + validations
    _, full = load_checkpoint(ddp_runs / "full" / "last")
    _, split = load_checkpoint(ddp_runs / "split" / "last")
    assert all(torch.equal(full[k], split[k]) for k in full)
