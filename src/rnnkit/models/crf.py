"""A linear-chain conditional random field over tag sequences (Lafferty et al. 2001), the output layer
of the BiLSTM-CRF tagger (Huang et al. 2015; Lample et al. 2016).

For emissions E ∈ R^{T×K} (the tagger's per-token logits) and a tag sequence y_1 … y_n (n ≤ T the
sentence's length), with transition scores A ∈ R^{K×K} (A_ij: tag i followed by tag j), start scores
π ∈ R^K and end scores ω ∈ R^K:

    s(y) = π_{y_1} + Σ_{t=1..n} E_{t,y_t} + Σ_{t=2..n} A_{y_{t−1},y_t} + ω_{y_n}
    log p(y | x) = s(y) − log Z,   log Z = log Σ_{y'} exp s(y')

log Z comes from the forward algorithm in O(n·K²):

    α_1(j) = π_j + E_{1,j},   α_t(j) = E_{t,j} + logsumexp_i (α_{t−1}(i) + A_ij),   log Z = logsumexp_j (α_n(j) + ω_j)

The CRF holds the scores and computes s(y) and log Z; the negative log-likelihood (the loss) is formed in
:mod:`rnnkit.tasks.tagging`, and the best sequence argmax_y s(y) by :func:`rnnkit.decode.viterbi.viterbi`.
"""

from __future__ import annotations

import torch
from torch import nn


def _mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    return torch.arange(T, device=lengths.device) < lengths[:, None]  # (B, T)


class CRF(nn.Module):
    """Transition, start and end scores of a linear-chain CRF over K tags.

    Args:
        num_tags: K, the number of tags.

    Inputs (``path_score`` and ``log_partition``):
        emissions: (B, T, K) per-token tag scores (logits).
        tags: (B, T) LongTensor of gold tag ids (padding ignored).
        lengths: (B,) true lengths, 1 ≤ length ≤ T.

    Outputs:
        (B,) the score s(y) of each gold sequence, or log Z of each sentence.

    Attributes:
        transitions: A (K, K), A[i, j] the score of tag j following tag i.
        start: π (K,), end: ω (K,).

    Example:
        >>> crf = CRF(num_tags=3)
        >>> emissions, tags = torch.randn(2, 4, 3), torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
        >>> lengths = torch.tensor([4, 2])
        >>> nll = crf.log_partition(emissions, lengths) - crf.path_score(emissions, tags, lengths)
        >>> bool((nll > 0).all())
        True
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1, got {num_tags}")
        self.num_tags = num_tags
        # Zero start: every tag sequence equally likely before training, as in Lample et al.'s code.
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def get_config(self) -> dict:
        return {"num_tags": self.num_tags}

    @classmethod
    def from_config(cls, config: dict) -> CRF:
        return cls(**config)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """s(y) for each sentence's gold tags: (B,)."""
        T = emissions.size(1)
        mask = _mask(lengths, T).to(emissions.dtype)  # (B, T)
        tags = tags.masked_fill(mask == 0, 0)  # padding → a valid index, masked out below
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        moved = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        last = tags.gather(1, (lengths - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return (
            self.start[tags[:, 0]]
            + (emitted * mask).sum(1)
            + (moved * mask[:, 1:]).sum(1)
            + self.end[last]
        )

    def log_partition(self, emissions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """log Z for each sentence by the forward algorithm: (B,)."""
        T = emissions.size(1)
        mask = _mask(lengths, T)  # (B, T)
        alpha = self.start + emissions[:, 0]  # (B, K)
        for t in range(1, T):
            # (B, K, 1) + (K, K) → (B, K, K), logsumexp over the previous tag i
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]  # (B, K)
            alpha = torch.where(mask[:, t, None], step, alpha)  # finished sentences keep their α_n
        return torch.logsumexp(alpha + self.end, dim=1)

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"
