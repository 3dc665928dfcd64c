"""Training settings: the ``TrainConfig`` dataclass, its JSON round-trip and its command-line flags.

Every setting has a default. A JSON file or dict may set any subset; an unknown key or a value of the
wrong type is a ``ConfigError`` naming the key and the file. ``dataclass_from_dict`` and
``read_json_file`` work for any settings dataclass, so tasks reuse them for their own configs.
"""

from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from rnnkit.errors import ConfigError

T = TypeVar("T")

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "plateau", "cosine")
DEVICES = ("cpu", "cuda", "auto")
MODES = ("min", "max")
PROGRESS = ("auto", "bar", "lines", "off")


@dataclass
class TrainConfig:
    """How the engine trains: optimiser, schedule, stopping, validation, checkpoints and logging.

    ``None`` switches a limit off (no step limit, no time budget, no clipping, no early stopping).

    Example:
        >>> cfg = TrainConfig(lr=0.01, max_steps=100)
        >>> TrainConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    optimizer: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3  # peak learning rate (after warm-up)
    weight_decay: float = 0.0  # L2 for adam/sgd, decoupled for adamw
    momentum: float = 0.0  # sgd only
    epochs: int = 10  # passes over train_batches
    max_steps: int | None = None  # optimiser steps, over all epochs; None: no limit
    time_budget: float | None = None  # seconds of training in this run; None: no limit
    clip_norm: float | None = 1.0  # clip the global gradient norm ||g||_2 to this; None: no clipping
    schedule: str = "constant"  # constant | plateau | cosine
    warmup_steps: int = 0  # linear warm-up from 0 to lr over this many steps
    min_lr: float = 0.0  # floor of the cosine and plateau schedules
    lr_factor: float = 0.5  # plateau: multiply lr by this ...
    lr_patience: int = 0  # ... once more than this many validations in a row bring no improvement
    eval_every: int | None = None  # validate every N steps (and at every epoch end); None: epoch ends only
    checkpoint_every: int | None = None  # also save last/ every N steps; None: at validations and the end
    patience: int | None = None  # early stopping after N validations without improvement; None: never
    average_from: int | None = None  # validate and keep the mean of the weights after this step; None: off
    seed: int = 0
    device: str = "auto"  # cpu | cuda | auto
    monitor: str = "loss"  # validation metric that picks best/ ("loss" or a key of task.evaluate)
    monitor_mode: str = "min"  # min | max
    log_every: int = 50  # training log line / metrics.jsonl record every N steps
    progress: str = "auto"  # auto (bar on a terminal, lines otherwise) | bar | lines | off
    restore_best: bool = True  # after fit, load best/ weights into the model (if a best/ exists)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, source: str = "<config>") -> None:
        """Raise ConfigError for a value outside its allowed set or range."""
        choices = {
            "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES,
            "device": DEVICES,
            "monitor_mode": MODES,
            "progress": PROGRESS,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{source}: {key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}")
        positive = ("lr", "epochs", "log_every", "max_steps", "time_budget", "clip_norm")
        positive += ("eval_every", "checkpoint_every", "patience")
        if self.average_from is not None and self.average_from < 0:
            raise ConfigError(f"{source}: average_from must be >= 0, got {self.average_from!r}")
        for key in positive:
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise ConfigError(f"{source}: {key} must be > 0, got {value!r}")
        for key in ("weight_decay", "momentum", "warmup_steps", "min_lr", "lr_patience"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{source}: {key} must be >= 0, got {getattr(self, key)!r}")
        if not 0 < self.lr_factor < 1:
            raise ConfigError(f"{source}: lr_factor must be in (0, 1), got {self.lr_factor!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<config>") -> TrainConfig:
        """Build from a dict; unknown keys and wrongly typed values raise ConfigError naming ``source``."""
        return dataclass_from_dict(cls, data, source)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a JSON file holding (a subset of) the settings."""
        return cls.from_dict(read_json_file(path), str(path))

    def to_file(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


def read_json_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON object from ``path``; ConfigError (file and line) if unreadable or not an object."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a JSON object, got {type(data).__name__}")
    return data


def fits_annotation(annotation: Any, value: Any) -> bool:
    """Whether ``value`` (decoded JSON) fits a type annotation (a dataclass field's, an argument's)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(fits_annotation(arg, value) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is Any:
        return True
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:  # JSON writes 1.0 as 1
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin in (list, tuple, collections.abc.Sequence):  # JSON's arrays; a string is no Sequence here
        return isinstance(value, list)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def json_type_name(annotation: Any) -> str:
    """``int | None`` -> "int or null", ``Sequence[str]`` -> "list" (JSON's words)."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    words = {type(None): "null", list: "list", tuple: "list", collections.abc.Sequence: "list", dict: "object",
             collections.abc.Mapping: "object"}
    return " or ".join(words.get(typing.get_origin(t) or t, getattr(t, "__name__", str(t)))
                       for t in options or (annotation,))


def dataclass_from_dict(cls: type[T], data: dict[str, Any], source: str = "<config>") -> T:
    """Build dataclass ``cls`` from ``data``, checking every key and value type against the fields.

    Example:
        >>> dataclass_from_dict(TrainConfig, {"lr": 1}).lr
        1.0
        >>> dataclass_from_dict(TrainConfig, {"learning_rate": 1})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rnnkit.errors.ConfigError: <config>: unknown key 'learning_rate' (known keys: optimizer, lr, ...)
    """
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in hints or key not in known:
            raise ConfigError(f"{source}: unknown key {key!r} (known keys: {', '.join(known)})")
        if not fits_annotation(hints[key], value):
            raise ConfigError(f"{source}: {key} must be {json_type_name(hints[key])}, got {value!r}")
        if hints[key] is float or hints[key] == float | None:
            value = None if value is None else float(value)
        values[key] = value
    try:
        obj = cls(**values)
    except ConfigError as err:  # re-raise validation errors against the file, not "<config>"
        raise ConfigError(str(err).replace("<config>", source, 1)) from None
    return obj


# ----- command-line flags (argparse only; the CLI modules call these) -----

_FLAG_HELP = {
    "optimizer": "optimiser: adam, adamw or sgd",
    "lr": "peak learning rate",
    "weight_decay": "weight decay (L2 for adam/sgd, decoupled for adamw)",
    "momentum": "SGD momentum",
    "epochs": "number of passes over the training data",
    "max_steps": "stop after this many optimiser steps",
    "time_budget": "stop after this many seconds of training",
    "clip_norm": "clip the gradient norm to this value (0: no clipping)",
    "schedule": "learning-rate schedule: constant, plateau or cosine",
    "warmup_steps": "linear learning-rate warm-up steps",
    "min_lr": "lowest learning rate of the cosine and plateau schedules",
    "lr_factor": "plateau: factor applied to the learning rate",
    "lr_patience": "plateau: validations without improvement before the learning rate drops",
    "eval_every": "validate every N steps as well as at each epoch end",
    "checkpoint_every": "save last/ every N steps as well as at each validation",
    "patience": "stop after N validations without improvement",
    "average_from": "from this step on, validate and keep the running mean of the weights (averaged SGD)",
    "seed": "random seed",
    "device": "cpu, cuda or auto",
    "monitor": "validation metric that selects the best checkpoint",
    "monitor_mode": "min or max: whether a lower or higher monitored metric is better",
    "log_every": "log the training loss every N steps",
    "progress": "auto, bar, lines or off",
    "restore_best": "after training, keep the best rather than the last weights (true/false)",
}


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _shown(value: Any) -> str:
    """A default as the help shows it: None switches a limit off."""
    return "off" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def add_train_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig | None = None) -> None:
    """Add one ``--flag`` per TrainConfig field (``--max-steps`` for ``max_steps``).

    Each flag defaults to None, meaning "as in the config file, else the default" (the help shows
    ``defaults``, a task's own TrainConfig, or TrainConfig's); ``train_config_from_args`` applies the
    flags given over the file.
    """
    defaults = defaults or TrainConfig()
    hints = typing.get_type_hints(TrainConfig)
    group = parser.add_argument_group("training")
    for field in fields(TrainConfig):
        # the field's type without its "| None"
        kind = next(t for t in typing.get_args(hints[field.name]) or (hints[field.name],) if t is not type(None))
        group.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=_bool if kind is bool else kind,
            default=None,
            metavar=field.name.upper(),
            help=f"{_FLAG_HELP[field.name]} (default: {_shown(getattr(defaults, field.name))})",
        )


def train_config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """The flags that were given (not None), applied over ``base`` (a config file's, or the defaults).

    ``--clip-norm 0`` switches clipping off.
    """
    values = (base or TrainConfig()).to_dict()
    for field in fields(TrainConfig):
        given = getattr(args, field.name, None)
        if given is not None:
            values[field.name] = None if field.name == "clip_norm" and given == 0 else given
    return TrainConfig.from_dict(values, "command line")
