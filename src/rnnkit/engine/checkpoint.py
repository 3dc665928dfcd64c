"""Checkpoint directories: weights in safetensors, everything else in JSON, written atomically.

A checkpoint directory holds

- ``model.safetensors``: the model's state_dict, CPU tensors;
- ``model.json``: ``format``, ``format_version``, ``task``, ``model_class``, ``model_config``,
  ``vocabularies``, ``settings`` (all from the task's ``model_meta``) and ``training`` (step, epoch,
  monitored metric, seed, time);
- for resumable checkpoints (``last/``), ``trainer.safetensors`` + ``trainer.json``: optimiser, schedule,
  RNG, data position, carried TBPTT state, early-stopping state and the metrics history.

A directory is written to a temporary sibling (``.NAME.tmp``), fsynced, and swapped in with renames: the
old directory is renamed aside (``.NAME.old``), the new one renamed in, the old one removed. A crash
between the two renames leaves only the aside copy, and loading falls back to it. Nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from rnnkit.errors import CheckpointError

FORMAT = "rnnkit-checkpoint"
FORMAT_VERSION = 1
MODEL_WEIGHTS = "model.safetensors"
MODEL_META = "model.json"
TRAINER_TENSORS = "trainer.safetensors"
TRAINER_META = "trainer.json"
META_KEYS = ("task", "model_class", "model_config")


# ----- writing -----


def cpu_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached contiguous CPU copies: loadable on any device, and tied weights no longer share memory."""
    return {name: t.detach().to("cpu", copy=True).contiguous() for name, t in tensors.items()}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory; the renames are still atomic
        pass
    finally:
        os.close(fd)


def write_directory(path: str | Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> content) as directory ``path``, atomically replacing any old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp"
    aside = path.parent / f".{path.name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, data in files.items():
        with open(tmp / name, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    _fsync_dir(tmp)
    if path.exists():
        shutil.rmtree(aside, ignore_errors=True)
        path.rename(aside)
    tmp.rename(path)
    _fsync_dir(path.parent)
    shutil.rmtree(aside, ignore_errors=True)


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1) + "\n").encode("utf-8")


def model_json(meta: dict[str, Any], training: dict[str, Any] | None = None) -> dict[str, Any]:
    """``model.json`` content: the task's meta plus format, version and training metadata."""
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise ValueError(f"model_meta lacks {', '.join(missing)} (needs {', '.join(META_KEYS)})")
    out = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    out.setdefault("vocabularies", {})
    out.setdefault("settings", {})
    out["training"] = {"saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(training or {})}
    return out


def save_checkpoint(
    path: str | Path,
    state_dict: dict[str, torch.Tensor],
    meta: dict[str, Any],
    training: dict[str, Any] | None = None,
    trainer_tensors: dict[str, torch.Tensor] | None = None,
    trainer_json: dict[str, Any] | None = None,
) -> None:
    """Write a checkpoint directory atomically; with ``trainer_json`` it is resumable."""
    files = {
        MODEL_WEIGHTS: save_safetensors_bytes(cpu_tensors(state_dict)),
        MODEL_META: _json_bytes(model_json(meta, training)),
    }
    if trainer_json is not None:
        files[TRAINER_TENSORS] = save_safetensors_bytes(cpu_tensors(trainer_tensors or {}))
        files[TRAINER_META] = _json_bytes({"format": FORMAT, "format_version": FORMAT_VERSION, **trainer_json})
    write_directory(path, files)


def save_model(path: str | Path, model: nn.Module, meta: dict[str, Any]) -> None:
    """Save ``model``'s weights and ``meta`` (task, model_class, model_config, ...) as a checkpoint."""
    save_checkpoint(path, model.state_dict(), meta)


# ----- reading -----


def _existing(path: Path) -> Path | None:
    """``path``, or its aside copy if a crash struck between the two renames of ``write_directory``."""
    if (path / MODEL_META).is_file():
        return path
    aside = path.parent / f".{path.name}.old"
    if not path.exists() and (aside / MODEL_META).is_file():
        return aside
    return None


def resolve(path: str | Path) -> Path:
    """The checkpoint directory for ``path``: a checkpoint itself, or a run directory (``best/`` first,
    then ``last/``). CheckpointError if there is none.
    """
    path = Path(path)
    for candidate in (path, path / "best", path / "last"):
        found = _existing(candidate)
        if found is not None:
            return found
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint or run directory")
    raise CheckpointError(f"{path}: not a checkpoint (no {MODEL_META}, no best/ or last/ checkpoint inside)")


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{file}: missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file}: unreadable: {err}") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{file}:{err.lineno}: corrupt JSON: {err.msg}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: corrupt: expected a JSON object")
    if data.get("format") != FORMAT:
        raise CheckpointError(f"{file}: not an rnnkit checkpoint (format {data.get('format')!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"{file}: checkpoint format version {version!r}; this rnnkit reads versions 1 to {FORMAT_VERSION}"
        )
    return data


def _read_tensors(file: Path, device: str | torch.device) -> dict[str, torch.Tensor]:
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{file}: missing") from None
    except OSError as err:
        raise CheckpointError(f"{file}: unreadable: {err}") from None
    try:
        tensors = load_safetensors_bytes(data)
    except Exception as err:  # safetensors raises its own error types for every kind of damage
        raise CheckpointError(f"{file}: corrupt safetensors file ({err})") from None
    return {name: t.to(device) for name, t in tensors.items()}


def read_meta(path: str | Path, task: str | None = None) -> dict[str, Any]:
    """``model.json`` of the checkpoint at ``path`` (see ``resolve``), checked for format and ``task``."""
    directory = resolve(path)
    meta = _read_json(directory / MODEL_META)
    missing = [key for key in META_KEYS if key not in meta]
    if missing:
        raise CheckpointError(f"{directory / MODEL_META}: corrupt: lacks {', '.join(missing)}")
    if task is not None and meta["task"] != task:
        raise CheckpointError(f"{directory / MODEL_META}: a checkpoint of task {meta['task']!r}, expected {task!r}")
    return meta


def read_task(path: str | Path) -> str:
    """The task name (``lm``, ``tagger``, ...) stored in the checkpoint at ``path``."""
    return str(read_meta(path)["task"])


def load_checkpoint(
    path: str | Path, device: str | torch.device = "cpu", task: str | None = None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(meta, state_dict)`` of the checkpoint at ``path``, tensors on ``device``.

    ``meta`` is model.json (task, model_class, model_config, vocabularies, settings, training). With
    ``task`` given, a checkpoint of another task is a CheckpointError.
    """
    meta = read_meta(path, task)
    return meta, _read_tensors(resolve(path) / MODEL_WEIGHTS, device)


def load_state_into(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str | Path) -> None:
    """``model.load_state_dict`` with mismatches reported as one-line CheckpointErrors naming ``source``."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: weights do not fit {type(model).__name__} "
            f"(missing: {', '.join(missing[:5]) or '-'}; unexpected: {', '.join(unexpected[:5]) or '-'})"
        )
    for name, tensor in state_dict.items():
        if own[name].shape != tensor.shape:
            raise CheckpointError(
                f"{source}: {name} has shape {tuple(tensor.shape)}, the model expects {tuple(own[name].shape)}"
            )
    model.load_state_dict(state_dict)


def config_builder(path: str | Path, model_class: type[nn.Module]) -> Callable[[dict[str, Any]], nn.Module]:
    """The usual ``build`` of :func:`load_model`: ``model_class.from_config(meta["model_config"])``, once
    ``meta["model_class"]`` says the checkpoint at ``path`` holds one; a CheckpointError naming ``path`` if not."""
    name = model_class.__name__

    def build(meta: dict[str, Any]) -> nn.Module:
        if meta["model_class"] != name:
            raise CheckpointError(f"{path}: model class {meta['model_class']!r}, expected {name!r}")
        try:
            return model_class.from_config(meta["model_config"])  # type: ignore[attr-defined]
        except (TypeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: bad model_config for {name} ({err})") from None

    return build


def load_model(
    path: str | Path,
    build: Callable[[dict[str, Any]], nn.Module],
    device: str | torch.device = "cpu",
    task: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model from a checkpoint: ``build(meta)`` makes it, the weights are loaded into it.

    ``build`` is usually :func:`config_builder`'s; a task with more to check writes its own.
    """
    meta, state_dict = load_checkpoint(path, device, task)
    model = build(meta)
    load_state_into(model, state_dict, resolve(path) / MODEL_WEIGHTS)
    return model.to(device), meta


def load_trainer_state(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(trainer.json, trainer.safetensors tensors)`` of a resumable checkpoint directory."""
    directory = _existing(Path(path))
    if directory is None:
        raise CheckpointError(f"{path}: no checkpoint to resume from")
    if not (directory / TRAINER_META).is_file():
        raise CheckpointError(f"{directory}: not resumable (no {TRAINER_META})")
    return _read_json(directory / TRAINER_META), _read_tensors(directory / TRAINER_TENSORS, device)
