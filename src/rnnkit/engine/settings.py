"""Flat settings, as a ``--config`` JSON file or keyword arguments hold them: a task's own settings and the
engine's ``TrainConfig`` fields side by side, told apart by name.

Every task reads its settings files here, so an unknown key is the same one-line error everywhere, naming
the file and the key's line.

Example:
    >>> split_settings({"hidden_size": 64, "lr": 0.01}, ("hidden_size",))
    ({'hidden_size': 64}, {'lr': 0.01})
    >>> split_settings({"hiden_size": 64}, ("hidden_size",), "c.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rnnkit.errors.ConfigError: c.json: unknown key 'hiden_size' (known keys: hidden_size, optimizer, lr, ...)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from rnnkit.engine.config import TrainConfig, read_json_file
from rnnkit.errors import ConfigError

TRAINING_KEYS = tuple(field.name for field in dataclasses.fields(TrainConfig))


def task_keys(cls: Callable, exclude: Collection[str] = ("train_config", "out_dir")) -> tuple[str, ...]:
    """A task's own setting names: the arguments of its constructor, less ``exclude``."""
    return tuple(name for name in inspect.signature(cls).parameters if name not in exclude)


def split_settings(
    settings: Mapping[str, Any], own: Collection[str], source: str = "settings"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat ``settings`` into the task's own (keys in ``own``) and the engine's TrainConfig fields.

    A key that is neither is a ConfigError naming ``source``.
    """
    task, training = {}, {}
    for key, value in settings.items():
        if key in own:
            task[key] = value
        elif key in TRAINING_KEYS:
            training[key] = value
        else:
            raise _unknown_key(key, own, source)
    return task, training


def read_settings_file(path: str | Path, own: Collection[str]) -> dict[str, Any]:
    """A JSON object of flat settings (the task's own, keys in ``own``, and TrainConfig fields), keys checked.

    An unknown key is a ConfigError naming the file and the line of the key.
    """
    data = read_json_file(path)
    unknown = [key for key in data if key not in own and key not in TRAINING_KEYS]
    if unknown:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        line = next((i for i, text in enumerate(lines, 1) if f'"{unknown[0]}"' in text), None)
        raise _unknown_key(unknown[0], own, f"{path}:{line}" if line else str(path))
    return data


def _unknown_key(key: str, own: Collection[str], source: str) -> ConfigError:
    return ConfigError(f"{source}: unknown key {key!r} (known keys: {', '.join([*own, *TRAINING_KEYS])})")
