"""Nested batch and state structures: moving them between devices, detaching, flattening to tensors.

A batch or a carried recurrent state may be a tensor, or tuples (named or not), lists, dicts and
dataclasses of them; anything else (ints, strings, None) passes through unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch


def _map(obj: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_map(x, fn) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {key: _map(value, fn) for key, value in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: _map(getattr(obj, f.name), fn) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj


def to_device(obj: Any, device: str | torch.device) -> Any:
    """``obj`` with every tensor inside moved to ``device``.

    Example:
        >>> batch = {"ids": torch.ones(2, 3), "lengths": (torch.tensor([3, 2]), "note")}
        >>> to_device(batch, "cpu")["lengths"][1]
        'note'
    """
    non_blocking = torch.device(device).type == "cuda"
    return _map(obj, lambda t: t.to(device, non_blocking=non_blocking))


def detach(obj: Any) -> Any:
    """``obj`` with every tensor detached from the autograd graph (truncated BPTT cuts here)."""
    return _map(obj, lambda t: t.detach())


def flatten(obj: Any) -> tuple[Any, list[torch.Tensor]]:
    """Split a carried state into a JSON-able structure and its tensors (tuples, lists, dicts, None).

    Example:
        >>> structure, tensors = flatten((torch.zeros(1), [torch.ones(2), None]))
        >>> structure, len(tensors)
        (['tuple', [['tensor', 0], ['list', [['tensor', 1], None]]]], 2)
        >>> unflatten(structure, tensors)[1][0].tolist()
        [1.0, 1.0]
    """
    tensors: list[torch.Tensor] = []

    def walk(x: Any) -> Any:
        if x is None:
            return None
        if isinstance(x, torch.Tensor):
            tensors.append(x)
            return ["tensor", len(tensors) - 1]
        if isinstance(x, (tuple, list)):
            return ["tuple" if isinstance(x, tuple) else "list", [walk(v) for v in x]]
        if isinstance(x, dict):
            return ["dict", {str(k): walk(v) for k, v in x.items()}]
        raise TypeError(f"cannot save a carried state holding {type(x).__name__}")

    return walk(obj), tensors


def unflatten(structure: Any, tensors: list[torch.Tensor]) -> Any:
    """Inverse of ``flatten``."""
    if structure is None:
        return None
    kind, content = structure
    if kind == "tensor":
        return tensors[content]
    if kind == "dict":
        return {k: unflatten(v, tensors) for k, v in content.items()}
    items = [unflatten(v, tensors) for v in content]
    return tuple(items) if kind == "tuple" else items
