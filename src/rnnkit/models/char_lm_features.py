"""Contextual word vectors from frozen character language models ("contextual string embeddings",
Akbik et al. 2018, the embeddings of Flair's tagger).

A character LM trained on raw text (``rnnkit train lm``, and ``--reverse`` for a backward one) reads a
sentence w_1 … w_n as one string s = "\\n" w_1 " " w_2 " " … " " w_n "\\n" (the LM saw lines of text).
Word w_t gets the top-layer state of each LM at the boundary after reading the word:

    f_t = →h^{(p_t)}     p_t: the character just after w_t (forward LM, s read left to right)
    b_t = ←h^{(q_t)}     q_t: the character just before w_t (backward LM, s read right to left)
    z_t = [f_t ; b_t]    (Σ H_lm over the LMs)

f_t has read the sentence up to and including w_t, b_t from its end back to w_t: together they hold
the whole sentence as seen from w_t, and the spelling of w_t itself, even for a word never seen in the
tagger's training data. The LMs are frozen (no gradient, no dropout), as in Flair: z_t depends on the
sentence only, so a trainer may compute it once per sentence and cache it.

A model may map z_t to fewer features before its Bi-RNN reads it (:func:`context_layer`):

    z'_t = W_z z_t + b_z                                 (P, learned with the model)

Large LMs make Σ H_lm the largest part of the Bi-RNN's input, and its input matrix the largest cost of a
step; P features keep that cost small (Flair re-projects its embeddings the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from rnnkit.checks import check_sizes
from rnnkit.models.language_model import RNNLanguageModel

DIRECTIONS = ("forward", "backward")
BOUNDARY = "\n"  # what the LM reads before the first word and after the last: a line break


def char_lm_inputs(sentence: Sequence[str], direction: str) -> tuple[str, list[int]]:
    """The string an LM reads for ``sentence`` and, per word, the position of its boundary state.

    Example:
        >>> char_lm_inputs(["I", "ran"], "forward")
        ('\\nI ran\\n', [2, 6])
        >>> char_lm_inputs(["I", "ran"], "backward")  # read right to left: 'nar I' from the end
        ('\\nnar I\\n', [6, 4])
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    text = BOUNDARY + " ".join(sentence) + BOUNDARY
    after, end = [], 0  # after[t]: index in text of the character just after w_t
    for word in sentence:
        end += 1 + len(word)  # the separator before w_t, then w_t
        after.append(end)
    if direction == "forward":
        return text, after
    before = [p - len(w) - 1 for p, w in zip(after, sentence, strict=True)]  # the character just before w_t
    return text[::-1], [len(text) - 1 - q for q in before]


class CharLMFeatures(nn.Module):
    """Frozen forward and/or backward character LMs that give each word the states z_t (module docstring).

    Args:
        lms: :class:`~rnnkit.models.language_model.RNNLanguageModel` objects or their configs.
        directions: "forward" or "backward" per LM.

    Inputs (per LM, in order): ids (B, L) the characters of each sentence's string (``char_lm_inputs``,
    right-padded); positions (B, T) the boundary index of each word (any index at padding).

    Output: (B, T, Σ H_lm), the LMs' states concatenated in the order of ``lms``.

    Example:
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <torch._C.Generator object at ...>
        >>> lm = RNNLanguageModel(6, embedding_size=4, hidden_size=5, num_layers=1)
        >>> features = CharLMFeatures([lm], ["forward"])
        >>> features([(torch.tensor([[2, 3, 4, 5]]), torch.tensor([[1, 3]]))]).shape
        torch.Size([1, 2, 5])
    """

    def __init__(self, lms: Sequence[RNNLanguageModel | Mapping[str, Any]], directions: Sequence[str]) -> None:
        super().__init__()
        if not lms or len(lms) != len(directions):
            raise ValueError(f"give one direction per LM, got {len(lms)} LM(s) and {len(directions)} direction(s)")
        for direction in directions:
            if direction not in DIRECTIONS:
                raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        self.lms = nn.ModuleList(lm if isinstance(lm, nn.Module) else RNNLanguageModel.from_config(dict(lm))
                                 for lm in lms)
        self.directions = list(directions)
        self.output_size = sum(lm.hidden_size for lm in self.lms)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> CharLMFeatures:
        """The LMs stay in eval mode (no dropout) whatever the tagger around them does."""
        return super().train(False)

    def get_config(self) -> dict:
        return {"lms": [lm.get_config() for lm in self.lms], "directions": self.directions}

    @torch.no_grad()
    def forward(self, inputs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        if len(inputs) != len(self.lms):
            raise ValueError(f"expected inputs for {len(self.lms)} LM(s), got {len(inputs)}")
        states = []
        for lm, (ids, positions) in zip(self.lms, inputs, strict=True):
            h, _ = lm.hidden_states(ids)  # (B, L, H); right padding never reaches earlier states
            states.append(h.gather(1, positions.unsqueeze(2).expand(-1, -1, h.size(2))))  # (B, T, H)
        return torch.cat(states, dim=2)  # (B, T, Σ H)


def context_layer(lm_features: CharLMFeatures | None, projection: int | None) -> tuple[nn.Module, int]:
    """The layer between the LM states z_t (B, T, Σ H_lm) and a model's Bi-RNN, and the size it gives: with
    ``projection`` P, z'_t = W_z z_t + b_z (B, T, P); else z_t as it is. Without LM features: nothing, size 0.

    Example:
        >>> lm = RNNLanguageModel(6, embedding_size=4, hidden_size=5, num_layers=1)
        >>> context_layer(CharLMFeatures([lm], ["forward"]), 3)
        (Linear(in_features=5, out_features=3, bias=True), 3)
    """
    if lm_features is None:
        if projection is not None:
            raise ValueError("lm_projection needs lm_features (the character LMs whose states it maps)")
        return nn.Identity(), 0
    if projection is None:
        return nn.Identity(), lm_features.output_size
    check_sizes(lm_projection=projection)
    return nn.Linear(lm_features.output_size, projection), projection
