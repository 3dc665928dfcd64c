"""Confusion matrices and the per-label precision, recall and F1 read from them, as text and as a PNG.

For label c with counts from the matrix M (rows gold, columns predicted):

    precision_c = M[c, c] / Σ_g M[g, c],  recall_c = M[c, c] / Σ_p M[c, p],  F1_c = 2·P·R / (P + R)

(0 where a denominator is 0, as scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LabelScores:
    precision: float
    recall: float
    f1: float
    support: int


def prf(correct: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts (0 where undefined).

    Example:
        >>> prf(3, 4, 6)
        (0.75, 0.5, 0.6)
    """
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


class ConfusionMatrix:
    """Counts of (gold, predicted) label pairs.

    Args:
        gold: gold labels.
        predicted: predicted labels, as many as ``gold``.
        labels: the label order (default: the gold labels sorted, then any other predicted ones).

    Example:
        >>> m = ConfusionMatrix(["a", "a", "b", "b"], ["a", "b", "b", "b"])
        >>> m.counts, m.accuracy
        ([[1, 1], [0, 2]], 0.75)
        >>> round(m.scores()["b"].f1, 4), round(m.macro_f1, 4)
        (0.8, 0.7333)
    """

    def __init__(self, gold: Iterable[str], predicted: Iterable[str], labels: Sequence[str] | None = None):
        gold, predicted = list(gold), list(predicted)
        if len(gold) != len(predicted):
            raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
        if labels is None:
            labels = sorted(set(gold)) + sorted(set(predicted) - set(gold))
        self.labels = list(labels)
        index = {label: i for i, label in enumerate(self.labels)}
        self.counts = [[0] * len(self.labels) for _ in self.labels]
        for g, p in zip(gold, predicted, strict=True):
            self.counts[index[g]][index[p]] += 1
        self.total = len(gold)

    @property
    def accuracy(self) -> float:
        return sum(self.counts[i][i] for i in range(len(self.labels))) / self.total if self.total else 0.0

    def scores(self) -> dict[str, LabelScores]:
        """Per-label precision, recall, F1 and support (number of gold items)."""
        out = {}
        for i, label in enumerate(self.labels):
            gold = sum(self.counts[i])
            predicted = sum(row[i] for row in self.counts)
            out[label] = LabelScores(*prf(self.counts[i][i], predicted, gold), support=gold)
        return out

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the labels that occur in the gold data."""
        scores = [s.f1 for s in self.scores().values() if s.support]
        return sum(scores) / len(scores) if scores else 0.0

    def to_text(self) -> str:
        """The matrix as an aligned table, gold labels down, predicted labels across.

        Example:
            >>> print(ConfusionMatrix(["a", "b"], ["a", "a"]).to_text())
            gold\\pred     a     b
            a             1     0
            b             1     0
        """
        corner = "gold\\pred"
        first = max(len(corner), *(len(label) for label in self.labels))
        width = max(5, *(len(label) for label in self.labels), *(len(str(c)) for row in self.counts for c in row))
        lines = [corner.ljust(first) + " " + " ".join(label.rjust(width) for label in self.labels)]
        for label, row in zip(self.labels, self.counts, strict=True):
            lines.append(label.ljust(first) + " " + " ".join(str(c).rjust(width) for c in row))
        return "\n".join(lines)

    def plot(self, path: str | Path, title: str = "confusion matrix") -> None:
        """Write the matrix as a PNG heat map (rows normalised to recall, counts in the cells)."""
        import matplotlib

        matplotlib.use("Agg")  # no display needed (CI, servers)
        import matplotlib.pyplot as plt

        n = len(self.labels)
        rates = [[c / max(1, sum(row)) for c in row] for row in self.counts]
        size = max(4.0, 0.45 * n + 2)
        figure, axes = plt.subplots(figsize=(size, size))
        axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
        axes.set_xticks(range(n), self.labels, rotation=90)
        axes.set_yticks(range(n), self.labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("gold")
        axes.set_title(title)
        if n <= 30:  # beyond that the numbers no longer fit in the cells
            for i in range(n):
                for j in range(n):
                    if self.counts[i][j]:
                        colour = "white" if rates[i][j] > 0.5 else "black"
                        axes.text(j, i, str(self.counts[i][j]), ha="center", va="center", fontsize=7, color=colour)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


def scores_table(scores: dict[str, LabelScores]) -> str:
    """Per-label scores as an aligned text table (percentages).

    Example:
        >>> print(scores_table({"NOUN": LabelScores(0.9, 0.8, 0.8471, 10)}))
        label  precision  recall      f1  support
        NOUN       90.00   80.00   84.71       10
    """
    width = max(5, *(len(label) for label in scores))
    lines = [f"{'label'.ljust(width)}  precision  recall      f1  support"]
    for label, s in scores.items():
        lines.append(
            f"{label.ljust(width)}  {100 * s.precision:9.2f}  {100 * s.recall:6.2f}  {100 * s.f1:6.2f}  {s.support:7d}"
        )
    return "\n".join(lines)
