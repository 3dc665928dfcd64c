"""Checkpoint directories: round trip, atomic replacement, and one-line errors for bad checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
from tests._engine_toy import META, ToyNet
from torch import nn

from rnnkit.engine import config_builder, load_checkpoint, load_model, read_task, resolve, save_model
from rnnkit.engine.checkpoint import load_trainer_state, write_directory
from rnnkit.errors import CheckpointError
from rnnkit.models.language_model import RNNLanguageModel


class Tied(nn.Module):
    """Weight tying: two names, one tensor (safetensors refuses shared memory unless we copy)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 4)
        self.out = nn.Linear(4, 5, bias=False)
        self.out.weight = self.embed.weight


def build(meta):
    assert meta["model_class"] == "ToyNet"
    return ToyNet(**meta["model_config"])


def test_round_trip_rebuilds_the_model(tmp_path):
    torch.manual_seed(0)
    model = ToyNet(hidden=6)
    meta = {**META, "model_config": {"hidden": 6}, "vocabularies": {"tags": ["a", "b"]}}
    save_model(tmp_path / "ckpt", model, meta)
    loaded, loaded_meta = load_model(tmp_path / "ckpt", build, task="toy")
    assert loaded_meta["vocabularies"] == {"tags": ["a", "b"]} and loaded_meta["format_version"] == 1
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])
    assert read_task(tmp_path / "ckpt") == "toy"


def test_tied_weights_save_and_load(tmp_path):
    model = Tied()
    save_model(tmp_path / "tied", model, {"task": "lm", "model_class": "Tied", "model_config": {}})
    _, weights = load_checkpoint(tmp_path / "tied")
    fresh = Tied()
    fresh.load_state_dict(weights)
    assert torch.equal(fresh.out.weight, model.out.weight) and fresh.out.weight is fresh.embed.weight


def test_resolve_prefers_best_then_last(tmp_path):
    save_model(tmp_path / "run" / "last", ToyNet(), META)
    assert resolve(tmp_path / "run") == tmp_path / "run" / "last"
    save_model(tmp_path / "run" / "best", ToyNet(), META)
    assert resolve(tmp_path / "run") == tmp_path / "run" / "best"
    assert resolve(tmp_path / "run" / "last") == tmp_path / "run" / "last"


def test_atomic_replacement_and_crash_fallback(tmp_path):
    target = tmp_path / "last"
    write_directory(target, {"a.txt": b"one"})
    write_directory(target, {"a.txt": b"two"})
    assert (target / "a.txt").read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]  # no temporary or aside copy left
    # a crash between "old renamed aside" and "new renamed in" leaves only the aside copy
    save_model(target, ToyNet(), META)
    target.rename(tmp_path / ".last.old")
    meta, _ = load_checkpoint(tmp_path / "last")
    assert meta["model_class"] == "ToyNet"


def _checkpoint(tmp_path):
    save_model(tmp_path / "c", ToyNet(), META)
    return tmp_path / "c"


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda c: (c / "model.json").unlink(), "not a checkpoint"),
        (lambda c: (c / "model.safetensors").unlink(), "model.safetensors: missing"),
        (lambda c: (c / "model.safetensors").write_bytes(b"\x00garbage"), "model.safetensors: corrupt"),
        (lambda c: (c / "model.json").write_text('{"format": "rnnkit-checkpoint",\n oops'), r"model.json:2: corrupt"),
        (lambda c: (c / "model.json").write_text('{"format": "keras"}'), "not an rnnkit checkpoint"),
        (
            lambda c: (c / "model.json").write_text(json.dumps({"format": "rnnkit-checkpoint", "format_version": 99})),
            "format version 99",
        ),
    ],
    ids=["no-meta", "no-weights", "corrupt-weights", "corrupt-json", "foreign", "future-version"],
)
def test_bad_checkpoints_are_one_line_errors(tmp_path, damage, message):
    directory = _checkpoint(tmp_path)
    damage(directory)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(directory)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


def test_wrong_task_class_or_shape_is_an_error(tmp_path):
    directory = _checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="task 'toy', expected 'lm'"):
        load_checkpoint(directory, task="lm")
    with pytest.raises(CheckpointError, match="shape"):
        load_model(directory, lambda meta: ToyNet(hidden=5))
    with pytest.raises(CheckpointError, match=r"missing: embed\.weight"):
        load_model(directory, lambda meta: Tied())
    with pytest.raises(CheckpointError, match="not resumable"):
        load_trainer_state(directory)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "absent")


def test_config_builder_rebuilds_its_class_and_names_the_checkpoint_otherwise(tmp_path):
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=7, embedding_size=4, hidden_size=4, num_layers=1, cell="gru")
    meta = {"task": "lm", "model_class": "RNNLanguageModel", "model_config": model.get_config()}
    save_model(tmp_path / "lm", model, meta)
    loaded, _ = load_model(tmp_path / "lm", config_builder(tmp_path / "lm", RNNLanguageModel))
    assert isinstance(loaded, RNNLanguageModel) and loaded.get_config() == model.get_config()
    assert torch.equal(loaded.output.weight, model.output.weight)
    build = config_builder(tmp_path / "lm", RNNLanguageModel)
    with pytest.raises(CheckpointError, match=r"lm: model class 'ToyNet', expected 'RNNLanguageModel'"):
        build(META)
    with pytest.raises(CheckpointError, match=r"lm: bad model_config for RNNLanguageModel \(.*hidden_size"):
        build({**meta, "model_config": {**model.get_config(), "hidden_size": 0}})
    with pytest.raises(CheckpointError, match="bad model_config"):
        build({**meta, "model_config": {"vocab_size": 7, "colour": "red"}})
