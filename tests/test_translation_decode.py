"""Greedy and beam search: against a step-by-step argmax, exhaustive search, and batching."""

import itertools

import pytest
import torch

from rnnkit.decode.beam import beam_search, greedy, length_penalty
from rnnkit.models.seq2seq import Seq2Seq

PAD, EOS, BOS = 0, 1, 2  # target ids; 3 and 4 are the only words of this tiny target vocabulary


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    net = Seq2Seq(9, 5, 8, 8).eval()
    with torch.no_grad():  # make <eos> competitive, so that hypotheses of several lengths compete
        net.output.bias[EOS] += 1.5
    return net


def source():
    torch.manual_seed(0)
    src = torch.randint(3, 9, (3, 4))
    src[1, 2:] = 0
    return src, torch.tensor([4, 2, 3])


def log_prob(model, src, lengths, row, tokens):
    """log P(tokens | source row), scored one token at a time."""
    with torch.no_grad():
        memory, state = model.encode(src[row : row + 1], lengths[row : row + 1])
        ids, total = torch.tensor([BOS]), 0.0
        for token in tokens:
            logits, state, _ = model.step(ids, state, memory)
            logits[:, [PAD, BOS]] = float("-inf")
            total += float(torch.log_softmax(logits, -1)[0, token])
            ids = torch.tensor([token])
    return total


def test_greedy_takes_the_argmax_at_every_step(model):
    src, lengths = source()
    found = greedy(model, src, lengths, BOS, EOS, max_len_a=0.0, max_len_b=6)
    for row in range(3):
        with torch.no_grad():
            memory, state = model.encode(src[row : row + 1], lengths[row : row + 1])
            ids, expected = torch.tensor([BOS]), []
            for _ in range(6):
                logits, state, _ = model.step(ids, state, memory)
                logits[:, [PAD, BOS]] = float("-inf")
                ids = logits.argmax(-1)
                if int(ids) == EOS:
                    break
                expected.append(int(ids))
        assert found[row].tokens == expected
        ended = expected + ([EOS] if len(expected) < 6 else [])
        assert found[row].log_prob == pytest.approx(log_prob(model, src, lengths, row, ended), abs=1e-4)


def test_a_wide_beam_finds_the_exhaustive_best(model):
    src, lengths = source()
    max_len = 4  # hypotheses of at most 3 words and <eos>; with a = 0, b = 4
    beams = beam_search(model, src, lengths, BOS, EOS, beam_size=20, n_best=3, alpha=0.0, max_len_a=0, max_len_b=4)
    for row in range(3):
        scored = sorted(
            ((log_prob(model, src, lengths, row, [*words, EOS]), list(words))
             for n in range(max_len) for words in itertools.product([3, 4], repeat=n)),
            reverse=True,
        )
        assert [h.tokens for h in beams[row]] == [words for _, words in scored[:3]]
        assert [h.log_prob for h in beams[row]] == pytest.approx([s for s, _ in scored[:3]], abs=1e-4)


def test_beam_search_is_the_same_batched_and_alone(model):
    src, lengths = source()
    together = beam_search(model, src, lengths, BOS, EOS, beam_size=3, n_best=2, return_attention=True)
    for row in range(3):
        alone = beam_search(model, src[row : row + 1, : int(lengths[row])], lengths[row : row + 1], BOS, EOS,
                            beam_size=3, n_best=2, return_attention=True)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in together[row]]
        for a, b in zip(alone, together[row], strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-4)
            torch.testing.assert_close(a.attention, b.attention, rtol=1e-4, atol=1e-5)


def test_n_best_is_sorted_and_lengths_are_capped(model):
    src, lengths = source()
    beams = beam_search(model, src, lengths, BOS, EOS, beam_size=4, n_best=4, alpha=0.6, max_len_a=1.0, max_len_b=0)
    for row, hyps in enumerate(beams):
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert all(len(h.tokens) < int(lengths[row]) for h in hyps)  # at most S tokens, <eos> included
        for h in hyps:
            assert h.score == pytest.approx(h.log_prob / float(length_penalty(torch.tensor(len(h.tokens) + 1), 0.6)))
            assert PAD not in h.tokens and BOS not in h.tokens


def test_attention_rows_cover_the_output_and_its_eos(model):
    src, lengths = source()
    (hyp,) = beam_search(model, src[1:2], lengths[1:2], BOS, EOS, beam_size=2, return_attention=True)[0]
    assert hyp.attention.shape == (len(hyp.tokens) + 1, 2)
    torch.testing.assert_close(hyp.attention.sum(1), torch.ones(len(hyp.tokens) + 1))


def test_bad_beam_arguments(model):
    src, lengths = source()
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model, src, lengths, BOS, EOS, beam_size=2, n_best=3)
