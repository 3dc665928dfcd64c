"""The tagger's side of training and inference: loss, decoding, batched prediction, and the engine's
:class:`~rnnkit.engine.TrainingTask` for tagging.

Loss per sentence of n tokens with gold tags y (mean over all tokens of a batch):

    softmax head:  −Σ_t log softmax(s_t)_{y_t}            (token cross-entropy)
    CRF head:      −log p(y | x) = log Z − s(y)           (see :mod:`rnnkit.models.crf`)

With auxiliary columns c (e.g. XPOS and FEATS beside UPOS), training adds their token cross-entropies,
weighted by λ (``aux_weight``):

    loss = loss_main + λ Σ_c −(1/N) Σ_t log softmax(a_t^c)_{y_t^c}

Only training batches carry auxiliary tags, so the dev loss and every score are the main column's alone.

Decoding: argmax per token (softmax) or Viterbi (:func:`rnnkit.decode.viterbi.viterbi`, CRF).

Several taggers over the same tags predict together as a product of experts: their per-token scores s_t
are averaged, and so are the CRFs' transition, start and end scores (a softmax member's are 0). For M
members, with score_m(y) the CRF's s(y) or Σ_t log softmax(s_t)_{y_t},

    score(y) = (1/M) Σ_m score_m(y)        so  argmax_y score(y) = argmax_y Π_m p_m(y | x)^{1/M}

which is again a linear-chain CRF (or, with no CRF member, one softmax per token) and decodes as one. A
softmax member's log softmax(s_t) is s_t less a per-token constant, the same for every y, so its logits
enter as they are.

A tagger with character-LM features reads their states z_t (:mod:`rnnkit.models.char_lm_features`). The
LMs are frozen, so training computes z_t once per sentence and keeps it (float16, on the model's device;
:mod:`rnnkit.tasks.char_lm_context`): after the first epoch a step costs what it costs without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data.batching import Batches, length_buckets, pad
from rnnkit.decode.viterbi import viterbi
from rnnkit.engine import StepResult, evaluating
from rnnkit.metrics.tagging import span_scores, token_accuracy
from rnnkit.models.crf import CRF
from rnnkit.tasks.char_lm_context import ContextCache, lm_context
from rnnkit.tasks.tagging_batches import TaggingBatch, TaggingEncoder


def tagging_loss(model: nn.Module, logits: torch.Tensor, batch: TaggingBatch) -> torch.Tensor:
    """Mean loss per token of a batch (see the module docstring)."""
    head = model.head
    n_tokens = batch.lengths.sum()
    if isinstance(head, CRF):
        nll = head.log_partition(logits, batch.lengths) - head.path_score(logits, batch.tags, batch.lengths)
        return nll.sum() / n_tokens
    return token_cross_entropy(logits, batch.tags, batch.lengths)


def token_cross_entropy(logits: torch.Tensor, tags: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean −log softmax(s_t)_{y_t} over the real tokens: logits (B, T, K), tags (B, T), lengths (B,)."""
    mask = torch.arange(logits.size(1), device=logits.device) < lengths[:, None]  # (B, T)
    return F.cross_entropy(logits[mask], tags[mask])  # (N, K) logits of the N real tokens


def decode(head: nn.Module, logits: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """The predicted tag ids of each sentence, cut to its length."""
    if isinstance(head, CRF):
        return viterbi(logits, lengths, head.transitions, head.start, head.end)
    best = logits.argmax(dim=2).tolist()  # (B, T)
    return [row[:n] for row, n in zip(best, lengths.tolist(), strict=True)]


Member = tuple[nn.Module, TaggingEncoder]  # a tagger model and the vocabularies it reads


def ensemble_head(models: Sequence[nn.Module]) -> nn.Module:
    """The head that decodes the members' mean scores (module docstring): a model's own head for one model,
    the softmax head when no member has a CRF, else a CRF holding the members' mean transition scores."""
    crfs = [model.head for model in models if isinstance(model.head, CRF)]
    if len(models) == 1 or not crfs:
        return models[0].head
    mean = CRF(crfs[0].num_tags).to(crfs[0].transitions.device)
    with torch.no_grad():
        for name in ("transitions", "start", "end"):
            getattr(mean, name).copy_(sum(getattr(crf, name) for crf in crfs) / len(models))
    return mean


def predict_ids(members: Sequence[Member], sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[list[int]]:
    """Tag ids for every sentence (empty sentences get []), in the input order, batched by length, from one
    tagger or an ensemble of taggers over the same tags (module docstring)."""
    head = ensemble_head([model for model, _ in members])
    out: list[list[int]] = [[] for _ in sentences]
    real = [i for i, s in enumerate(sentences) if s]
    groups = length_buckets([len(sentences[i]) for i in real], batch_size, seed=0, epoch=0, shuffle=False)
    with ExitStack() as stack:
        for model, _ in members:
            stack.enter_context(evaluating(model))
        for group in groups:
            indices = [real[g] for g in group]
            scores, lengths = [], None
            for model, encoder in members:  # each member reads the sentences with its own vocabularies
                device = next(model.parameters()).device
                batch = encoder.batch([sentences[i] for i in indices], None, indices)
                inputs = [t.to(device) for t in batch.inputs()]
                scores.append(model(*inputs, context=lm_context(model, encoder.lm_inputs(batch.sentences))))
                lengths = inputs[1]
            mean = scores[0] if len(scores) == 1 else torch.stack(scores).mean(0)  # (B, T, K)
            for i, ids in zip(indices, decode(head, mean, lengths), strict=True):
                out[i] = ids
    return out


class TaggingTask:
    """What the engine trains a tagger on (``rnnkit.engine.TrainingTask``).

    Args:
        encoder: the vocabularies.
        train: (sentences, tag id lists), all sentences non-empty.
        dev: (sentences, gold tag strings) or None.
        batch_size: sentences per batch.
        seed: for the batch order.
        word_dropout: probability of replacing a word id by ``<unk>`` in training, so that the ``<unk>``
            embedding is trained for the unknown words of test data (Kiperwasser & Goldberg 2016).
        headline: "accuracy" or "f1", the metric ``evaluate`` reports first.
        aux: the training sentences' tag ids in each auxiliary column, by name (default: none).
        aux_weight: λ, the auxiliary losses' weight (module docstring; default 1.0).
    """

    def __init__(
        self,
        encoder: TaggingEncoder,
        train: tuple[Sequence[Sequence[str]], Sequence[Sequence[int]]],
        dev: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None,
        batch_size: int,
        seed: int,
        word_dropout: float,
        headline: str,
        aux: dict[str, Sequence[Sequence[int]]] | None = None,
        aux_weight: float = 1.0,
    ) -> None:
        self.encoder = encoder
        self.sentences, self.tags = train
        self.word_ids = [encoder.word_ids(s) for s in self.sentences]
        self.lengths = [len(s) for s in self.sentences]
        self.dev = dev
        self.batch_size = batch_size
        self.seed = seed
        self.word_dropout = word_dropout
        self.headline = headline
        self.aux = dict(aux or {})
        self.aux_weight = aux_weight
        self._eval: list[TaggingBatch] | None = None
        # Dev predictions decoded while the engine computes the dev loss, so that evaluate() needs no
        # second pass over the dev set (the engine calls loss on every eval batch, then evaluate).
        self._dev_predictions: dict[int, list[int]] = {}
        self._contexts = ContextCache()  # z_t of each sentence: the LMs are frozen, so it never changes

    def _build(self, group: Sequence[int]) -> TaggingBatch:
        batch = self.encoder.batch(
            [self.sentences[i] for i in group], [self.tags[i] for i in group], list(group),
            [self.word_ids[i] for i in group],
        )
        batch.aux = {name: pad([ids[i] for i in group])[0] for name, ids in self.aux.items()}
        return batch

    def train_batches(self, epoch: int) -> Batches:
        return Batches(length_buckets(self.lengths, self.batch_size, self.seed, epoch), self._build)

    def eval_batches(self) -> list[TaggingBatch]:
        if self.dev is None:
            return []
        if self._eval is None:
            sentences, tags = self.dev
            # Sentences with a tag unseen in training have no loss; evaluate() still scores them.
            known = [i for i, seq in enumerate(tags) if all(t in self.encoder.tags for t in seq)]
            groups = length_buckets([len(sentences[i]) for i in known], self.batch_size, 0, 0, shuffle=False)
            groups = [[known[g] for g in group] for group in groups]
            self._eval = [self.encoder.batch([sentences[i] for i in g], [tags[i] for i in g], g) for g in groups]
        return self._eval

    def loss(self, model: nn.Module, batch: TaggingBatch, state: Any, step: int) -> StepResult:
        words = batch.words
        if model.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words != 0), self.encoder.words.id(self.encoder.words.unk))
        context = self._contexts(model, batch.indices, batch.lengths, lambda: self.encoder.lm_inputs(batch.sentences))
        h = model.states(words, *batch.inputs()[1:], context=context)  # (B, T, 2·H)
        logits = model.output(h)  # (B, T, K)
        if not model.training and self.dev is not None:
            for i, ids in zip(batch.indices, decode(model.head, logits, batch.lengths), strict=True):
                self._dev_predictions[i] = ids
        loss, metrics = tagging_loss(model, logits, batch), {}
        if batch.aux:
            aux = sum(token_cross_entropy(model.aux_outputs[name](h), tags, batch.lengths)
                      for name, tags in batch.aux.items())
            loss = loss + self.aux_weight * aux
            metrics["aux_loss"] = float(aux.detach())
        return StepResult(loss, int(batch.lengths.sum()), metrics=metrics)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Dev token accuracy, and span F1 when the tags are entity tags."""
        if self.dev is None:
            return {}
        sentences, gold = self.dev
        found, self._dev_predictions = self._dev_predictions, {}
        ids = [found[i] for i in range(len(sentences))] if len(found) == len(sentences) else \
            predict_ids([(model, self.encoder)], sentences)
        predicted = [self.encoder.tags.decode(row) for row in ids]
        metrics = {"accuracy": token_accuracy(gold, predicted)}
        if self.headline == "f1":
            metrics["f1"] = span_scores(gold, predicted).f1
        return metrics
