"""One process of the 2-process test run, started by torchrun (see test_engine_distributed.py):

python -m torch.distributed.run --standalone --nproc_per_node=2 tests/_engine_ddp_worker.py OUT_DIR
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests._engine_toy

from tests._engine_toy import DDP_CONFIG, META, SplitToyTask, ToyNet

from rnnkit.engine import TrainConfig, Trainer

if __name__ == "__main__":
    torch.set_num_threads(1)
    torch.manual_seed(0)
    Trainer(ToyNet(dropout=0.0), SplitToyTask(), TrainConfig(**DDP_CONFIG), sys.argv[1], META).fit()
    torch.distributed.destroy_process_group()
