"""Turning lists of id sequences into padded batches, and grouping sequences of similar length.

Padding uses id 0 (``<pad>`` in every rnnkit vocabulary) and always travels with the true lengths,
so no layer ever mistakes padding for data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack id sequences into a right-padded batch.

    Returns:
        ids: (B, T) LongTensor, T the longest length, padded with ``pad_id``.
        lengths: (B,) LongTensor of the true lengths.

    Example:
        >>> ids, lengths = pad([[5, 6, 7], [8]])
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.full((len(sequences), int(lengths.max()) if len(sequences) else 0), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids, lengths


def length_buckets(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, shuffle: bool = True
) -> list[list[int]]:
    """Group example indices into batches of similar length, deterministically for (seed, epoch).

    Examples are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into batches,
    and the batches shuffled again: little padding, yet a different order every epoch.
    ``batch_size`` counts examples. With ``shuffle=False`` the batches follow length order (for evaluation).

    Example:
        >>> length_buckets([3, 1, 2, 5], batch_size=2, seed=0, epoch=0, shuffle=False)
        [[1, 2], [0, 3]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(lengths)
    if not shuffle:
        order = sorted(range(n), key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, n, pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    permutation = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in permutation]


class Batches(Sequence):
    """Batches made on access from groups of example indices (e.g. :func:`length_buckets`' output).

    The engine wants ``len()`` and ``[i]`` (to resume mid-epoch at batch i); building each batch only
    when it is needed keeps an epoch's padded tensors out of memory.

    Example:
        >>> data = [[5, 6], [7], [8, 9, 9]]
        >>> batches = Batches([[1, 2], [0]], lambda group: pad([data[i] for i in group]))
        >>> len(batches), batches[1][0].tolist()
        (2, [[5, 6]])
    """

    def __init__(self, groups: Sequence[Sequence[int]], build) -> None:
        self.groups = groups
        self.build = build

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i):  # Sequence's slicing is not needed by the engine
        return self.build(self.groups[i])
