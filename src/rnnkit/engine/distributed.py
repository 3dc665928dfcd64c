"""Multi-process training through ``torchrun`` and DistributedDataParallel.

``torchrun --nproc_per_node=N`` starts N processes with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in
their environment; the engine then joins a process group (nccl on GPU, gloo on CPU), gives rank r the
batches r, r+N, r+2N, ... of each epoch, and after each ``backward`` all-reduces the gradients, so that
every rank takes the same optimiser step, the one a single process would take on all N batches
together. Rank 0 alone writes checkpoints, logs and the progress report.

Why not the ``DistributedDataParallel`` wrapper: its reducer synchronises gradients only for a forward
pass that goes through the wrapper. Tasks also call a model's parts directly (an encoder, one decoder
step at a time under scheduled sampling); under DDP those gradients would silently stay unsynchronised
and the ranks drift apart. Reducing after ``backward`` is the same data-parallel arithmetic (one
all-reduce per step instead of DDP's bucketed overlap), whatever the task's code does with the model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

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
    if rank != 0:  # one report per run: the other ranks only warn
        logging.getLogger("rnnkit").setLevel(logging.WARNING)
    return DistContext(rank, world_size, local_rank)


def broadcast_model(model: nn.Module, ctx: DistContext) -> None:
    """Give every rank rank 0's parameters and buffers (as DistributedDataParallel does at start)."""
    if ctx.enabled:
        for tensor in model.state_dict().values():  # these share storage with the parameters
            dist.broadcast(tensor, src=0)


def sum_gradients(parameters: list[nn.Parameter], ctx: DistContext) -> None:
    """Replace each parameter's gradient by its sum over ranks (one flat all-reduce per device and dtype).

    With every rank's loss weighted by its share of the items, n_r / Σ n, the sum is the gradient of
    the mean loss over all ranks' items: what one process would compute on the whole batch. Parameters
    without a gradient on this rank (unused by its batch) take part with zeros.
    """
    if not ctx.enabled:
        return
    groups: dict[tuple[torch.device, torch.dtype], list[nn.Parameter]] = {}
    for p in parameters:
        groups.setdefault((p.device, p.dtype), []).append(p)
    for group in groups.values():
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in group]
        flat = torch.cat([g.reshape(-1) for g in grads])  # (Σ numel,)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for p in group:
            p.grad = flat[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()


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
