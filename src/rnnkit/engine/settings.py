"""Flat settings, as a ``--config`` JSON file or keyword arguments hold them: a task's own settings (the
arguments of its constructor) and the engine's ``TrainConfig`` fields side by side, told apart by name.

Every task reads its settings files here, so an unknown key or a value of the wrong type is the same
one-line error everywhere, naming the file (and, for an unknown key, its line).

Example:
    >>> class Task:
    ...     def __init__(self, hidden_size: int = 8, train_config=None, out_dir=None) -> None: ...
    >>> split_settings({"hidden_size": 64, "lr": 0.01}, Task)
    ({'hidden_size': 64}, {'lr': 0.01})
    >>> split_settings({"hidden_size": "big"}, Task, "c.json")
    Traceback (most recent call last):
    ...
    rnnkit.errors.ConfigError: c.json: hidden_size must be int, got 'big'
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rnnkit.engine.config import TrainConfig, fits_annotation, json_type_name, read_json_file
from rnnkit.errors import ConfigError

TRAINING_KEYS = tuple(field.name for field in dataclasses.fields(TrainConfig))
NOT_SETTINGS = ("self", "train_config", "out_dir")  # constructor arguments that a settings file cannot hold


def task_keys(cls: Callable) -> tuple[str, ...]:
    """A task's own setting names: the arguments of its constructor."""
    return tuple(name for name in inspect.signature(cls).parameters if name not in NOT_SETTINGS)


def split_settings(
    settings: Mapping[str, Any], cls: Callable, source: str = "settings"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat ``settings`` into task ``cls``'s own and the engine's TrainConfig fields.

    A key that is neither, or a value that does not fit the type of ``cls``'s argument, is a ConfigError
    naming ``source``. (TrainConfig checks its own fields' types when it is built from them.)
    """
    own, hints = task_keys(cls), typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    task, training = {}, {}
    for key, value in settings.items():
        if key in own:
            if key in hints and not fits_annotation(hints[key], value):
                raise ConfigError(f"{source}: {key} must be {json_type_name(hints[key])}, got {value!r}")
            task[key] = value
        elif key in TRAINING_KEYS:
            training[key] = value
        else:
            raise _unknown_key(key, own, source)
    return task, training


def read_settings_file(path: str | Path, cls: Callable) -> dict[str, Any]:
    """A JSON object of flat settings (task ``cls``'s own and TrainConfig fields), its keys checked (the
    values' types are checked where the settings are split: :func:`split_settings`, ``TrainConfig``).

    An unknown key is a ConfigError naming the file and the line of the key.
    """
    data = read_json_file(path)
    own = task_keys(cls)
    unknown = [key for key in data if key not in own and key not in TRAINING_KEYS]
    if unknown:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        line = next((i for i, text in enumerate(lines, 1) if f'"{unknown[0]}"' in text), None)
        raise _unknown_key(unknown[0], own, f"{path}:{line}" if line else str(path))
    return data


def _unknown_key(key: str, own: tuple[str, ...], source: str) -> ConfigError:
    return ConfigError(f"{source}: unknown key {key!r} (known keys: {', '.join([*own, *TRAINING_KEYS])})")
