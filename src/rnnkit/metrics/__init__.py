"""rnnkit.metrics: evaluation scores for taggers and classifiers (accuracy, P/R/F1, spans, confusion)."""
