"""Ensembles: TaggerEnsemble decodes the product of experts' best tag sequence; ClassifierEnsemble averages
probabilities."""

import itertools

import pytest
import torch

from rnnkit.engine import TrainConfig
from rnnkit.errors import ConfigError
from rnnkit.models.crf import CRF
from rnnkit.tasks.classification import Classifier
from rnnkit.tasks.ensembles import ClassifierEnsemble, TaggerEnsemble
from rnnkit.tasks.tagging import Tagger

DATA = [(["the", "dog", "runs"], ["DET", "NOUN", "VERB"]), (["a", "cat", "sleeps"], ["DET", "NOUN", "VERB"]),
        (["dogs", "run"], ["NOUN", "VERB"])]


def fitted(head, seed, data=DATA):
    tagger = Tagger(word_dim=6, char_dim=4, char_hidden=4, hidden_size=6, head=head,
                    train_config=TrainConfig(epochs=1, progress="off", device="cpu", seed=seed)).fit(data)
    if head == "crf":  # transitions far from their zero start, so that they decide between sequences
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in tagger.model_.head.parameters():
                p.copy_(3 * torch.randn(p.shape, generator=generator))
    return tagger


def sequence_score(tagger, tokens, tags):
    """score_m(y): the CRF's s(y), or Σ_t log softmax(s_t)_{y_t} for a softmax head."""
    batch = tagger.encoder_.batch([tokens], None, [0])
    model = tagger.model_.eval()
    y = torch.tensor([tags])
    with torch.no_grad():
        logits = model(*batch.inputs())
        if isinstance(model.head, CRF):
            return float(model.head.path_score(logits, y, batch.lengths))
        return float(logits.log_softmax(2).gather(2, y.unsqueeze(2)).sum())


@pytest.mark.parametrize("heads", [("crf", "crf"), ("crf", "softmax"), ("softmax", "softmax"),
                                   ("crf", "softmax", "crf")])
def test_ensemble_decodes_the_best_sequence_of_the_mean_score(heads):
    taggers = [fitted(head, seed) for seed, head in enumerate(heads)]
    ensemble = TaggerEnsemble(taggers)
    sentences = [["the", "cat", "runs", "fast"], ["a", "dog"], ["unseen"]]
    predicted = ensemble.predict(sentences)
    tags = taggers[0].encoder_.tags
    differs = False
    for tokens, got in zip(sentences, predicted, strict=True):
        candidates = itertools.product(range(len(tags)), repeat=len(tokens))
        best = max(candidates, key=lambda y: sum(sequence_score(t, tokens, list(y)) for t in taggers))
        assert got == tags.decode(best)
        differs |= any(t.predict([tokens])[0] != got for t in taggers)
    assert differs  # the members disagree somewhere, so the test tells averaging from following one member


def test_one_member_predicts_as_the_tagger_and_members_may_differ_in_vocabulary():
    tagger = fitted("crf", 0)
    sentences = [["the", "cat", "runs"], ["dogs", "sleep"]]
    assert TaggerEnsemble([tagger]).predict(sentences) == tagger.predict(sentences)
    other = fitted("softmax", 1, data=[(["dogs", "sleep"], ["NOUN", "VERB"]), (["the", "x"], ["DET", "NOUN"])])
    assert len(other.vocab_) != len(tagger.vocab_)
    report = TaggerEnsemble([tagger, other]).evaluate(DATA)
    assert report.tokens == 8 and 0 <= report.accuracy <= 1


def test_members_must_share_their_tags():
    other = fitted("softmax", 1, data=[(["dogs", "run"], ["NOUN", "VERB"])])
    with pytest.raises(ConfigError, match="member 2 predicts NOUN, VERB, but member 1 predicts DET, NOUN"):
        TaggerEnsemble([fitted("crf", 0), other])
    with pytest.raises(ConfigError, match="at least one"):
        TaggerEnsemble([])


def classifier(seed, data):
    return Classifier(embedding_dim=6, hidden_size=6, pooling="mean",
                      train_config=TrainConfig(epochs=2, progress="off", device="cpu", seed=seed)).fit(data)


def test_classifier_ensemble_averages_the_members_probabilities():
    data = [(["fine", "film"], "pos"), (["dull", "plot"], "neg"), (["a", "fine", "plot"], "pos")]
    members = [classifier(0, data), classifier(1, data[::-1])]  # different vocabularies, same labels
    texts = [["fine", "plot"], ["dull"], ["never", "seen"]]
    ensemble = ClassifierEnsemble(members)
    expected = (members[0].predict_proba(texts) + members[1].predict_proba(texts)) / 2
    assert torch.allclose(ensemble.predict_proba(texts), expected)
    assert not torch.allclose(members[0].predict_proba(texts), members[1].predict_proba(texts))
    assert ensemble.predict(texts) == members[0].classes_.decode(expected.argmax(1).tolist())
    assert ensemble.evaluate(data).examples == 3
    with pytest.raises(ConfigError, match="must share their tags or labels"):
        ClassifierEnsemble([members[0], classifier(0, [(["a"], "x"), (["b"], "y")])])
