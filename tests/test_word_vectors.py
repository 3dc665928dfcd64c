"""Count-based word vectors: the PPMI matrix against a dense count by hand, the fit, the file, the command."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.embeddings import read_vectors, write_vectors
from rnnkit.data.vocab import Vocab
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.word_vectors import WordVectors, ppmi_matrix, read_sentences


def dense_ppmi(sentences, words, window, alpha):
    """PPMI by the definition: every ordered pair of positions within `window`, weighted 1/distance."""
    index = {w: i for i, w in enumerate(words)}
    counts = np.zeros((len(words), len(words)))
    for s in sentences:
        for i, w in enumerate(s):
            for j in range(max(0, i - window), min(len(s), i + window + 1)):
                if j != i and w in index and s[j] in index:
                    counts[index[w], index[s[j]]] += 1 / abs(i - j)
    context = counts.sum(0) ** alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts) - np.log(counts.sum(1, keepdims=True)) - np.log(context / context.sum())
    return np.where(counts > 0, np.maximum(pmi, 0), 0)


def test_ppmi_equals_the_definition_counted_by_hand():
    sentences = [["a", "b", "c", "a", "rare", "b"], ["c", "c", "b"], ["a"], ["b", "a", "d", "c", "b", "a"]]
    words = ["a", "b", "c", "d"]  # "rare" has no row, yet distances count across it
    for window, alpha in ((1, 1.0), (2, 0.75), (3, 0.5)):
        got = ppmi_matrix(sentences, words, window, alpha).to_dense().numpy()
        np.testing.assert_allclose(got, dense_ppmi(sentences, words, window, alpha), rtol=1e-5, atol=1e-6)
    # no pair spans two sentences: "b" ends the second sentence and nothing follows it there
    assert ppmi_matrix([["a"], ["b"]], ["a", "b"], 3)._nnz() == 0


def _two_topics(n=400, seed=0):
    """Animals that eat and vehicles that drive, among shared filler words."""
    rng = random.Random(seed)
    filler = ["the", "a", "then", "now", "and"]
    sentences = []
    for _ in range(n):
        subject, verb = rng.choice([(rng.choice(["cat", "dog"]), "eats"), (rng.choice(["car", "bus"]), "drives")])
        sentences.append([rng.choice(filler), subject, verb, rng.choice(filler)])
    return sentences


def test_fit_puts_words_with_the_same_contexts_together():
    generator_state = torch.random.get_rng_state()
    vectors = WordVectors.fit(_two_topics(), dim=4, window=2, min_count=2, scale=0.5)
    assert torch.equal(torch.random.get_rng_state(), generator_state)
    assert vectors.vectors.shape == (len(vectors.words), 4)
    assert vectors.vectors.std().item() == pytest.approx(0.5, abs=1e-4)
    assert vectors.neighbours("cat", k=1)[0][0] == "dog"
    assert vectors.neighbours("bus", k=1)[0][0] == "car"
    assert [w for w, _ in vectors.neighbours("cat", k=len(vectors.words))][-1] != "cat"
    again = WordVectors.fit(_two_topics(), dim=4, window=2, min_count=2, scale=0.5)
    assert torch.equal(again.vectors, vectors.vectors)
    with pytest.raises(KeyError):
        vectors.neighbours("zebra")


def test_fit_refuses_too_few_words_and_bad_settings():
    with pytest.raises(ConfigError, match="2 words are seen at least 1 times"):
        WordVectors.fit([["a", "b"]], dim=2, min_count=1)
    with pytest.raises(ConfigError, match="window"):
        WordVectors.fit(_two_topics(), dim=2, window=0)


def test_max_words_keeps_the_most_frequent():
    sentences = _two_topics()
    vectors = WordVectors.fit(sentences, dim=2, min_count=1, max_words=5)
    frequency = {w: sum(s.count(w) for s in sentences) for w in vectors.words}
    assert len(vectors.words) == 5
    assert list(frequency.values()) == sorted(frequency.values(), reverse=True)


def test_saved_vectors_read_back_for_a_vocabulary(tmp_path):
    vectors = WordVectors.fit(_two_topics(), dim=3, window=2, min_count=1)
    path = tmp_path / "sub" / "vectors.txt"
    vectors.save(path)
    assert not list(path.parent.glob(".*.tmp"))  # written via a temporary file, renamed into place
    read, found = read_vectors(path, Vocab(["<pad>", "<unk>", "dog", "Car", "zebra"]), dim=3)
    assert found.tolist() == [False, False, True, True, False]
    dog, car = vectors.words.index("dog"), vectors.words.index("car")
    torch.testing.assert_close(read[2:4], vectors.vectors[[dog, car]], atol=5e-5, rtol=0)
    with pytest.raises(ValueError, match="white space"):
        write_vectors(tmp_path / "bad.txt", ["a b"], torch.zeros(1, 2))


def test_read_sentences_in_every_format(tmp_path):
    text = tmp_path / "raw.txt"
    text.write_text("It's GOOD.\n\n  \nAnother line\n")
    assert list(read_sentences(text, tokenizer="words", lowercase=True)) == [
        ["it", "'", "s", "good", "."], ["another", "line"]]
    sst = tmp_path / "stsa.train"
    sst.write_text("1 a fine film\n0 dull\n")
    assert list(read_sentences(sst, "sst")) == [["a", "fine", "film"], ["dull"]]
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text(json.dumps({"label": "pos", "text": "Fine<br />film"}) + "\n")
    assert list(read_sentences(jsonl, tokenizer="words")) == [["Fine", "film"]]
    conllu = tmp_path / "t.conllu"
    conllu.write_text("# text = Hi there\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n"
                      "2\tThere\tthere\tADV\t_\t_\t1\tadvmod\t_\t_\n\n")
    assert list(read_sentences(conllu, lowercase=True)) == [["hi", "there"]]
    conll = tmp_path / "ner.txt"
    conll.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n")
    assert list(read_sentences(conll, "conll")) == [["EU", "rejects"]]
    with pytest.raises(ConfigError, match="format"):
        list(read_sentences(text, "xml"))


def test_read_sentences_names_the_file_and_line_of_bad_input(tmp_path):
    jsonl = tmp_path / "reviews.jsonl"
    jsonl.write_text('{"text": "fine"}\n{"text": "broken\n')
    with pytest.raises(DataError, match=r"reviews.jsonl:2: not valid JSON"):
        list(read_sentences(jsonl))


def test_train_vectors_command_end_to_end(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in _two_topics()) + "\n")
    out = tmp_path / "vectors.txt"
    assert main(["train", "vectors", "--text", str(corpus), "--dim", "4", "--window", "2", "--min-count", "2",
                 "--show", "cat,zebra", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("cat: dog,") and printed[1] == "zebra: no vector"
    assert out.read_text().splitlines()[0] == "11 4"
    _, found = read_vectors(out, Vocab(["<unk>", "cat", "drives"]), dim=4)
    assert found.tolist() == [False, True, True]


def test_train_vectors_command_reports_bad_input_in_one_line(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("[1, 2]\n")
    assert main(["train", "vectors", "--text", str(bad), "--out", str(tmp_path / "v.txt")]) == 2
    assert "bad.jsonl:1: expected a JSON object" in capsys.readouterr().err
    assert main(["train", "vectors", "--text", str(corpus), str(corpus), "--format", "text", "sst", "conll",
                 "--out", str(tmp_path / "v.txt")]) == 2
    assert "--format takes one format" in capsys.readouterr().err
    assert main(["train", "vectors", "--text", str(corpus), "--min-count", "1", "--out", str(tmp_path / "v.txt")]) == 2
    assert "too few for 300-dimensional vectors" in capsys.readouterr().err
    assert not (tmp_path / "v.txt").exists()
