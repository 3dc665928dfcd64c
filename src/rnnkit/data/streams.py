"""Truncated-BPTT batches over one continuous token stream.

The stream of N token ids is cut into B equal parallel streams, one per batch row, so that row b of
batch i+1 continues exactly where row b of batch i stopped; the recurrent state can then be carried
from batch to batch and detached every ``bptt`` steps (truncated backpropagation through time,
Williams & Peng 1990; the layout of Zaremba et al. 2014 and pytorch/examples' word_language_model):

    ids (N,) → inputs (B, n) = ids[0 : B·n],  targets (B, n) = ids[1 : B·n + 1]   with n = ⌊(N − 1) / B⌋

Batch i is the window ``[:, i·bptt : (i+1)·bptt]`` of both (the last one may be shorter). Batches are
views into two tensors made once, so indexing costs nothing and the order is fixed: resuming at batch i
gives exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import torch


class _Batches(Sequence):
    """A fixed sequence of batches, indexed as a list is (slices, negative indices, IndexError)."""

    @abstractmethod
    def _batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``i``, 0 ≤ i < len(self)."""

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} out of range ({len(self)} batches)")
        return self._batch(i)


class TokenStreams(_Batches):
    """The (inputs, targets) windows of a token stream laid out as ``batch_size`` parallel streams.

    Args:
        ids: (N,) LongTensor of token ids, N ≥ batch_size + 1.
        batch_size: B, the number of parallel streams.
        bptt: T, the window length (the truncation length of BPTT).

    Items are ``(inputs (B, T), targets (B, T))`` LongTensor pairs, targets shifted by one token.

    Example:
        >>> s = TokenStreams(torch.arange(11), batch_size=2, bptt=3)
        >>> len(s), s.inputs.tolist()
        (2, [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])
        >>> x, y = s[1]
        >>> x.tolist(), y.tolist()
        ([[3, 4], [8, 9]], [[4, 5], [9, 10]])
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, bptt: int) -> None:
        if batch_size < 1 or bptt < 1:
            raise ValueError(f"batch_size and bptt must be >= 1, got {batch_size} and {bptt}")
        if ids.dim() != 1:
            raise ValueError(f"ids must be 1-D (N,), got shape {tuple(ids.shape)}")
        n = (ids.numel() - 1) // batch_size
        if n < 1:
            raise ValueError(f"{ids.numel()} tokens are too few for {batch_size} streams")
        self.batch_size = batch_size
        self.bptt = bptt
        ids = ids.long()
        self.inputs = ids[: batch_size * n].view(batch_size, n)  # (B, n)
        self.targets = ids[1 : batch_size * n + 1].view(batch_size, n)  # (B, n)

    @property
    def num_tokens(self) -> int:
        """The number of predicted tokens in all batches together (B·n)."""
        return self.inputs.numel()

    def __len__(self) -> int:
        return -(-self.inputs.size(1) // self.bptt)

    def _batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        window = slice(i * self.bptt, (i + 1) * self.bptt)
        return self.inputs[:, window], self.targets[:, window]  # (B, T), (B, T)


class ShardedStreams(_Batches):
    """Token streams for ``shards`` processes, each reading its own contiguous part of the text.

    A data-parallel engine gives process r the batches r, r + S, r + 2S, ... (S = ``shards``). Here batch
    i·S + r is window i of part r, so every process sees consecutive windows of one text part and its
    carried state always belongs to the text that follows. With one shard this is :class:`TokenStreams`.

    Example:
        >>> s = ShardedStreams(torch.arange(17), batch_size=1, bptt=2, shards=2)
        >>> [x.tolist() for x, _ in s]  # part 0 reads 0..8, part 1 reads 8..16
        [[[0, 1]], [[8, 9]], [[2, 3]], [[10, 11]], [[4, 5]], [[12, 13]], [[6, 7]], [[14, 15]]]
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, bptt: int, shards: int = 1) -> None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        size = ids.numel() // shards
        # part r's last target is part r+1's first input; the last part runs to the end of the text
        ends = [(r + 1) * size + 1 for r in range(shards - 1)] + [ids.numel()]
        self.parts = [TokenStreams(ids[r * size : ends[r]], batch_size, bptt) for r in range(shards)]
        self.per_part = min(len(p) for p in self.parts)

    @property
    def num_tokens(self) -> int:
        return sum(p.num_tokens for p in self.parts)

    def __len__(self) -> int:
        return self.per_part * len(self.parts)

    def _batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.parts[i % len(self.parts)][i // len(self.parts)]
