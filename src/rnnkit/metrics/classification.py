"""Scores for sequence classification: accuracy, macro-F1 and the per-class scores behind them.

    accuracy = (1/N) Σ_n [ŷ_n = y_n],   macro-F1 = (1/C) Σ_c F1_c   over the C classes present in the gold data
"""

from __future__ import annotations

from collections.abc import Sequence

from rnnkit.metrics.confusion import ConfusionMatrix


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The fraction of items labelled correctly.

    Example:
        >>> accuracy(["pos", "neg", "pos"], ["pos", "pos", "pos"])
        0.6666666666666666
    """
    return ConfusionMatrix(gold, predicted).accuracy


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The unweighted mean of the per-class F1 scores.

    Example:
        >>> round(macro_f1(["pos", "neg", "pos"], ["pos", "pos", "pos"]), 4)
        0.4
    """
    return ConfusionMatrix(gold, predicted).macro_f1
