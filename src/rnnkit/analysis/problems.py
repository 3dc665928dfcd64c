"""Synthetic long-range problems: the adding problem and the copy (memory) task.

Both put the information the answer needs at the start of a long sequence, so that a network only
solves them if the gradient ∂Loss/∂h^{(t)} survives the trip back from the last steps (lecture,
"Vanishing gradient problem").

* **Adding problem** (Hochreiter & Schmidhuber 1997, experiment 4; Le et al. 2015): each of the T steps
  carries a number drawn uniformly from [0, 1] and a marker; exactly two steps are marked (one in the
  first half, one in the second half, as in Arjovsky et al. 2016). The target is the sum of the two
  marked numbers. Predicting the mean, 1, gives MSE = Var(u₁ + u₂) = 2/12 ≈ 0.167.
* **Copy task** (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): S symbols from an alphabet of 8,
  then T − 1 blanks, a delimiter, and S more blanks; the network must output blanks until the delimiter
  and then repeat the S symbols. A network with no memory guesses them: accuracy 1/8.

A problem draws examples with a ``torch.Generator`` (so data are a pure function of a seed), knows its
loss and its headline metric, and computes the trivial baseline *on the examples it is given*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class AddingProblem:
    """The adding problem: inputs (B, T, 2) = (value, marker), target (B,) the sum of the marked values.

    The model's output at the last step, ``logits[:, -1, 0]``, is the prediction; the loss is the MSE.

    Example:
        >>> x, y = AddingProblem().generate(4, 10, torch.Generator().manual_seed(0))
        >>> tuple(x.shape), tuple(y.shape), x[:, :, 1].sum(dim=1).tolist()
        ((4, 10, 2), (4,), [2.0, 2.0, 2.0, 2.0])
    """

    name = "adding"
    input_size = 2
    output_size = 1
    metric = "mse"
    metric_mode = "min"

    def sequence_length(self, length: int) -> int:
        """Number of time steps of an example of the given length: the length itself."""
        return length

    def generate(self, n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` examples of ``length`` steps: x (n, T, 2) float, y (n,) float."""
        if length < 2:
            raise ValueError(f"the adding problem needs length >= 2, got {length}")
        values = torch.rand(n, length, generator=generator)  # (n, T)
        half = length // 2
        # One marker in [0, T/2), one in [T/2, T): the first is always at least T/2 steps from the end.
        first = torch.randint(0, half, (n,), generator=generator)
        second = torch.randint(half, length, (n,), generator=generator)
        markers = torch.zeros(n, length)
        rows = torch.arange(n)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=2)  # (n, T, 2)
        y = values[rows, first] + values[rows, second]  # (n,)
        return x, y

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the last step's output; logits (B, T, 1), y (B,)."""
        return F.mse_loss(logits[:, -1, 0], y)

    def metrics(self, logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """{"mse": ...} over the batch."""
        return {"mse": float(self.loss(logits, y))}

    def baseline(self, y: torch.Tensor) -> float:
        """MSE of always predicting 1 (the expected sum) on these targets; ≈ 0.167."""
        return float(((y - 1.0) ** 2).mean())


class CopyProblem:
    """The copy task: inputs (B, T + 2S, 10) one-hot, targets (B, T + 2S) class ids.

    Classes: 0 blank, 1..8 symbols, 9 delimiter. ``length`` is the delay T between the last symbol
    shown and the delimiter's step plus one, so an example has T + 2S steps. The loss is the
    cross-entropy over every step; the metric is the accuracy over the S recalled symbols.

    Args:
        symbols: S, the number of symbols to remember (default 10).

    Example:
        >>> x, y = CopyProblem(symbols=3).generate(2, 5, torch.Generator().manual_seed(0))
        >>> tuple(x.shape), tuple(y.shape), bool((y[:, -3:] == x[:, :3].argmax(dim=2)).all())
        ((2, 11, 10), (2, 11), True)
    """

    name = "copy"
    alphabet = 8
    blank = 0
    delimiter = 9
    input_size = 10
    output_size = 10
    metric = "accuracy"
    metric_mode = "max"

    def __init__(self, symbols: int = 10) -> None:
        if symbols < 1:
            raise ValueError(f"symbols must be >= 1, got {symbols}")
        self.symbols = symbols

    def sequence_length(self, length: int) -> int:
        """Number of time steps of an example with delay T = ``length``: T + 2S."""
        return length + 2 * self.symbols

    def generate(self, n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` examples with delay ``length``: x (n, T + 2S, 10) one-hot, y (n, T + 2S) ids."""
        if length < 1:
            raise ValueError(f"the copy task needs length >= 1, got {length}")
        s = self.symbols
        steps = self.sequence_length(length)
        data = torch.randint(1, self.alphabet + 1, (n, s), generator=generator)  # (n, S)
        inputs = torch.full((n, steps), self.blank, dtype=torch.long)  # (n, T + 2S)
        inputs[:, :s] = data
        inputs[:, s + length - 1] = self.delimiter  # after T - 1 blanks
        targets = torch.full((n, steps), self.blank, dtype=torch.long)  # (n, T + 2S)
        targets[:, -s:] = data
        return F.one_hot(inputs, self.input_size).float(), targets  # (n, T + 2S, 10), (n, T + 2S)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy averaged over every step; logits (B, T + 2S, 10), y (B, T + 2S)."""
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())  # (B·(T + 2S), 10) vs (B·(T + 2S),)

    def metrics(self, logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """{"accuracy": fraction of recalled symbols right, "cross_entropy": loss over every step}."""
        s = self.symbols
        correct = logits[:, -s:].argmax(dim=2) == y[:, -s:]  # (B, S)
        return {"accuracy": float(correct.float().mean()), "cross_entropy": float(self.loss(logits, y))}

    def baseline(self, y: torch.Tensor) -> float:
        """Accuracy of the best memoryless guess: always the most frequent recalled symbol; ≈ 1/8."""
        recalled = y[:, -self.symbols :].flatten()  # (B·S,)
        counts = torch.bincount(recalled, minlength=self.output_size)
        return float(counts.max()) / recalled.numel()


PROBLEMS = {"adding": AddingProblem, "copy": CopyProblem}


def make_problem(name: str) -> AddingProblem | CopyProblem:
    """The problem called ``name`` ("adding" or "copy"), with its default settings."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown long-range problem {name!r}; choose from {', '.join(PROBLEMS)}")
    return PROBLEMS[name]()
