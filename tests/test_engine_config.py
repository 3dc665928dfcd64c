"""TrainConfig's JSON round trip and flags, schedules, optimiser state, nested batch helpers."""

from __future__ import annotations

import argparse
import collections
import dataclasses

import pytest
import torch

from rnnkit.engine import TrainConfig, add_train_arguments, detach, to_device, train_config_from_args
from rnnkit.engine.optim import LRSchedule, build_optimizer, load_optimizer_state, optimizer_state
from rnnkit.errors import ConfigError


def test_file_round_trip(tmp_path):
    config = TrainConfig(optimizer="sgd", lr=0.5, max_steps=10, clip_norm=None, monitor="f1", monitor_mode="max")
    config.to_file(tmp_path / "train.json")
    assert TrainConfig.from_file(tmp_path / "train.json") == config


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"lr": 0.1,\n "learning_rate": 2}', r"train.json: unknown key 'learning_rate' \(known keys: optimizer, lr"),
        ('{"lr": "fast"}', "train.json: lr must be float, got 'fast'"),
        ('{"max_steps": 1.5}', "train.json: max_steps must be int or null"),
        ('{"optimizer": "adagrad"}', "train.json: optimizer must be one of adam, adamw, sgd"),
        ('{"lr": -1}', "train.json: lr must be > 0"),
        ('{"lr": 0.1,\n\n "epochs": }', r"train.json:3: invalid JSON"),
        ("[1, 2]", "train.json: a config must be a JSON object"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "train.json").write_text(text)
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_file(tmp_path / "train.json")


def test_flags_override_the_file():
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    base = TrainConfig(lr=0.5, epochs=3)
    args = parser.parse_args(["--lr", "0.01", "--max-steps", "7", "--clip-norm", "0", "--restore-best", "no"])
    config = train_config_from_args(args, base)
    assert (config.lr, config.epochs, config.max_steps, config.clip_norm, config.restore_best) == (
        0.01,
        3,
        7,
        None,
        False,
    )
    assert "peak learning rate (default: 0.001)" in parser.format_help()
    with pytest.raises(ConfigError, match="command line: schedule must be one of"):
        train_config_from_args(parser.parse_args(["--schedule", "linear"]))


def test_schedules():
    plateau = LRSchedule("plateau", lr=1.0, warmup_steps=2, factor=0.5, patience=1, min_lr=0.2)
    assert [plateau.lr(t) for t in range(3)] == [0.5, 1.0, 1.0]
    for value in [3.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]:  # 1 bad validation tolerated, then halve
        plateau.observe(value)
    assert plateau.scale == 0.125 and plateau.lr(10) == 0.2  # floor at min_lr
    restored = LRSchedule("plateau", lr=1.0)
    restored.load_state_dict(plateau.state_dict())
    assert restored.state_dict() == plateau.state_dict()
    assert LRSchedule("constant", lr=0.3).lr(1000) == 0.3
    cosine = LRSchedule("cosine", lr=1.0, total_steps=10, min_lr=0.1)
    assert cosine.lr(0) == 1.0 and cosine.lr(10) == pytest.approx(0.1) and cosine.lr(5) == pytest.approx(0.55)
    with pytest.raises(ConfigError, match="cosine needs"):
        LRSchedule("cosine", lr=1.0)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_optimizer_state_round_trip_without_pickle(name):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    config = TrainConfig(optimizer=name, momentum=0.9, weight_decay=0.01)
    optimizer = build_optimizer(config, list(model.parameters()))
    for _ in range(3):
        model(torch.randn(4, 3)).pow(2).mean().backward()
        optimizer.step()
    tensors, data = optimizer_state(optimizer)
    assert all(isinstance(t, torch.Tensor) for t in tensors.values()) and tensors
    fresh = build_optimizer(config, list(model.parameters()))
    load_optimizer_state(fresh, tensors, data, "x")
    a, b = optimizer.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for key, entries in a["state"].items():
        for field, value in entries.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][key][field]))


def test_adamw_decays_the_weights_apart_from_the_gradient():
    """AdamW's decay is θ ← θ − lr·λ·θ, outside Adam's normalisation; Adam's weight_decay is L2 inside it."""
    def one_step(name: str) -> torch.Tensor:
        weight = torch.nn.Parameter(torch.ones(3))
        weight.grad = torch.zeros(3)
        build_optimizer(TrainConfig(optimizer=name, lr=0.1, weight_decay=0.5), [weight]).step()
        return weight.detach()

    assert torch.allclose(one_step("adamw"), torch.full((3,), 1 - 0.1 * 0.5))
    assert torch.allclose(one_step("adam"), torch.full((3,), 1 - 0.1), atol=1e-6)  # L2 gradient, normalised


@dataclasses.dataclass
class Batch:
    ids: torch.Tensor
    note: str


def test_nested_batches_move_and_detach():
    Pair = collections.namedtuple("Pair", "a b")
    w = torch.ones(2, requires_grad=True)
    batch = {"x": Batch(w * 2, "n"), "pair": Pair(w * 3, [w * 4, 5])}
    moved = to_device(batch, "cpu")
    assert isinstance(moved["x"], Batch) and moved["x"].note == "n" and isinstance(moved["pair"], Pair)
    cut = detach(batch)
    assert not cut["x"].ids.requires_grad and not cut["pair"].b[0].requires_grad and cut["pair"].b[1] == 5
