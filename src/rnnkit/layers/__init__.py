"""Recurrent layers: any cell over time, multi-layer, bidirectional, variable-length; fast BPTT paths."""

from rnnkit.layers.recurrent import Recurrent, locked_dropout, reverse_padded, sequence_dropout

__all__ = ["Recurrent", "locked_dropout", "reverse_padded", "sequence_dropout"]
