"""Tag schemes and scores: spans and span P/R/F1 equal seqeval's; confusion-matrix scores by hand."""

import random

import pytest
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from rnnkit.data.tag_schemes import convert, detect, from_spans, spans
from rnnkit.metrics.classification import accuracy, macro_f1
from rnnkit.metrics.confusion import ConfusionMatrix
from rnnkit.metrics.tagging import span_scores, tag_confusion, token_accuracy

TAGS = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG", "E-PER", "S-LOC"]


def random_sequences(rng, n, tags=TAGS):
    return [[rng.choice(tags) for _ in range(rng.randint(1, 9))] for _ in range(n)]


def test_spans_equal_seqeval_entities_on_random_tag_sequences():
    rng = random.Random(0)
    for tags in random_sequences(rng, 3000):
        assert spans(tags) == get_entities(tags), tags


def test_span_scores_equal_seqeval_on_the_same_predictions():
    rng = random.Random(1)
    bio = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-MISC"]
    gold = random_sequences(rng, 400, bio)
    # predictions: gold with about a quarter of the tags changed (so P, R and F1 all differ from 1 and 0)
    predicted = [[t if rng.random() < 0.75 else rng.choice(bio) for t in seq] for seq in gold]
    ours = span_scores(gold, predicted)
    assert ours.precision == pytest.approx(precision_score(gold, predicted), abs=1e-12)
    assert ours.recall == pytest.approx(recall_score(gold, predicted), abs=1e-12)
    assert ours.f1 == pytest.approx(f1_score(gold, predicted), abs=1e-12)
    assert 0.2 < ours.f1 < 0.9
    report = classification_report(gold, predicted, output_dict=True)
    for type_, scores in ours.per_type.items():
        assert scores.precision == pytest.approx(report[type_]["precision"], abs=1e-12)
        assert scores.recall == pytest.approx(report[type_]["recall"], abs=1e-12)
        assert scores.f1 == pytest.approx(report[type_]["f1-score"], abs=1e-12)
        assert scores.support == report[type_]["support"]


def test_scheme_conversions_keep_spans_and_round_trip():
    rng = random.Random(2)
    for tags in random_sequences(rng, 500, ["O", "B-PER", "I-PER", "I-LOC", "B-LOC"]):
        bio = convert(tags, "bio")
        for scheme in ("iob1", "bio", "bioes"):
            converted = convert(bio, scheme)
            assert spans(converted) == spans(bio)
            assert convert(converted, "bio") == bio
    assert convert(["B-PER", "I-PER", "B-PER", "O", "B-LOC"], "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert from_spans([("X", 1, 3)], 5, "bioes") == ["O", "B-X", "I-X", "E-X", "O"]
    assert detect(["O", "I-PER"]) == "iob1" and detect(["DET", "NOUN"]) is None


def test_token_accuracy_and_confusion_scores_by_hand():
    gold = [["D", "N", "V"], ["N"]]
    predicted = [["D", "V", "V"], ["N"]]
    assert token_accuracy(gold, predicted) == 0.75
    matrix = tag_confusion(gold, predicted)
    assert matrix.labels == ["D", "N", "V"] and matrix.counts == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    scores = matrix.scores()
    assert (scores["N"].precision, scores["N"].recall) == (1.0, 0.5)
    assert (scores["V"].precision, scores["V"].recall, scores["V"].f1) == (0.5, 1.0, pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="sentence 0: 3 gold tags but 2 predicted"):
        token_accuracy(gold, [["D", "N"], ["N"]])


def test_classification_accuracy_and_macro_f1():
    gold = ["pos", "pos", "neg", "neg", "neu"]
    predicted = ["pos", "neg", "neg", "neg", "pos"]
    assert accuracy(gold, predicted) == 0.6
    # F1: pos 1/2 (P 1/2, R 1/2), neg 0.8 (P 2/3, R 1), neu 0
    assert macro_f1(gold, predicted) == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_confusion_matrix_plot_writes_a_png(tmp_path):
    path = tmp_path / "cm.png"
    ConfusionMatrix(["a", "b", "b"], ["a", "a", "b"]).plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
