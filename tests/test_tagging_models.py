"""Tagger and classifier models: CRF and Viterbi against brute force, padding, configs, read-outs."""

import itertools

import pytest
import torch

from rnnkit.decode.viterbi import viterbi
from rnnkit.models.classifier import AttentionPool, BiRNNClassifier, FinalStates, MaxPool, MeanPool
from rnnkit.models.crf import CRF
from rnnkit.models.tagger import BiRNNTagger, CharEncoder, NoChars, SoftmaxHead


def random_crf(K, seed=0):
    torch.manual_seed(seed)
    crf = CRF(K)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


def all_paths(crf, emissions, n):
    """{path: s(path)} of every tag sequence of length n (brute force)."""
    K, T = crf.num_tags, emissions.size(0)
    scores = {}
    with torch.no_grad():
        for path in itertools.product(range(K), repeat=n):
            tags = torch.tensor([[*path, *[0] * (T - n)]])
            scores[path] = float(crf.path_score(emissions[None], tags, torch.tensor([n])))
    return scores


def test_crf_partition_and_viterbi_equal_brute_force_with_padding():
    K, T = 3, 5
    crf = random_crf(K)
    emissions = torch.randn(4, T, K)
    lengths = torch.tensor([5, 3, 1, 4])
    with torch.no_grad():
        log_z = crf.log_partition(emissions, lengths)
        best = viterbi(emissions, lengths, crf.transitions, crf.start, crf.end)
    for b in range(4):
        scores = all_paths(crf, emissions[b], int(lengths[b]))
        assert float(log_z[b]) == pytest.approx(float(torch.logsumexp(torch.tensor(list(scores.values())), 0)),
                                                abs=1e-5)
        assert tuple(best[b]) == max(scores, key=scores.get)


def test_crf_path_score_by_hand_and_gradients_flow():
    crf = CRF(2)
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor([[0.1, 0.2], [0.3, 0.4]]))
        crf.start.copy_(torch.tensor([1.0, 2.0]))
        crf.end.copy_(torch.tensor([10.0, 20.0]))
    emissions = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], requires_grad=True)
    # tags 1, 0 (length 2; the third step is padding): π_1 + E_11 + A_10 + E_20 + ω_0
    score = crf.path_score(emissions, torch.tensor([[1, 0, 1]]), torch.tensor([2]))
    assert score.item() == pytest.approx(2.0 + 2.0 + 0.3 + 3.0 + 10.0)
    nll = crf.log_partition(emissions, torch.tensor([2])) - score
    grad = torch.autograd.grad(nll.sum(), emissions)[0]
    assert grad[0, 2].abs().sum() == 0  # padding gets no gradient
    # d nll / d E_t = marginals − one-hot gold: each row sums to 0
    assert torch.allclose(grad[0, :2].sum(1), torch.zeros(2), atol=1e-6)


def tagger_inputs():
    words = torch.tensor([[3, 4, 5, 3], [6, 7, 0, 0]])
    lengths = torch.tensor([4, 2])
    chars = torch.tensor([[2, 3, 4], [5, 0, 0], [6, 7, 0], [8, 0, 0], [9, 2, 0]])
    char_lengths = torch.tensor([3, 1, 2, 1, 2])
    char_index = torch.tensor([[0, 1, 2, 0], [3, 4, 0, 0]])
    return words, lengths, chars, char_lengths, char_index


def test_tagger_output_of_a_sentence_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    model = BiRNNTagger(10, 4, word_dim=6, chars=CharEncoder(12, 4, 5), hidden_size=7).eval()
    words, lengths, chars, char_lengths, char_index = tagger_inputs()
    together = model(words, lengths, chars, char_lengths, char_index)
    alone = model(words[1:, :2], lengths[1:], chars[3:], char_lengths[3:], char_index[1:, :2] - 3)
    assert together.shape == (2, 4, 4)
    assert torch.allclose(together[1, :2], alone[0], atol=1e-6)


def test_char_encoder_gives_final_states_of_both_directions():
    torch.manual_seed(0)
    encoder = CharEncoder(12, 4, 5)
    chars, lengths = torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])
    vectors = encoder(chars, lengths)
    out, _ = encoder.rnn(encoder.embedding(chars), lengths=lengths)  # (2, 3, 10)
    # forward half: output at the last real character; backward half: output at the first character
    assert torch.allclose(vectors[1, :5], out[1, 1, :5], atol=1e-6)
    assert torch.allclose(vectors[1, 5:], out[1, 0, 5:], atol=1e-6)


@pytest.mark.parametrize("chars, head", [(CharEncoder(12, 4, 5, "gru-cudnn"), CRF(4)), (NoChars(), SoftmaxHead())])
def test_tagger_config_round_trip(chars, head):
    model = BiRNNTagger(10, 4, word_dim=6, chars=chars, hidden_size=7, cell="gru", head=head)
    clone = BiRNNTagger.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert set(clone.state_dict()) == set(model.state_dict())
    assert type(BiRNNTagger(**model.get_config()).head) is type(head)


def test_tagger_rejects_bad_settings():
    with pytest.raises(ValueError, match="head CRF has 3 tags, the tagger 4"):
        BiRNNTagger(10, 4, head=CRF(3))
    with pytest.raises(ValueError, match="cell must be one of"):
        BiRNNTagger(10, 4, cell="transformer")
    with pytest.raises(ValueError, match="head must be one of"):
        BiRNNTagger(10, 4, head=torch.nn.Linear(2, 2))


def test_classifier_read_outs():
    torch.manual_seed(0)
    ids, lengths = torch.tensor([[4, 5, 6], [7, 8, 0]]), torch.tensor([3, 2])
    model = BiRNNClassifier(10, 3, embedding_dim=6, hidden_size=5, dropout=0.0).eval()
    out, (h_n, _) = model.rnn(model.embedding(ids), lengths=lengths)
    # the lecture's read-out: forward state after the last word, backward state after the first word
    final = FinalStates()(out, h_n, lengths)
    assert torch.allclose(final[1], torch.cat([out[1, 1, :5], out[1, 0, 5:]]), atol=1e-6)
    assert torch.allclose(MeanPool()(out, h_n, lengths)[1], out[1, :2].mean(0), atol=1e-6)
    assert torch.allclose(MaxPool()(out, h_n, lengths)[1], out[1, :2].max(0).values, atol=1e-6)
    attention = AttentionPool(10, 4)
    pooled = attention(out, h_n, lengths)
    alone = attention(out[1:, :2], h_n[:, 1:], lengths[1:])  # padding gets no attention weight
    assert torch.allclose(pooled[1], alone[0], atol=1e-6)
    assert model(ids, lengths).shape == (2, 3)


@pytest.mark.parametrize("pooling", [FinalStates(), MeanPool(), MaxPool(), AttentionPool(10, 3)])
def test_classifier_config_round_trip(pooling):
    model = BiRNNClassifier(10, 3, embedding_dim=6, hidden_size=5, num_layers=2, pooling=pooling)
    clone = BiRNNClassifier(**model.get_config())
    assert clone.get_config() == model.get_config() and set(clone.state_dict()) == set(model.state_dict())
