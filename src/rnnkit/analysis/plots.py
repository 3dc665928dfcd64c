"""PNG figures of the vanishing-gradient analysis (matplotlib's Agg canvas: no display, no pyplot state).

* :func:`plot_gradient_decay`: log ‖∂L(T)/∂s(t)‖ against the distance T − t, one line per cell, and
  below it σ_max(∂s(t+1)/∂s(t)) against t.
* :func:`plot_longrange`: the test metric against the sequence length, one line per cell, with the
  trivial baseline dashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit.analysis.gradients import THRESHOLD, GradientProfile
from rnnkit.analysis.longrange import LongRangeResult


def _figure(*size: float) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_gradient_decay(profiles: Sequence[GradientProfile], path: str | Path) -> Path:
    """Write the gradient-decay figure of ``profiles`` to ``path`` (PNG) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = _figure(7, 7)
    top, bottom = fig.subplots(2, 1, height_ratios=(2, 1))
    for p in profiles:
        distances = range(p.length)
        norms = [max(n, 1e-300) for n in p.by_distance()]  # a log axis cannot show an exact zero
        label = p.cell if p.source == "init" else f"{p.cell} ({Path(p.source).name})"
        top.semilogy(distances, norms, label=label)
        bottom.plot(range(1, p.length), p.jacobian_norms, label=label)
    if profiles:
        top.axhline(THRESHOLD * profiles[0].by_distance()[0], color="grey", linestyle=":", linewidth=1,
                    label=f"{THRESHOLD:g} × value at t = T")
    top.set_xlabel("distance T − t (steps back from the loss)")
    top.set_ylabel("‖∂L(T)/∂s(t)‖ (mean over the batch)")
    top.set_title("How much gradient reaches t steps back")
    top.legend()
    top.grid(True, which="major", alpha=0.3)
    bottom.set_xlabel("t")
    bottom.set_ylabel(r"$\sigma_{\max}$ of ∂s(t+1)/∂s(t)")
    bottom.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    bottom.grid(True, alpha=0.3)
    fig.savefig(path, dpi=110)
    return path


def plot_longrange(results: Sequence[LongRangeResult], path: str | Path) -> Path:
    """Write the metric-against-length figure of ``results`` to ``path`` (PNG) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    for cell in dict.fromkeys(r.cell for r in results):
        rows = sorted((r for r in results if r.cell == cell), key=lambda r: r.length)
        ax.plot([r.length for r in rows], [r.value for r in rows], marker="o", label=cell)
    baseline = sorted({(r.length, r.baseline) for r in results})
    if baseline:
        ax.plot(*zip(*baseline, strict=True), color="grey", linestyle="--", label="trivial baseline")
        first = results[0]
        ax.set_ylabel(f"test {first.metric}")
        ax.set_title(f"{first.problem}: same training budget for every cell")
        if first.metric == "mse":
            ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=110)
    return path
