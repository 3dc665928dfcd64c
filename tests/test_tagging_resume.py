"""A tagger or classifier run stopped early and resumed ends exactly where an uninterrupted run ends."""

import pytest
import torch

from rnnkit.engine import TrainConfig
from rnnkit.errors import ConfigError
from rnnkit.tasks.classification import ClassificationTask, Classifier
from rnnkit.tasks.tagging import Tagger
from rnnkit.tasks.tagging_training import TaggingTask

SENTENCES = [(["the", "dog", "runs"], ["DET", "NOUN", "VERB"]), (["a", "cat", "sleeps"], ["DET", "NOUN", "VERB"]),
             (["dogs", "run"], ["NOUN", "VERB"]), (["the", "cat"], ["DET", "NOUN"])] * 4
TEXTS = [(["good", "film"], "pos"), (["bad", "film"], "neg"), (["very", "good"], "pos"), (["so", "bad"], "neg")] * 4


def config(steps):
    return TrainConfig(device="cpu", progress="off", seed=3, max_steps=steps, epochs=100, lr=0.01)


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("make, data, task", [
    (lambda c, out: Tagger(word_dim=8, char_dim=4, char_hidden=4, hidden_size=8, batch_size=4,
                           train_config=c, out_dir=out), SENTENCES, TaggingTask),
    (lambda c, out: Classifier(embedding_dim=8, hidden_size=8, batch_size=4, train_config=c, out_dir=out), TEXTS,
     ClassificationTask),
], ids=["tagger", "classifier"])
def test_resumed_run_matches_an_uninterrupted_one(tmp_path, monkeypatch, make, data, task):
    whole = make(config(10), str(tmp_path / "whole")).fit(data)
    make(config(4), str(tmp_path / "split")).fit(data)
    steps_taken = []
    loss = task.loss
    monkeypatch.setattr(task, "loss", lambda self, *args: steps_taken.append(1) or loss(self, *args))
    resumed = make(config(10), str(tmp_path / "split")).fit(data, resume=True)
    assert len(steps_taken) == 6  # it went on from step 4, not from the start
    assert resumed.result_.steps == whole.result_.steps == 10
    for name, value in _weights(whole.model_).items():
        assert torch.equal(value, resumed.model_.state_dict()[name]), name


def test_resume_needs_a_run_directory():
    with pytest.raises(ConfigError, match="out_dir"):
        Tagger(train_config=config(2)).fit(SENTENCES, resume=True)
