"""Recurrent layers: any cell over time, multi-layer, bidirectional, variable-length; fast BPTT paths."""

from rnnkit.layers.recurrent import Recurrent, reverse_padded

__all__ = ["Recurrent", "reverse_padded"]
