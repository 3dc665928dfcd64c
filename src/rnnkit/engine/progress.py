"""Progress report of a training run: a tqdm bar on a terminal, plain periodic log lines otherwise.

The bar shows the step, the training loss, items/s (tokens, sentences: whatever the task counts) and
tqdm's ETA. Lines (``logging`` at INFO) carry the same figures every ``log_every`` steps, with an ETA
computed from the rate since this run started.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

log = logging.getLogger("rnnkit.engine")


def _duration(seconds: float) -> str:
    """3725 -> '1h02m05s'.

    Example:
        >>> _duration(3725), _duration(59.6)
        ('1h02m05s', '1m00s')
    """
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Reports training progress; ``mode`` is auto, bar, lines or off (``enabled=False``: silent rank)."""

    def __init__(self, mode: str, total_steps: int | None, start_step: int, enabled: bool = True) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode if enabled else "off"
        self.total = total_steps
        self.start_step = start_step
        self.started = time.perf_counter()
        self.bar: Any = None
        if self.mode == "bar":
            self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True, file=sys.stderr)

    def redirect_logging(self) -> AbstractContextManager[Any]:
        """While the bar is shown, route log lines through tqdm so they do not break it."""
        return logging_redirect_tqdm() if self.bar is not None else nullcontext()

    def step(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)

    def report(self, step: int, epoch: int, loss: float, lr: float, items_per_s: float) -> None:
        """A training-loss report (every ``log_every`` steps)."""
        if self.bar is not None:
            self.bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", lr=f"{lr:.2e}", items_s=f"{items_per_s:,.0f}")
        elif self.mode == "lines":
            eta = ""
            done = step - self.start_step
            if self.total is not None and done > 0:
                rate = (time.perf_counter() - self.started) / done
                eta = f"  ETA {_duration(rate * (self.total - step))}"
            total = f"/{self.total}" if self.total is not None else ""
            log.info(
                "step %d%s  epoch %d  loss %.4f  lr %.2e  %s items/s%s",
                step,
                total,
                epoch,
                loss,
                lr,
                f"{items_per_s:,.0f}",
                eta,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
