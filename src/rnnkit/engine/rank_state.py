"""The state each process holds on its own: RNG states (torch, CUDA, Python, NumPy) and the carried
recurrent state. Saving it is what makes a resumed run draw the same dropout masks and continue the same
TBPTT streams as a run never interrupted.

Each rank packs its state as safetensors bytes + JSON; rank 0 gathers them all into the checkpoint
(tensors under ``rank<r>/``, JSON under ``ranks[r]``).
"""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from rnnkit.engine.checkpoint import cpu_tensors
from rnnkit.engine.distributed import DistContext, all_gather_bytes
from rnnkit.engine.structures import flatten, unflatten


def seed_everything(seed: int) -> None:
    """Seed torch (every device), Python's ``random`` and NumPy's global generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture(carried: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """This process's RNG states and carried state as (tensors, JSON)."""
    structure, carried_tensors = flatten(carried)
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = state
    tensors.update({f"carried/{i}": t for i, t in enumerate(carried_tensors)})
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    data = {
        "python_rng": [version, list(mt), gauss],
        "numpy_rng": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "carried": structure,
    }
    return tensors, data


def restore(tensors: dict[str, torch.Tensor], data: dict[str, Any], device: torch.device) -> Any:
    """Set the RNG states saved by ``capture``; returns the carried state on ``device``."""
    torch.set_rng_state(tensors["rng/torch"].cpu())
    cuda = sorted((k for k in tensors if k.startswith("rng/cuda/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    if cuda and torch.cuda.is_available():
        states = [tensors[k].cpu() for k in cuda][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(states)
    version, mt, gauss = data["python_rng"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = data["numpy_rng"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    n = sum(1 for k in tensors if k.startswith("carried/"))
    carried = [tensors[f"carried/{i}"].to(device) for i in range(n)]
    return unflatten(data["carried"], carried)


def gather(
    carried: Any, ctx: DistContext, device: torch.device
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Every rank's ``capture`` (a collective call): tensors prefixed ``rank<r>/``, JSON per rank."""
    tensors, data = capture(carried)
    packed = all_gather_bytes(save_safetensors_bytes(cpu_tensors(tensors)), ctx, device)
    packed_json = all_gather_bytes(json.dumps(data).encode("utf-8"), ctx, device)
    all_tensors: dict[str, torch.Tensor] = {}
    for rank, blob in enumerate(packed):
        all_tensors.update({f"rank{rank}/{k}": t for k, t in load_safetensors_bytes(blob).items()})
    return all_tensors, [json.loads(blob) for blob in packed_json]


def select(tensors: dict[str, torch.Tensor], rank: int) -> dict[str, torch.Tensor]:
    """The tensors ``gather`` stored for ``rank``, without their prefix."""
    prefix = f"rank{rank}/"
    return {k[len(prefix) :]: t for k, t in tensors.items() if k.startswith(prefix)}
