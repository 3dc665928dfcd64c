"""Readable recurrent cells written from the lecture's equations: one time step each.

These are the ground truth: differentiated by autograd they define the gradients that every fast path
(:mod:`rnnkit.layers`) must reproduce.
"""

from rnnkit.cells.base import RecurrentCell
from rnnkit.cells.elman import ElmanCell
from rnnkit.cells.gru import GRUCell
from rnnkit.cells.lstm import LSTMCell

__all__ = ["ElmanCell", "GRUCell", "LSTMCell", "RecurrentCell", "make_cell"]

CELLS = ("elman", "gru", "lstm")


def make_cell(
    cell: str, input_size: int, hidden_size: int, *, variant: str = "lecture", nonlinearity: str = "tanh",
    bias: bool = True, init: str = "uniform",
) -> RecurrentCell:
    """Build a cell by name ("elman", "gru" or "lstm"); ``variant`` is for the GRU, ``nonlinearity``
    for the Elman cell."""
    if cell == "elman":
        return ElmanCell(input_size, hidden_size, nonlinearity=nonlinearity, bias=bias, init=init)
    if cell == "gru":
        return GRUCell(input_size, hidden_size, variant=variant, bias=bias, init=init)
    if cell == "lstm":
        return LSTMCell(input_size, hidden_size, bias=bias, init=init)
    raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
