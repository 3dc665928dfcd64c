"""Viterbi decoding: the highest-scoring tag sequence under a linear-chain CRF, batched, with lengths.

With the CRF's notation (:mod:`rnnkit.models.crf`: emissions E, transitions A, start π, end ω):

    δ_1(j) = π_j + E_{1,j},   δ_t(j) = E_{t,j} + max_i (δ_{t−1}(i) + A_ij),   ψ_t(j) = argmax_i (…)
    ŷ_n = argmax_j (δ_n(j) + ω_j),   ŷ_{t−1} = ψ_t(ŷ_t)

(Viterbi 1967). Padded steps leave δ unchanged and point each tag back to itself, so one backward pass
serves a whole batch of different lengths. O(T·K²) per sentence.
"""

from __future__ import annotations

import torch


def viterbi(
    emissions: torch.Tensor,
    lengths: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> list[list[int]]:
    """The best tag ids for every sentence of a batch.

    Args:
        emissions: (B, T, K) tag scores.
        lengths: (B,) true lengths, 1 ≤ length ≤ T.
        transitions: A (K, K); start: π (K,); end: ω (K,).

    Returns:
        B lists of tag ids, list b of length ``lengths[b]``.

    Example:
        >>> E = torch.tensor([[[2.0, 0.0], [2.0, 0.0], [0.0, 0.0]]])
        >>> A = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
        >>> viterbi(E, torch.tensor([3]), A, torch.zeros(2), torch.tensor([0.0, 1.0]))
        [[0, 0, 1]]
        >>> viterbi(E, torch.tensor([3]), torch.tensor([[-9.0, 0.0], [0.0, 0.0]]), torch.zeros(2), torch.zeros(2))
        [[0, 1, 0]]
    """
    B, T, K = emissions.shape
    lengths = lengths.to(emissions.device)
    mask = torch.arange(T, device=emissions.device) < lengths[:, None]  # (B, T)
    identity = torch.arange(K, device=emissions.device).expand(B, K)  # (B, K)
    delta = start + emissions[:, 0]  # (B, K)
    pointers = []
    for t in range(1, T):
        scores, best = (delta.unsqueeze(2) + transitions).max(dim=1)  # (B, K) each: max over previous tag i
        keep = mask[:, t, None]
        delta = torch.where(keep, scores + emissions[:, t], delta)
        pointers.append(torch.where(keep, best, identity))
    tag = (delta + end).argmax(dim=1)  # (B,)
    path = [tag]
    for best in reversed(pointers):
        tag = best.gather(1, tag.unsqueeze(1)).squeeze(1)
        path.append(tag)
    columns = torch.stack(path[::-1], dim=1)  # (B, T): columns[:, t] the tag at step t
    # Padded steps only repeat the last real tag (identity pointers): cut each row at its length.
    return [row[:n] for row, n in zip(columns.tolist(), lengths.tolist(), strict=True)]
