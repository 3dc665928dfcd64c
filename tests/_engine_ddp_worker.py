"""One process of the 2-process test run (test_engine_distributed.py starts both with torchrun's
environment variables; by hand: ``torchrun --standalone --nproc_per_node=2 tests/_engine_ddp_worker.py OUT``).

It trains into OUT_DIR/forward calling the model's forward, into OUT_DIR/direct calling its parts, and
with dropout into OUT_DIR/full at once and OUT_DIR/split stopped after 7 steps and resumed.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests._engine_toy

from tests._engine_toy import DDP_CONFIG, META, SplitToyTask, ToyNet

from rnnkit.engine import TrainConfig, Trainer

if __name__ == "__main__":
    torch.set_num_threads(1)
    for call in ("forward", "direct"):
        torch.manual_seed(0)
        task = SplitToyTask()
        task.direct = call == "direct"
        Trainer(ToyNet(dropout=0.0), task, TrainConfig(**DDP_CONFIG), Path(sys.argv[1]) / call, META).fit()
    # exact resumption with 2 processes: dropout (per-rank RNG) and carried state (per-rank streams)
    for name, steps, resume in (("full", None, False), ("split", 7, False), ("split", None, True)):
        torch.manual_seed(0)
        config = TrainConfig(**{**DDP_CONFIG, "max_steps": steps})
        Trainer(ToyNet(dropout=0.3), SplitToyTask(), config, Path(sys.argv[1]) / name, META).fit(resume)
    torch.distributed.destroy_process_group()
