"""Scores for sequence labelling: token accuracy, per-tag P/R/F1, span-level P/R/F1, confusion matrix.

Span scores count a predicted span as correct only if its type, first and last token all match a gold
span (CoNLL-2000/2003's conlleval; equal to seqeval's default mode on the same tags):

    P = |gold ∩ pred| / |pred|,  R = |gold ∩ pred| / |gold|,  F1 = 2PR / (P + R)   (micro-averaged)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rnnkit.data.tag_schemes import spans
from rnnkit.metrics.confusion import ConfusionMatrix, LabelScores, prf


def _check(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """The fraction of tokens whose predicted tag equals the gold tag.

    Example:
        >>> token_accuracy([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]])
        0.6666666666666666
    """
    _check(gold, predicted)
    total = sum(len(g) for g in gold)
    right = sum(a == b for g, p in zip(gold, predicted, strict=True) for a, b in zip(g, p, strict=True))
    return right / total if total else 0.0


@dataclass
class SpanScores:
    precision: float
    recall: float
    f1: float
    per_type: dict[str, LabelScores] = field(default_factory=dict)


def span_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> SpanScores:
    """Micro-averaged span precision, recall and F1, and the same per entity type.

    Example:
        >>> s = span_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
        >>> round(s.precision, 2), round(s.recall, 2), round(s.f1, 2), s.per_type["PER"].f1
        (0.5, 0.5, 0.5, 1.0)
    """
    _check(gold, predicted)
    gold_spans = {(i, *s) for i, tags in enumerate(gold) for s in spans(tags)}
    pred_spans = {(i, *s) for i, tags in enumerate(predicted) for s in spans(tags)}
    correct = gold_spans & pred_spans
    per_type = {}
    gold_by, pred_by, right_by = (Counter(s[1] for s in group) for group in (gold_spans, pred_spans, correct))
    for type_ in sorted(set(gold_by) | set(pred_by)):
        per_type[type_] = LabelScores(*prf(right_by[type_], pred_by[type_], gold_by[type_]), gold_by[type_])
    return SpanScores(*prf(len(correct), len(pred_spans), len(gold_spans)), per_type)


def tag_confusion(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str] | None = None
) -> ConfusionMatrix:
    """The token-level confusion matrix (its ``scores()`` are the per-tag P/R/F1)."""
    _check(gold, predicted)
    return ConfusionMatrix([t for g in gold for t in g], [t for p in predicted for t in p], labels)
