"""Shared pieces of the tagger and the classifier: the cell names they accept, and how a part passed in
as a module (a head, a pooling, a character encoder) is described in a JSON config and rebuilt from it.

A part is any ``nn.Module`` with ``get_config()``; its config records ``{"name": ..., **get_config()}``,
where ``name`` is its key in the owning model's registry. Passing that dict instead of the module builds
the same part, so ``type(m)(**m.get_config())`` and ``from_config`` work on JSON alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from rnnkit.layers import Recurrent

# "gru-cudnn" is the GRU in torch.nn.GRU's form (cuDNN on CUDA, hand-written BPTT on the CPU);
# "gru" is the lecture's GRU (hand-written BPTT, checked against the readable cell).
CELLS = ("lstm", "gru", "gru-cudnn", "elman")


def bidirectional_rnn(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> Recurrent:
    """A bidirectional :class:`~rnnkit.layers.Recurrent` for a cell name of ``CELLS``."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    base, _, variant = cell.partition("-")
    return Recurrent(
        base, input_size, hidden_size, num_layers=num_layers, bidirectional=True,
        dropout=dropout if num_layers > 1 else 0.0, variant=variant or "lecture",
    )


def build_part(part: nn.Module | Mapping[str, Any], registry: Mapping[str, type[nn.Module]], what: str) -> nn.Module:
    """``part`` itself if it is a module of the registry, else the module its config dict describes."""
    if isinstance(part, nn.Module):
        if type(part) not in registry.values():
            raise ValueError(f"{what} must be one of {sorted(registry)}, got {type(part).__name__}")
        return part
    if not isinstance(part, Mapping) or part.get("name") not in registry:
        raise ValueError(f"{what} must be a module or a config with name in {sorted(registry)}, got {part!r}")
    return registry[part["name"]](**{k: v for k, v in part.items() if k != "name"})


def part_config(part: nn.Module, registry: Mapping[str, type[nn.Module]]) -> dict[str, Any]:
    """The JSON description of a part: its registry name and its ``get_config()``."""
    name = next(key for key, cls in registry.items() if type(part) is cls)
    return {"name": name, **part.get_config()}
