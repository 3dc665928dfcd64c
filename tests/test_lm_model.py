"""The recurrent language model: shapes, carried state, weight tying, config round trip."""

import pytest
import torch

from rnnkit.models.language_model import RNNLanguageModel


@pytest.mark.parametrize(("cell", "variant"), [("elman", "lecture"), ("gru", "lecture"), ("gru", "cudnn"),
                                               ("lstm", "lecture")])
def test_shapes_and_carried_state_equal_one_long_pass(cell, variant):
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=11, embedding_size=6, hidden_size=8, num_layers=2, cell=cell,
                             variant=variant, dropout=0.3).eval()
    ids = torch.randint(0, 11, (3, 9))
    logits, state = model(ids)
    assert logits.shape == (3, 9, 11)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 8)
    # Two windows with the state carried give exactly the logits of one pass (truncated BPTT's premise).
    first, mid = model(ids[:, :4])
    second, _ = model(ids[:, 4:], mid)
    torch.testing.assert_close(torch.cat([first, second], dim=1), logits)


def test_logits_are_not_normalised():
    model = RNNLanguageModel(vocab_size=7, embedding_size=4, hidden_size=4, num_layers=1)
    logits, _ = model(torch.zeros(2, 3, dtype=torch.long))
    assert not torch.allclose(logits.exp().sum(-1), torch.ones(2, 3))


def test_weight_tying_shares_one_matrix_and_needs_equal_sizes():
    model = RNNLanguageModel(vocab_size=9, embedding_size=5, hidden_size=5, num_layers=1, tie_weights=True)
    assert model.output.weight is model.embedding.weight
    assert sum(p.numel() for p in model.parameters()) < sum(
        p.numel() for p in RNNLanguageModel(9, 5, 5, 1).parameters())
    with pytest.raises(ValueError, match="embedding_size == hidden_size"):
        RNNLanguageModel(vocab_size=9, embedding_size=4, hidden_size=5, tie_weights=True)


def test_config_round_trip_and_argument_checks():
    model = RNNLanguageModel(vocab_size=13, embedding_size=3, hidden_size=4, num_layers=2, cell="gru",
                             variant="cudnn", dropout=0.1)
    clone = RNNLanguageModel.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert model.state_dict().keys() == clone.state_dict().keys()
    with pytest.raises(ValueError, match="hidden_size"):
        RNNLanguageModel(vocab_size=5, hidden_size=0)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("locked", [True, False])
def test_locked_dropout_drops_the_same_units_at_every_step_of_a_window(locked):
    """The masks on the embeddings (the RNN's input) and on the top states (the output layer's input), read
    off as ratios: one per window and unit with ``locked_dropout``, one per element without."""
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=11, embedding_size=6, hidden_size=5, num_layers=1, dropout=0.5,
                             locked_dropout=locked).train()
    seen = {}
    model.rnn.register_forward_hook(lambda m, args, out: seen.update(rnn_in=args[0], rnn_out=out[0]))
    model.output.register_forward_pre_hook(lambda m, args: seen.update(out_in=args[0]))
    ids = torch.randint(0, 11, (3, 20))
    model(ids)
    for kept, full in ((seen["rnn_in"], model.embedding(ids)), (seen["out_in"], seen["rnn_out"])):
        mask = (kept != 0).float()  # (B, T, F)
        assert torch.equal(kept, full * mask * 2)  # kept units scaled by 1 / (1 − p)
        assert torch.equal(mask, mask[:, :1].expand_as(mask)) == locked
    assert RNNLanguageModel.from_config(model.get_config()).locked_dropout == locked


def test_embedding_dropout_drops_whole_token_types_in_training_only():
    """One draw per token type and forward call: every occurrence of a dropped type reads zeros, the others
    read E x / (1 − p); evaluation reads E x, and the output layer of a tied model keeps the whole matrix."""
    torch.manual_seed(0)
    model = RNNLanguageModel(vocab_size=9, embedding_size=4, hidden_size=4, num_layers=1, embedding_dropout=0.5,
                             tie_weights=True).train()
    seen = {}
    model.rnn.register_forward_hook(lambda m, args, out: seen.update(rnn_in=args[0]))
    ids = torch.arange(9).repeat(3, 4)  # (3, 36): every type at twelve places
    model(ids)
    dropped = (seen["rnn_in"] == 0).all(-1)  # (B, T)
    per_type = [dropped[ids == v] for v in range(9)]
    assert all(d.all() or not d.any() for d in per_type)  # all occurrences of a type share one draw
    assert 0 < sum(bool(d.all()) for d in per_type) < 9
    assert torch.equal(seen["rnn_in"][~dropped], model.embedding(ids)[~dropped] * 2)
    assert torch.equal(model.output.weight, model.embedding.weight)
    model.eval()
    model(ids)
    assert torch.equal(seen["rnn_in"], model.embedding(ids))
    assert RNNLanguageModel.from_config(model.get_config()).embedding_dropout == 0.5
    with pytest.raises(ValueError, match=r"embedding_dropout must be in \[0, 1\), got 1.0"):
        RNNLanguageModel(vocab_size=5, embedding_dropout=1.0)
