"""Tagger and Classifier (sklearn-style task objects): fit, predict strings, score, save/load, bad input."""

import random

import pytest
import torch

from rnnkit.engine import TrainConfig
from rnnkit.errors import DataError
from rnnkit.tasks.classification import Classifier
from rnnkit.tasks.tagging import Tagger

FIRST, LAST, PLACES = ["John", "Mary", "Ann", "Bob"], ["Smith", "Jones"], ["Paris", "Oslo", "Rome"]
FILLER = ["visited", "left", "saw", "today", "and", "then"]


def ner_corpus(n, seed):
    """Sentences with PER spans (a first name, maybe a last name) and LOC spans, BIO tags."""
    rng = random.Random(seed)
    data = []
    for _ in range(n):
        tokens, tags = [], []
        for _ in range(rng.randint(2, 5)):
            kind = rng.random()
            if kind < 0.3:
                tokens.append(rng.choice(FIRST))
                tags.append("B-PER")
                if rng.random() < 0.5:
                    tokens.append(rng.choice(LAST))
                    tags.append("I-PER")
            elif kind < 0.5:
                tokens.append(rng.choice(PLACES))
                tags.append("B-LOC")
            else:
                tokens.append(rng.choice(FILLER))
                tags.append("O")
        data.append((tokens, tags))
    return data



def config(**extra):
    return TrainConfig(**{"device": "cpu", "progress": "off", "lr": 0.02, "seed": 0, **extra})


def test_tagger_with_crf_learns_spans_and_survives_save_and_load(tmp_path):
    train, dev = ner_corpus(150, 0), ner_corpus(30, 1)
    tagger = Tagger(word_dim=12, char_dim=6, char_hidden=6, hidden_size=12, head="crf", batch_size=16,
                    train_config=config(epochs=6))
    assert not hasattr(tagger, "vocab_") and not hasattr(tagger, "model_")  # the constructor only stores
    predicted = tagger.fit(train, dev).predict([s for s, _ in dev] + [[], ["Unseen", "Zork"]])
    assert tagger.headline_ == "f1" and tagger.model_.get_config()["head"]["name"] == "crf"
    assert tagger.classes_ == ["B-LOC", "B-PER", "I-PER", "O"] and "Paris" in tagger.vocab_
    assert all(isinstance(t, str) for row in predicted for t in row)
    assert predicted[-2] == [] and len(predicted[-1]) == 2
    assert tagger.score(dev) >= 0.9  # span F1 of the best dev checkpoint
    report = tagger.evaluate(dev)
    assert report.spans is not None and report.tokens == sum(len(s) for s, _ in dev)
    tagger.save(tmp_path / "ckpt")
    loaded = Tagger.load(tmp_path / "ckpt")
    assert loaded.predict([s for s, _ in dev]) == predicted[: len(dev)]
    assert loaded.head == "crf" and loaded.encoder_.tags.symbols == tagger.encoder_.tags.symbols


def test_tagger_rejects_tags_and_sentences_it_cannot_use(tmp_path, caplog):
    tagger = Tagger(word_dim=4, char_dim=0, hidden_size=4, train_config=config(epochs=1))
    with caplog.at_level("WARNING"):  # a dev tag unseen in training is scored as an error, with a warning
        tagger.fit([(["a", "b"], ["X", "Y"])], dev=[(["a", "b"], ["X", "W"]), (["b"], ["Y"])])
    assert "<input>: tag 'W' was never seen in training; 1 dev token(s)" in caplog.text  # no file, no line
    assert tagger.result_.history[-1]["accuracy"] <= 2 / 3
    with pytest.raises(DataError, match="tag 'Z' was never seen in training"):
        tagger.evaluate([(["a"], ["Z"])])
    with pytest.raises(DataError, match="sentence 2 is empty"):
        tagger.fit([(["a"], ["X"]), ([], [])])
    with pytest.raises(RuntimeError, match="not fitted"):
        Tagger().predict([["a"]])


def sentiment_corpus(n, seed):
    """Texts whose label is decided by one cue word somewhere among neutral words."""
    rng = random.Random(seed)
    neutral = ["the", "film", "was", "a", "plot", "actors", "and", "of", "it", "story"]
    cues = {"pos": ["great", "fine", "lovely"], "neg": ["dull", "awful", "poor"]}
    data = []
    for _ in range(n):
        label = rng.choice(["neg", "pos"])
        words = [rng.choice(neutral) for _ in range(rng.randint(2, 8))]
        words.insert(rng.randint(0, len(words)), rng.choice(cues[label]))
        data.append((words, label))
    return data


@pytest.mark.parametrize("pooling", ["final", "attention"])
def test_classifier_learns_a_cue_word_and_survives_save_and_load(tmp_path, pooling):
    train, dev = sentiment_corpus(200, 0), sentiment_corpus(50, 1)
    classifier = Classifier(embedding_dim=12, hidden_size=12, pooling=pooling, dropout=0.1, batch_size=16,
                            train_config=config(epochs=5))
    assert not hasattr(classifier, "vocab_")
    labels = classifier.fit(train, dev).predict([t for t, _ in dev])
    assert set(labels) <= {"neg", "pos"} and classifier.classes_.symbols == ["neg", "pos"]
    assert classifier.score(dev) >= 0.9
    probabilities = classifier.predict_proba([t for t, _ in dev])
    assert torch.allclose(probabilities.sum(1), torch.ones(len(dev)))
    classifier.save(tmp_path / "ckpt")
    loaded = Classifier.load(tmp_path / "ckpt")
    assert torch.allclose(loaded.predict_proba([t for t, _ in dev]), probabilities, atol=1e-6)
    with pytest.raises(DataError, match="label 'meh' was never seen in training"):
        loaded.evaluate([(["fine"], "meh")])


def test_pretrained_vectors_initialise_the_embeddings(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("2 4\ngreat 1 2 3 4\ndull -1 -2 -3 -4\n", encoding="utf-8")
    classifier = Classifier(embedding_dim=4, hidden_size=4, embeddings=str(vectors),
                            train_config=config(epochs=1, max_steps=1, lr=1e-9))
    classifier.fit([(["Great"], "pos"), (["dull"], "neg")])  # "Great" takes the lower-case vector
    weight = classifier.model_.embedding.weight
    assert torch.allclose(weight[classifier.vocab_["Great"]], torch.tensor([1.0, 2, 3, 4]), atol=1e-6)
    assert torch.allclose(weight[classifier.vocab_["dull"]], -torch.tensor([1.0, 2, 3, 4]), atol=1e-6)
