"""What the command modules share: the flags of every ``rnnkit train`` command, flag tables of model
settings, the end-of-training log line, and how many inputs a prediction command reads at a time.

A flag table maps ``flag -> (setting, type, help)``. Every setting flag defaults to None so that "not
given" can be told from a value: a setting from ``--config`` (or from a resumed run) then stands unless
its flag is given. The help shows the setting's own default.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_setting_flags(parser, {"hidden": ("hidden_size", int, "state size H")}, {"hidden_size": 128})
    >>> given_settings(parser.parse_args(["--hidden", "64"]), ["hidden_size"])
    {'hidden_size': 64}
    >>> given_settings(parser.parse_args([]), ["hidden_size"])
    {}
"""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rnnkit.engine import TrainResult
from rnnkit.engine.config import TrainConfig, add_train_arguments

log = logging.getLogger("rnnkit.cli")

FlagTable = Mapping[str, tuple[str, type, str]]


def add_run_arguments(parser: argparse.ArgumentParser, out: str, config_help: str,
                      train_defaults: TrainConfig | None = None) -> None:
    """``--config FILE`` (``config_help`` says what it holds), ``--out DIR`` (default ``out``), ``--resume``
    and the engine's training flags: what every ``rnnkit train`` command takes. Their help shows
    ``train_defaults``, the task's own training settings where it has any (default: TrainConfig's)."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help=f"{config_help} (flags given on the command line win)")
    parser.add_argument("--out", metavar="DIR", default=out, help=f"run directory (default: {out})")
    parser.add_argument("--resume", action="store_true", default=False,
                        help="continue the run in --out from its last checkpoint (same data and settings)")
    add_train_arguments(parser, train_defaults)


def signature_defaults(cls: Callable) -> dict[str, Any]:
    """The default of every argument of ``cls``'s constructor, by name."""
    return {name: p.default for name, p in inspect.signature(cls).parameters.items()}


def add_setting_flags(group: argparse.ArgumentParser | argparse._ArgumentGroup, flags: FlagTable,
                      defaults: Mapping[str, Any], choices: Mapping[str, Sequence[str]] | None = None) -> None:
    """One ``--flag`` per row of ``flags``, stored under its setting's name; ``choices`` by setting name."""
    for flag, (name, kind, text) in flags.items():
        group.add_argument(f"--{flag}", dest=name, type=kind, default=None, choices=(choices or {}).get(name),
                           help=f"{text} (default: {defaults[name]})")


def given_settings(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The settings among ``names`` whose flags were given on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def log_training_end(result: TrainResult, monitored: str, out: str, digits: int = 4) -> None:
    """One line on how training ended: why, after how many steps, the best ``monitored`` value, the run."""
    best = "-" if result.best_metric is None else f"{result.best_metric:.{digits}f}"
    log.info("training stopped (%s) after %d steps; best %s %s; run saved in %s", result.stopped_reason,
             result.steps, monitored, best, out)


def chunk_size(given: int | None, file: str, from_file: int) -> int:
    """Inputs predicted together: ``given``, else one at a time for a person typing at a terminal (so that
    each answer comes at once), else ``from_file``."""
    return given or (1 if file == "-" and sys.stdin.isatty() else from_file)
