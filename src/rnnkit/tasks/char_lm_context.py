"""Character-LM features in training and prediction, for any task whose model reads them (the tagger, the
classifier): the strings each LM reads, and the states z_t of :mod:`rnnkit.models.char_lm_features`.

The LMs are frozen and in eval mode, so z_t depends on the sentence alone: a trainer computes it once per
sentence and keeps it (:class:`ContextCache`). States are kept and used rounded to float16, in training and
in prediction alike, so that a reloaded model predicts exactly what the trained one did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from rnnkit.data.batching import pad
from rnnkit.data.vocab import Vocab
from rnnkit.models.char_lm_features import char_lm_inputs

LMInputs = list[tuple[torch.Tensor, torch.Tensor]]  # per LM: character ids (B, L), word boundaries (B, T)


def lm_inputs(sentences: Sequence[Sequence[str]], vocabs: Sequence[Vocab], directions: Sequence[str]) -> LMInputs:
    """Per character LM (its vocabulary and direction): the sentences' strings as its ids (B, L), right-padded,
    and each word's boundary position (B, T)."""
    out = []
    for vocab, direction in zip(vocabs, directions, strict=True):
        texts, positions = zip(*(char_lm_inputs(s, direction) for s in sentences), strict=True)
        out.append((pad([vocab.encode(text) for text in texts])[0], pad(positions)[0]))
    return out


def lm_context(model: nn.Module, inputs: LMInputs) -> torch.Tensor | None:
    """z_t of a batch (B, T, Σ H_lm) from ``model.lm_features``, rounded to float16; None for a model without
    LM features."""
    if model.lm_features is None:
        return None
    device = next(model.parameters()).device
    states = model.lm_features([(ids.to(device), positions.to(device)) for ids, positions in inputs])
    return states.half().float()


class ContextCache:
    """z_t of each sentence of a training run, by (model.training, index into the task's data), kept in
    float16 on the model's device. Training and dev sentences live under different keys."""

    def __init__(self) -> None:
        self._rows: dict[tuple[bool, int], torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __call__(
        self, model: nn.Module, indices: Sequence[int], lengths: torch.Tensor, inputs: Callable[[], LMInputs]
    ) -> torch.Tensor | None:
        """z_t (B, T, Σ H_lm) of the batch of sentences ``indices`` (their ``lengths``); ``inputs()`` gives
        the LMs' inputs, asked for only when a sentence is not cached yet."""
        if model.lm_features is None:
            return None
        keys = [(model.training, i) for i in indices]
        if any(key not in self._rows for key in keys):
            states = lm_context(model, inputs())  # (B, T, F)
            for key, row, n in zip(keys, states, lengths.tolist(), strict=True):
                self._rows[key] = row[:n].half()  # exact: lm_context rounded it
        return nn.utils.rnn.pad_sequence([self._rows[key] for key in keys], batch_first=True).float()
