"""Argument checks shared by the cells, layers and models, each with its one message.

Example:
    >>> check_sizes(vocab_size=10, hidden_size=0)
    Traceback (most recent call last):
    ...
    ValueError: hidden_size must be >= 1, got 0
    >>> check_dropout(1.0)
    Traceback (most recent call last):
    ...
    ValueError: dropout must be in [0, 1), got 1.0
"""

from __future__ import annotations


def check_sizes(**sizes: int) -> None:
    """Raise a ValueError naming the first of ``sizes`` (name=value) that is below 1."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def check_dropout(dropout: float, name: str = "dropout") -> None:
    """Raise a ValueError unless 0 ≤ ``dropout`` < 1; ``name`` is the argument's name in the message."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {dropout}")
