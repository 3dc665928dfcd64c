"""Truncated-BPTT stream batches: layout, continuity across batches, indexing."""

import pytest
import torch

from rnnkit.data.streams import TokenStreams


def test_rows_continue_across_batches_and_targets_are_shifted():
    ids = torch.arange(103)
    streams = TokenStreams(ids, batch_size=4, bptt=7)
    n = (103 - 1) // 4
    assert len(streams) == -(-n // 7) and streams.num_tokens == 4 * n
    inputs = torch.cat([x for x, _ in streams], dim=1)  # (B, n)
    targets = torch.cat([y for _, y in streams], dim=1)
    for b in range(4):  # row b is the b-th contiguous chunk of the text
        assert inputs[b].tolist() == list(range(b * n, (b + 1) * n))
        assert targets[b].tolist() == list(range(b * n + 1, (b + 1) * n + 1))


def test_last_window_may_be_shorter_and_indexing_is_exact():
    streams = TokenStreams(torch.arange(21), batch_size=2, bptt=4)  # n = 10: windows 4, 4, 2
    assert [x.shape[1] for x, _ in streams] == [4, 4, 2]
    x, y = streams[-1]
    assert x.tolist() == [[8, 9], [18, 19]] and y.tolist() == [[9, 10], [19, 20]]
    assert torch.equal(streams[1][0], streams[1][0])  # indexing twice gives the same batch (resume)
    assert len(streams[0:2]) == 2
    with pytest.raises(IndexError):
        streams[3]


def test_bad_arguments():
    with pytest.raises(ValueError, match="too few"):
        TokenStreams(torch.arange(3), batch_size=4, bptt=2)
    with pytest.raises(ValueError, match="1-D"):
        TokenStreams(torch.zeros(2, 5, dtype=torch.long), batch_size=1, bptt=2)


def test_sharded_streams_give_each_process_consecutive_windows_of_its_own_part():
    from rnnkit.data.streams import ShardedStreams

    ids = torch.arange(1000)
    sharded = ShardedStreams(ids, batch_size=2, bptt=5, shards=3)
    assert len(sharded) % 3 == 0
    for rank in range(3):
        mine = [sharded[i] for i in range(rank, len(sharded), 3)]  # what the engine hands process `rank`
        x = torch.cat([b[0] for b in mine], dim=1)  # (B, n)
        y = torch.cat([b[1] for b in mine], dim=1)
        assert torch.equal(y[:, :-1], x[:, 1:])  # each row is one unbroken piece of text
        assert all(rank * 333 <= v < (rank + 1) * 333 + 1 for v in x.flatten().tolist())
    single = ShardedStreams(ids, batch_size=2, bptt=5, shards=1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(single, TokenStreams(ids, 2, 5), strict=True))
