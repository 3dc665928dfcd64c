"""Scheduled sampling (Bengio et al. 2015): schedules, mixing, unrolling against teacher forcing."""

import itertools

import pytest
import torch

from rnnkit.models.language_model import RNNLanguageModel
from rnnkit.tasks.scheduled_sampling import SamplingSchedule, mix, unroll


@pytest.mark.parametrize("kind", ["linear", "exponential", "inverse_sigmoid"])
def test_schedules_start_at_truth_decay_monotonically_to_the_floor(kind):
    schedule = SamplingSchedule(kind, steps=1000, min_truth=0.2)
    eps = [schedule.truth_probability(i) for i in range(0, 5000, 50)]
    assert eps[0] > 0.99 or (kind == "inverse_sigmoid" and eps[0] > 0.9)
    assert all(a >= b for a, b in itertools.pairwise(eps))
    assert eps[-1] == pytest.approx(0.2)
    assert schedule.sample_probability(4999) == pytest.approx(0.8)


def test_schedule_formulas():
    assert SamplingSchedule("linear", 100, 0.0).truth_probability(25) == pytest.approx(0.75)
    assert SamplingSchedule("exponential", 100, 0.25).truth_probability(50) == pytest.approx(0.5)
    assert SamplingSchedule("inverse_sigmoid", 400, 0.0).truth_probability(200) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="kind"):
        SamplingSchedule("cosine")


def test_mix_replaces_gold_with_samples_at_the_given_rate():
    gold = torch.zeros(20000, dtype=torch.long)
    logits = torch.tensor([[-30.0, 0.0, 0.0]]).repeat(20000, 1)  # samples are 1 or 2, never 0
    out = mix(gold, logits, 0.3, torch.Generator().manual_seed(0))
    assert (out != 0).float().mean().item() == pytest.approx(0.3, abs=0.015)
    assert set(out.unique().tolist()) == {0, 1, 2}


def test_unroll_without_sampling_is_teacher_forcing_and_gradients_flow():
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=10, embedding_size=4, hidden_size=6, num_layers=2, cell="lstm").eval()
    ids = torch.randint(0, 10, (3, 8))

    def step(x, state):
        logits, state = model(x[:, None], state)
        return logits[:, 0], state

    forced, _ = model(ids)
    unrolled, _ = unroll(step, ids, probability=0.0)
    torch.testing.assert_close(unrolled, forced)
    sampled, _ = unroll(step, ids, probability=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(sampled[:, 0], forced[:, 0]) and not torch.allclose(sampled, forced)
    sampled.sum().backward()
    assert model.embedding.weight.grad is not None
