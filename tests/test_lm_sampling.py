"""Sampling: top-k / top-p filters, temperature, greedy, seeding, streaming generator."""

import torch

from rnnkit.decode.sampling import filter_logits, next_tokens, sample


def test_top_k_and_top_p_keep_exactly_the_right_tokens():
    probs = torch.tensor([[0.05, 0.5, 0.15, 0.3]])
    logits = probs.log()
    assert filter_logits(logits, top_k=2).isfinite().tolist() == [[False, True, False, True]]
    # nucleus 0.6: 0.5 alone is not enough, 0.5 + 0.3 is.
    assert filter_logits(logits, top_p=0.6).isfinite().tolist() == [[False, True, False, True]]
    assert filter_logits(logits, top_p=0.5).isfinite().tolist() == [[False, True, False, False]]
    assert filter_logits(logits, top_p=0.96).isfinite().all()
    assert filter_logits(logits, top_k=1, top_p=0.99).isfinite().sum() == 1


def test_sampling_follows_the_distribution_and_temperature():
    logits = torch.tensor([[0.0, 1.0, 2.0]]).repeat(20000, 1)
    generator = torch.Generator().manual_seed(0)
    freq = torch.bincount(next_tokens(logits, generator=generator), minlength=3) / 20000
    torch.testing.assert_close(freq, torch.softmax(logits[0], -1), atol=0.015, rtol=0)
    cold = torch.bincount(next_tokens(logits, temperature=0.25, generator=generator), minlength=3) / 20000
    assert cold[2] > 0.95
    assert next_tokens(logits[:2], greedy=True).tolist() == [2, 2]


class Shift(torch.nn.Module):
    """A toy LM: next id = (id + 1) mod V with a little noise elsewhere; counts its calls."""

    def __init__(self, V=6):
        super().__init__()
        self.V, self.calls = V, 0

    def forward(self, ids, state=None):
        self.calls += 1
        assert not torch.is_grad_enabled()
        return torch.nn.functional.one_hot((ids + 1) % self.V, self.V).float() * 3.0, state


def test_generator_streams_batches_and_is_reproducible():
    model = Shift()
    prime = torch.tensor([[0, 1], [3, 4]])
    steps = list(sample(model, prime, 4, greedy=True))
    assert [s.tolist() for s in steps] == [[2, 5], [3, 0], [4, 1], [5, 2]]
    assert model.calls == 4  # the prime once, then one call per token but the last
    assert torch.is_grad_enabled()  # no_grad never leaks out of the generator
    runs = [torch.stack(list(sample(Shift(), prime, 30, generator=torch.Generator().manual_seed(5))))
            for _ in range(2)]
    assert torch.equal(runs[0], runs[1])


def test_forbidden_tokens_are_never_produced():
    logits_model = Shift(V=3)
    out = torch.stack(list(sample(logits_model, torch.zeros(50, 1, dtype=torch.long), 5, temperature=5.0,
                                  generator=torch.Generator().manual_seed(1), forbidden=[0])))
    assert not (out == 0).any()
