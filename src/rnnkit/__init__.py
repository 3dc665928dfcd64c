"""rnnkit: recurrent neural networks for language engineering, from the lecture's equations."""

__version__ = "0.1.0"
