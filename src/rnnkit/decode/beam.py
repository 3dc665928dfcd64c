"""Greedy and beam search for encoder–decoder models, batched over sentences and beams.

Beam search keeps, for every sentence, the K partial translations y^{(1)} … y^{(t)} with the best score
and extends each by every token:

    log P(y^{(1..t)} | x) = Σ_{i ≤ t} log softmax(logits^{(i)})_{y^{(i)}}

A hypothesis that has produced <eos> is finished: it stays in its beam with its score unchanged (it can
only be extended by padding at no cost). Beams are compared by the length-normalised score of Wu et al.
(2016, GNMT):

    score(Y) = log P(Y | x) / lp(Y),      lp(Y) = ((5 + |Y|) / 6)^α

α = 0 compares raw log-probabilities (which favour short outputs); larger α favours longer ones. The
search stops when every hypothesis has finished, or at the maximum length max_len = ⌊a · S + b⌋ of each
sentence (S its source length), where <eos> is forced. Padding and <bos> are never produced (their
logits are set to −∞ before the softmax). Greedy decoding is beam search with K = 1.

The model needs two methods (rnnkit.models.seq2seq.Seq2Seq has them):

    encode(src (B, S), lengths (B,)) -> (memory, state)     memory.index_select(index) -> memory
    step(ids (N,), state, memory) -> (logits (N, V), state, α (N, S))

where ``state`` is a tuple of tensors whose first dimension is the batch row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Hypothesis:
    """One translation: token ids (without <bos>/<eos>), scores, and attention weights if requested.

    ``attention`` is (len(tokens) + 1, S): one row per produced token, the <eos> included, over the
    sentence's S source positions.
    """

    tokens: list[int]
    score: float  # log P / lp, what the beams were ranked by
    log_prob: float
    attention: torch.Tensor | None = None


def length_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
    """GNMT's lp = ((5 + |Y|) / 6)^α.

    Example:
        >>> length_penalty(torch.tensor([1, 7]), 1.0).tolist()
        [1.0, 2.0]
    """
    return ((5.0 + lengths.float()) / 6.0) ** alpha


def max_lengths(src_lengths: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """The longest output allowed for each sentence, ⌊a · S + b⌋ tokens (the <eos> included), ≥ 1."""
    return (a * src_lengths.float() + b).floor().long().clamp(min=1)


@torch.no_grad()
def beam_search(
    model,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    bos: int,
    eos: int,
    beam_size: int = 5,
    n_best: int = 1,
    alpha: float = 1.0,
    max_len_a: float = 1.5,
    max_len_b: float = 5.0,
    pad: int = 0,
    return_attention: bool = False,
) -> list[list[Hypothesis]]:
    """Translate a batch of sentences; for each, the ``n_best`` hypotheses, best first.

    Args:
        model: an encoder–decoder with ``encode`` and ``step`` (see the module docstring).
        src: (B, S) source ids; src_lengths: (B,).
        bos, eos, pad: the target's <bos>, <eos> and padding ids.
        beam_size: K, hypotheses kept per sentence (1: greedy decoding).
        n_best: how many to return per sentence (≤ K).
        alpha: α of the length penalty (0: none).
        max_len_a, max_len_b: the maximum output length ⌊a · S + b⌋.
        return_attention: keep each hypothesis's attention weights (for plotting).

    Returns:
        B lists of hypotheses.
    """
    if beam_size < 1 or not 1 <= n_best <= beam_size:
        raise ValueError(f"need beam_size >= 1 and 1 <= n_best <= beam_size, got {beam_size} and {n_best}")
    B, K = src.size(0), beam_size
    device = src.device
    memory, state = model.encode(src, src_lengths)
    expand = torch.arange(B, device=device).repeat_interleave(K)  # (B·K,) each sentence K times
    memory = memory.index_select(expand)
    state = tuple(s.index_select(0, expand) for s in state)
    limit = max_lengths(src_lengths.to(device), max_len_a, max_len_b)  # (B,)

    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: only the first may expand at step 1
    finished = torch.zeros(B, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, K, dtype=torch.long, device=device)
    tokens = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    history = None  # (B·K, t, S) attention weights, when requested
    ids = torch.full((B * K,), bos, dtype=torch.long, device=device)
    rows = (torch.arange(B, device=device) * K).unsqueeze(1)  # (B, 1) offset of each sentence's beams
    never = torch.tensor([pad, bos], device=device)

    for t in range(int(limit.max())):
        logits, state, alpha_t = model.step(ids, state, memory)
        V = logits.size(-1)
        logits = logits.float().index_fill(1, never, float("-inf"))  # padding and <bos> are not words
        logp = torch.log_softmax(logits, dim=-1).view(B, K, V)  # (B, K, V)
        # Finished beams continue with padding only, at no cost.
        done_row = torch.full((V,), float("-inf"), device=device)
        done_row[pad] = 0.0
        logp = torch.where(finished.unsqueeze(2), done_row, logp)
        # Unfinished beams at their sentence's maximum length must end now.
        forced = (t + 1 >= limit).unsqueeze(1) & ~finished  # (B, K)
        if bool(forced.any()):
            only_eos = torch.full_like(logp, float("-inf"))
            only_eos[..., eos] = logp[..., eos]
            logp = torch.where(forced.unsqueeze(2), only_eos, logp)

        candidates = scores.unsqueeze(2) + logp  # (B, K, V)
        new_lengths = lengths + (~finished).long()  # (B, K)
        key = candidates / length_penalty(new_lengths, alpha).unsqueeze(2)  # (B, K, V)
        _, best = key.view(B, K * V).topk(K, dim=1)  # (B, K)
        beam, token = best // V, best % V  # (B, K) source beam and new token
        scores = candidates.view(B, K * V).gather(1, best)  # (B, K)
        lengths = new_lengths.gather(1, beam)
        finished = finished.gather(1, beam) | (token == eos)
        tokens = torch.cat([tokens.gather(1, beam.unsqueeze(2).expand_as(tokens)), token.unsqueeze(2)], dim=2)
        flat = (rows + beam).view(-1)  # (B·K,) rows of the surviving beams
        state = tuple(s.index_select(0, flat) for s in state)
        if return_attention:  # the weights of this step belong to the beam each survivor came from
            step_alpha = alpha_t.unsqueeze(1)  # (B·K, 1, S)
            history = step_alpha if history is None else torch.cat([history, step_alpha], dim=1)
            history = history.index_select(0, flat)  # (B·K, t + 1, S)
        ids = token.view(-1)  # (B·K,)
        if bool(finished.all()):
            break

    normalised = scores / length_penalty(lengths, alpha)  # (B, K)
    results = []
    for b in range(B):
        order = normalised[b].argsort(descending=True).tolist()
        hyps = []
        for k in order[:n_best]:
            if not torch.isfinite(scores[b, k]):
                continue  # fewer than K viable hypotheses (tiny vocabularies)
            seq = tokens[b, k].tolist()
            n = seq.index(eos) if eos in seq else len(seq)
            att = None
            if return_attention:
                att = history[b * K + k, : n + 1, : int(src_lengths[b])].cpu()  # (n + 1, S_b)
            hyps.append(Hypothesis(seq[:n], float(normalised[b, k]), float(scores[b, k]), att))
        results.append(hyps)
    return results


def greedy(model, src: torch.Tensor, src_lengths: torch.Tensor, bos: int, eos: int, **kwargs) -> list[Hypothesis]:
    """Greedy decoding (the most likely token at every step): beam search with K = 1, one per sentence."""
    return [hyps[0] for hyps in beam_search(model, src, src_lengths, bos, eos, beam_size=1, n_best=1, **kwargs)]
