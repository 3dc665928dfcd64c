"""The metrics log of a run: ``metrics.jsonl`` (one JSON record per line) and ``curves.png``.

Records are ``{"kind": "train", "step", "epoch", "loss", "lr", ...}`` every ``log_every`` steps (the loss
averaged over those steps, weighted by items) and ``{"kind": "eval", "step", "epoch", "loss", ...}`` at
each validation, with the task's extra metrics (accuracy, F1, BLEU).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("rnnkit.engine")

METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
# keys of a record that are bookkeeping, not curves
_NOT_CURVES = {"kind", "step", "epoch", "lr", "items_per_s", "elapsed", "final"}


class MetricsLog:
    """Appends records to ``run_dir/metrics.jsonl`` and draws ``run_dir/curves.png``."""

    def __init__(self, run_dir: str | Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.png = Path(run_dir) / CURVES_FILE
        self.enabled = enabled

    def rewrite(self, history: list[dict[str, Any]]) -> None:
        """Start the file afresh from ``history`` (a new run, or a resumed one dropping later records)."""
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("".join(json.dumps(r) + "\n" for r in history), encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def plot(self, history: list[dict[str, Any]]) -> None:
        """Training and validation loss against steps, and the other validation metrics beside them."""
        if not self.enabled or not history:
            return
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        train = [r for r in history if r["kind"] == "train"]
        evals = [r for r in history if r["kind"] == "eval"]
        extra = sorted({k for r in evals for k in r if k not in _NOT_CURVES and k not in ("loss", "train_loss")})
        fig = Figure(figsize=(11 if extra else 6, 4), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 2 if extra else 1, 1)
        if train:
            ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="training", alpha=0.8)
        with_loss = [r for r in evals if "loss" in r]
        if with_loss:
            ax.plot([r["step"] for r in with_loss], [r["loss"] for r in with_loss], "o-", label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title("loss")
        ax.grid(alpha=0.3)
        if train or with_loss:
            ax.legend()
        if extra:
            ax2 = fig.add_subplot(1, 2, 2)
            for key in extra:
                points = [(r["step"], r[key]) for r in evals if isinstance(r.get(key), (int, float))]
                if points:
                    ax2.plot(*zip(*points, strict=True), "o-", label=key)
            ax2.set_xlabel("step")
            ax2.set_title("validation metrics")
            ax2.grid(alpha=0.3)
            ax2.legend()
        try:
            fig.savefig(self.png, dpi=100)
        except OSError as err:  # a full disk must not kill a training run over a picture
            log.warning("could not write %s: %s", self.png, err)
