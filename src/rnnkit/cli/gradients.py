"""Vanishing-gradient commands: ``rnnkit gradients`` (the probe) and ``rnnkit longrange`` (the tasks).

Examples:
    rnnkit gradients --cells elman,gru,lstm --length 100 --out runs/gradients
    rnnkit longrange --task adding --lengths 25,50,100 --budget-seconds 90 --out runs/adding
    rnnkit gradients --checkpoint runs/adding/elman-T100 runs/adding/lstm-T100 --out runs/trained
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rnnkit.analysis import gradients as probe
from rnnkit.analysis import longrange
from rnnkit.analysis.problems import PROBLEMS
from rnnkit.cells import CELLS
from rnnkit.errors import ConfigError

log = logging.getLogger("rnnkit.cli")


def _cells(text: str) -> list[str]:
    cells = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        raise argparse.ArgumentTypeError(f"cells must be a comma-separated list of {', '.join(CELLS)}, got {text!r}")
    return cells


def _lengths(text: str) -> list[int]:
    try:
        lengths = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        lengths = []
    if not lengths or min(lengths) < 2:
        raise argparse.ArgumentTypeError(f"lengths must be a comma-separated list of integers >= 2, got {text!r}")
    return lengths


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_gradients(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "gradients", help="measure how ∂L(T)/∂h(t) vanishes with the distance T − t, per cell",
        description="The gradient probe: the norm of ∂L(T)/∂h(t) for every t and the largest singular "
                    "values of the step Jacobians ∂h(t+1)/∂h(t), at initialisation or for checkpoints.")
    parser.add_argument("--cells", type=_cells, default=list(CELLS),
                        help="cells to probe at initialisation (default: elman,gru,lstm)")
    parser.add_argument("--length", type=_positive, default=100, help="sequence length T (default: 100)")
    parser.add_argument("--hidden", type=_positive, default=128, help="hidden size H at initialisation (default: 128)")
    parser.add_argument("--input-size", type=_positive, default=None,
                        help="input size I at initialisation (default: H)")
    parser.add_argument("--init", choices=("uniform", "orthogonal"), default="uniform",
                        help="initialisation of the recurrent matrices (default: uniform)")
    parser.add_argument("--batch", type=_positive, default=32, help="examples averaged over, B (default: 32)")
    parser.add_argument("--checkpoint", nargs="+", metavar="CKPT", default=None,
                        help="probe these trained checkpoints or run directories instead of fresh cells")
    parser.add_argument("--out", default="gradients", help="directory for gradients.png and gradients.json "
                                                            "(default: gradients)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(run=run_gradients)


def run_gradients(args: argparse.Namespace) -> int:
    from rnnkit.analysis.plots import plot_gradient_decay  # matplotlib only when a figure is drawn

    if args.checkpoint:
        profiles = [probe.probe_checkpoint(path, args.length, args.batch, args.seed) for path in args.checkpoint]
    else:
        profiles = probe.probe_at_init(args.cells, args.length, args.hidden, args.input_size, args.batch,
                                       args.init, args.seed)
    out = Path(args.out)
    print(probe.format_table(profiles))
    print(f"wrote {probe.write_profiles(profiles, out / 'gradients.json')} and "
          f"{plot_gradient_decay(profiles, out / 'gradients.png')}")
    return 0


def _add_longrange(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "longrange", help="train each cell on the adding problem or the copy task at several lengths",
        description="Train every cell at every length with the same time budget and report the test "
                    "metric (adding: MSE, trivial baseline ≈ 0.167; copy: recall accuracy, chance 1/8).")
    parser.add_argument("--task", choices=tuple(PROBLEMS), default="adding", help="the problem (default: adding)")
    parser.add_argument("--lengths", type=_lengths, default=[25, 50, 100, 200],
                        help="sequence lengths T (copy: the delay) (default: 25,50,100,200)")
    parser.add_argument("--cells", type=_cells, default=list(CELLS), help="cells to train (default: elman,gru,lstm)")
    parser.add_argument("--budget-seconds", type=float, default=90.0,
                        help="training time per cell and length, in seconds (default: 90)")
    parser.add_argument("--hidden", type=_positive, default=64, help="hidden size H (default: 64)")
    parser.add_argument("--batch", type=_positive, default=64, help="training batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default: 0.01)")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where to train (default: cpu)")
    parser.add_argument("--out", default="longrange", help="directory for the runs, results.json and "
                                                            "longrange.png (default: longrange)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(run=run_longrange)


def run_longrange(args: argparse.Namespace) -> int:
    from rnnkit.analysis.plots import plot_longrange  # matplotlib only when a figure is drawn

    if args.budget_seconds <= 0 or args.lr <= 0:
        raise ConfigError(f"--budget-seconds and --lr must be > 0, got {args.budget_seconds} and {args.lr}")
    results = longrange.run_longrange(args.task, args.lengths, args.cells, args.out, args.budget_seconds,
                                      args.hidden, args.batch, args.lr, args.seed, args.device)
    print(longrange.format_results(results))
    print(f"wrote {Path(args.out) / 'results.json'} and {plot_longrange(results, Path(args.out) / 'longrange.png')}")
    return 0


def register(commands: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    """Add ``rnnkit gradients`` and ``rnnkit longrange`` (this area has no ``rnnkit train`` task)."""
    _add_gradients(commands)
    _add_longrange(commands)
