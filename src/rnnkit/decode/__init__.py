"""rnnkit.decode."""
