"""rnnkit.tasks."""
