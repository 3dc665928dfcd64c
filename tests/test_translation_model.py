"""Attention modules and the encoder–decoder: formulas, masks, fused steps, configs."""

import pytest
import torch

from rnnkit.models.attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    NoAttention,
    attention_config,
    attention_from_config,
    make_attention,
)
from rnnkit.models.seq2seq import Seq2Seq

MASK = torch.tensor([[True, True, True, False], [True, True, True, True]])


def manual_scores(att, query, memory):
    """The score formulas written out per source position, for comparison."""
    if isinstance(att, AdditiveAttention):
        return torch.stack([torch.tanh(att.W_q(query) + att.W_k(memory[:, j])) @ att.v
                            for j in range(memory.size(1))], 1)
    if isinstance(att, GeneralAttention):
        return torch.stack([(query * (memory[:, j] @ att.W_a.weight.T)).sum(-1) for j in range(memory.size(1))], 1)
    return torch.stack([(query * memory[:, j]).sum(-1) for j in range(memory.size(1))], 1)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_attention_matches_its_formula_and_ignores_padding(kind):
    torch.manual_seed(0)
    att = make_attention(kind, 6, 6)
    query, memory = torch.randn(2, 6), torch.randn(2, 4, 6)
    context, weights = att(query, att.keys(memory), memory, MASK)
    scores = manual_scores(att, query, memory).masked_fill(~MASK, float("-inf"))
    expected = torch.softmax(scores, -1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(context, (expected.unsqueeze(2) * memory).sum(1))
    assert weights[0, 3] == 0
    # what sits in a padded position never matters
    changed = memory.clone()
    changed[0, 3] = 100.0
    context2, _ = att(query, att.keys(changed), changed, MASK)
    torch.testing.assert_close(context2[0], context[0])


def test_attention_configs_round_trip_and_bad_sizes():
    for att in (AdditiveAttention(4, 6, 5), DotAttention(6), GeneralAttention(4, 6), NoAttention()):
        again = attention_from_config(attention_config(att))
        assert type(again) is type(att) and again.get_config() == att.get_config()
    with pytest.raises(ValueError, match="dot attention"):
        make_attention("dot", 4, 6)
    with pytest.raises(ValueError, match="attention must be one of"):
        make_attention("luong", 4, 4)


def batch():
    torch.manual_seed(1)
    src = torch.randint(1, 11, (3, 5))
    lengths = torch.tensor([5, 2, 4])
    src[1, 2:] = 0
    src[2, 4:] = 0
    return src, lengths, torch.randint(1, 13, (3, 4))


@pytest.mark.parametrize("cell", ["gru", "lstm", "elman"])
@pytest.mark.parametrize("kind", ["additive", "general", "none"])
def test_fused_decoder_steps_equal_the_readable_cells(cell, kind):
    torch.manual_seed(0)
    model = Seq2Seq(11, 13, 8, 8, num_layers=2, cell=cell, attention=make_attention(kind, 8, 8)).eval()
    src, lengths, tgt = batch()
    memory, state = model.encode(src, lengths)
    fused, alpha = model.decode(tgt, state, memory)
    memory.weights = [None] * model.num_layers  # step the readable rnnkit cells instead
    readable, _ = model.decode(tgt, state, memory)
    torch.testing.assert_close(fused, readable, rtol=1e-5, atol=1e-6)
    assert alpha.shape == (3, 4, 5)
    assert bool((alpha[1, :, 2:] == 0).all())  # never attends to padding


def test_padding_does_not_change_the_translation_model_output():
    torch.manual_seed(0)
    model = Seq2Seq(11, 13, 8, 8, cell="lstm").eval()
    src, lengths, tgt = batch()
    full = model(src, lengths, tgt)
    alone = model(src[1:2, :2], lengths[1:2], tgt[1:2])  # the same sentence without padding
    torch.testing.assert_close(full[1:2], alone, rtol=1e-5, atol=1e-6)


def test_without_attention_the_source_reaches_the_decoder_only_through_the_bridge():
    torch.manual_seed(0)
    model = Seq2Seq(11, 13, 8, 8, attention=NoAttention()).eval()
    src, lengths, tgt = batch()
    memory, state = model.encode(src, lengths)
    logits, _ = model.decode(tgt, state, memory)
    memory.states = torch.randn_like(memory.states)  # scramble the memory, keep the initial state
    logits2, _ = model.decode(tgt, state, memory)
    torch.testing.assert_close(logits, logits2)
    assert model.combine.in_features == 8  # no context vector


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = Seq2Seq(11, 13, 8, 8, num_layers=2, cell="gru", dropout=0.1)
    src, lengths, tgt = batch()
    model(src, lengths, tgt).logsumexp(-1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


@pytest.mark.parametrize("attention", [None, NoAttention(), GeneralAttention(8, 8)])
def test_config_round_trip(attention):
    model = Seq2Seq(11, 13, 8, 8, num_layers=2, cell="lstm", variant="cudnn", dropout=0.1, attention=attention)
    config = model.get_config()
    again = type(model)(**config)
    assert again.get_config() == config
    assert again.state_dict().keys() == model.state_dict().keys()
    with pytest.raises(ValueError, match="even"):
        Seq2Seq(11, 13, 8, 7)
