"""Multi-process training through ``torchrun`` and DistributedDataParallel.

``torchrun --nproc_per_node=N`` starts N processes with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in
their environment; the engine then joins a process group (nccl on GPU, gloo on CPU), wraps the model
in DDP (which averages gradients over ranks during ``backward``), and gives rank r batches r, r+N,
r+2N, ... of each epoch. Rank 0 alone writes checkpoints, logs and the progress report.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger("rnnkit.engine")


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: its rank among ``world_size`` processes (1: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(use_cuda: bool) -> DistContext:
    """Join the process group described by torchrun's environment variables (if there is one)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
        log.debug("rank %d/%d joined the %s process group", rank, world_size, backend)
    return DistContext(rank, world_size, local_rank)


def wrap(model: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """``model`` in DistributedDataParallel (which broadcasts rank 0's weights), or as is."""
    if not ctx.enabled:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Element-wise sum over ranks (in place; returned for chaining)."""
    if ctx.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Rank 0's ``values`` on every rank (in place)."""
    if ctx.enabled:
        dist.broadcast(values, src=0)
    return values


def all_gather_bytes(data: bytes, ctx: DistContext, device: torch.device) -> list[bytes]:
    """Every rank's ``data``, in rank order (byte tensors padded to the longest; no pickle)."""
    if not ctx.enabled:
        return [data]
    length = torch.tensor([len(data)], dtype=torch.long, device=device)
    lengths = [torch.zeros_like(length) for _ in range(ctx.world_size)]
    dist.all_gather(lengths, length)
    longest = int(max(int(n) for n in lengths))
    mine = torch.zeros(longest, dtype=torch.uint8, device=device)
    mine[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(device)
    gathered = [torch.zeros_like(mine) for _ in range(ctx.world_size)]
    dist.all_gather(gathered, mine)
    return [bytes(t[: int(n)].cpu().numpy().tobytes()) for t, n in zip(gathered, lengths, strict=True)]
