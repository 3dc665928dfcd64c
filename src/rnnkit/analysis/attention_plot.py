"""The attention matrix of one translated sentence as a heat map, with the words on the axes.

Row t holds the weights α^{(t)}_j with which the decoder, producing output word t, looked at source
word j (each row sums to 1). A good alignment shows as a near-diagonal band; reorderings (e.g. German
verb-final clauses) show as off-diagonal blocks. Drawn with matplotlib's Agg canvas: no display needed.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.errors import RnnkitError


def plot_attention(
    weights: torch.Tensor, source: list[str], target: list[str], path: str | Path, title: str | None = None
) -> None:
    """Write the heat map of ``weights`` (T, S) to ``path`` (PNG, or any format matplotlib knows).

    Args:
        weights: (T, S) attention weights, T output tokens (rows), S source tokens (columns).
        source: the S source tokens (x axis, top).
        target: the T output tokens (y axis).
        path: the image file to write.
        title: an optional title.

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "att.png")
        >>> plot_attention(torch.eye(2), ["ein", "hund"], ["a", "dog"], out)
        >>> os.path.getsize(out) > 0
        True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    T, S = weights.shape
    if len(target) != T or len(source) != S:
        raise ValueError(f"weights have shape {(T, S)}, but there are {len(target)} target and "
                         f"{len(source)} source tokens")
    # About a third of an inch per word, so that labels stay readable for long sentences.
    fig = Figure(figsize=(max(4.0, 0.35 * S + 2), max(3.0, 0.35 * T + 1.5)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(weights.detach().cpu().float().numpy(), cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S), source, rotation=60, ha="left")
    ax.set_yticks(range(T), target)
    ax.xaxis.tick_top()
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04, label="attention weight")
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as err:  # unwritable place, unknown file extension
        raise RnnkitError(f"{path}: cannot write the attention plot: {err}") from None
