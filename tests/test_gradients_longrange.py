"""The long-range problems: their generators, trivial baselines, training task and engine training."""

import pytest
import torch

from rnnkit.analysis.longrange import LongRangeTask, format_results, train_one
from rnnkit.analysis.problems import AddingProblem, CopyProblem, make_problem


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_adding_examples_have_two_markers_one_per_half_and_their_sum_as_target():
    x, y = AddingProblem().generate(500, 30, _gen())
    markers = x[:, :, 1]
    assert torch.equal(markers.sum(dim=1), torch.full((500,), 2.0))
    assert torch.equal(markers[:, :15].sum(dim=1), torch.ones(500))  # one in the first half
    assert torch.allclose((x[:, :, 0] * markers).sum(dim=1), y)
    assert float(x[:, :, 0].min()) >= 0.0 and float(x[:, :, 0].max()) <= 1.0


def test_adding_baseline_is_one_sixth():
    """Predicting 1 gives MSE = Var(u1 + u2) = 1/6; 20 000 examples pin it to about ± 0.0015 (1 sd)."""
    _, y = AddingProblem().generate(20_000, 50, _gen(1))
    assert AddingProblem().baseline(y) == pytest.approx(1 / 6, abs=0.006)
    assert float(y.mean()) == pytest.approx(1.0, abs=0.01)


def test_copy_examples_recall_the_symbols_after_the_delimiter():
    problem = CopyProblem(symbols=4)
    x, y = problem.generate(50, 12, _gen())
    ids = x.argmax(dim=2)  # (50, 12 + 8)
    assert x.shape == (50, 20, 10) and y.shape == (50, 20)
    assert torch.equal(y[:, -4:], ids[:, :4])  # the symbols come back at the end ...
    assert bool((y[:, :-4] == 0).all())  # ... and every other target is blank
    assert bool((ids[:, 4 + 12 - 1] == 9).all()) and int((ids == 9).sum()) == 50  # one delimiter each
    assert bool(((ids[:, :4] >= 1) & (ids[:, :4] <= 8)).all())


def test_copy_chance_level_is_one_eighth():
    problem = CopyProblem()
    _, y = problem.generate(5_000, 10, _gen(2))
    assert problem.baseline(y) == pytest.approx(1 / 8, abs=0.01)
    # a memoryless model that outputs blank everywhere scores 0 on the recalled symbols
    blank = torch.zeros(5_000, y.size(1), 10)
    blank[:, :, 0] = 1.0
    assert problem.metrics(blank, y)["accuracy"] == 0.0


def test_problems_reject_bad_lengths_and_names():
    with pytest.raises(ValueError, match="length >= 2"):
        AddingProblem().generate(2, 1, _gen())
    with pytest.raises(ValueError, match="unknown long-range problem"):
        make_problem("parity")


def test_task_batches_are_a_pure_function_of_seed_epoch_and_index():
    task = LongRangeTask(AddingProblem(), 8, batch_size=4, steps_per_epoch=5, eval_size=10, seed=7)
    again = LongRangeTask(AddingProblem(), 8, batch_size=4, steps_per_epoch=5, eval_size=10, seed=7)
    assert torch.equal(task.train_batches(2)[3][0], again.train_batches(2)[3][0])
    assert not torch.equal(task.train_batches(2)[3][0], task.train_batches(2)[4][0])
    assert not torch.equal(task.train_batches(2)[3][0], task.train_batches(3)[3][0])
    assert not torch.equal(task.valid[0], task.test[0])
    assert len(task.train_batches(0)) == 5 and sum(len(b[1]) for b in task.eval_batches()) == 10
    with pytest.raises(IndexError):
        task.train_batches(0)[5]


def test_engine_training_learns_a_short_adding_problem(tmp_path):
    """At T = 6 the markers are never more than 5 steps back: an LSTM beats the baseline by far."""
    result = train_one(AddingProblem(), "lstm", 6, tmp_path / "run", budget_seconds=120, hidden_size=16,
                       batch_size=32, lr=1e-2, max_steps=400)
    assert result.steps == 400
    assert result.value < 0.2 * result.baseline, result
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()
    assert "lstm mse" in format_results([result])
