"""Auxiliary columns of a tagger (multi-task learning): read with the tags, learned beside them, kept in
the checkpoint, never predicted; bad columns and missing tags located."""

import random

import pytest
import torch
import torch.nn.functional as F

from rnnkit.cli.main import main
from rnnkit.data.conll_reader import read_conll
from rnnkit.data.conllu_reader import read_conllu
from rnnkit.data.tagged_sentence import TaggedSentence
from rnnkit.engine import TrainConfig
from rnnkit.errors import DataError
from rnnkit.tasks.tagging import Tagger, read_tagged
from rnnkit.tasks.tagging_batches import TaggingEncoder
from rnnkit.tasks.tagging_training import TaggingTask

# A coarse tag (the main column) and a fine one (the auxiliary column) per word; FEATS "_" where none.
LEXICON = {"the": ("DET", "DT", "Definite=Def"), "a": ("DET", "DT", "Definite=Ind"),
           "dog": ("NOUN", "NN", "Number=Sing"), "dogs": ("NOUN", "NNS", "Number=Plur"),
           "runs": ("VERB", "VBZ", "Number=Sing"), "ran": ("VERB", "VBD", "Tense=Past"), ".": ("PUNCT", ".", "_")}


def sentences(n, seed):
    rng = random.Random(seed)
    return [[rng.choice(["the", "a"]), rng.choice(["dog", "dogs"]), rng.choice(["runs", "ran"]), "."]
            for _ in range(n)]


def conllu(words_lists):
    rows = []
    for words in words_lists:
        rows += [f"{j}\t{w}\t{w}\t{LEXICON[w][0]}\t{LEXICON[w][1]}\t{LEXICON[w][2]}\t0\tdep\t_\t_"
                 for j, w in enumerate(words, 1)]
        rows.append("")
    return "\n".join(rows) + "\n"


def tagged(words_lists):
    return [TaggedSentence(words, [LEXICON[w][0] for w in words], aux={"xpos": [LEXICON[w][1] for w in words]})
            for words in words_lists]


def config(**extra):
    return TrainConfig(**{"device": "cpu", "progress": "off", "lr": 0.02, "seed": 0, **extra})


def test_readers_fill_aux_and_locate_missing_tags(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text(conllu([["the", "dog", "runs", "."]]), encoding="utf-8")
    sentence = next(read_conllu(path, "upos", aux=("xpos", "feats")))
    assert sentence.tags == ["DET", "NOUN", "VERB", "PUNCT"]
    assert sentence.aux == {"xpos": ["DT", "NN", "VBZ", "."],
                            "feats": ["Definite=Def", "Number=Sing", "Number=Sing", "_"]}  # "_": no features
    assert next(read_conllu(path, "feats")).tags[3] == "_"
    path.write_text(conllu([["the", "dog"]]).replace("\tDT\t", "\t_\t"), encoding="utf-8")
    with pytest.raises(DataError, match=r"a.conllu:1: word 1 has no XPOS tag"):
        list(read_conllu(path, aux=("xpos",)))
    conll = tmp_path / "a.txt"
    conll.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n", encoding="utf-8")
    sentence = next(read_conll(conll, "ner", aux=("pos", "chunk")))
    assert sentence.aux == {"pos": ["NNP", "VBZ"], "chunk": ["B-NP", "B-VP"]}
    with pytest.raises(DataError, match=r"a.txt:3: no tag in column 5"):
        list(read_conll(conll, "ner", aux=("5",)))
    # a bad column name fails when the reader is made, not at its first sentence
    with pytest.raises(ValueError, match="got 'lemma'"):
        read_tagged(path, "conllu", "upos", aux=("lemma",))
    with pytest.raises(DataError, match="plain text has no auxiliary columns"):
        read_tagged(conll, "text", labelled=False, aux=("pos",))


def test_aux_loss_is_the_weighted_cross_entropy_of_the_aux_head_in_training_only():
    train = tagged(sentences(8, 0))
    encoder = TaggingEncoder.build([s.tokens for s in train], [s.tags for s in train],
                                   aux={"xpos": [s.aux["xpos"] for s in train]})
    tagger = Tagger(word_dim=8, char_dim=4, char_hidden=4, hidden_size=8, dropout=0.0)
    model = tagger._build_model(encoder, None)
    assert set(model.aux_outputs) == {"xpos"} and model.aux_outputs["xpos"].out_features == 6

    def task(weight):
        return TaggingTask(encoder, ([s.tokens for s in train], [encoder.tags.encode(s.tags) for s in train]),
                           None, 8, 0, 0.0, "accuracy", {"xpos": [encoder.aux["xpos"].encode(s.aux["xpos"])
                                                                  for s in train]}, weight)

    batch = task(0.0).train_batches(0)[0]
    h = model.states(*batch.inputs())  # every sentence has 4 words: no padding to mask
    expected = F.cross_entropy(model.aux_outputs["xpos"](h).flatten(0, 1), batch.aux["xpos"].flatten())
    with_aux, without = task(0.5).loss(model, batch, None, 0), task(0.0).loss(model, batch, None, 0)
    assert with_aux.loss.item() == pytest.approx(without.loss.item() + 0.5 * expected.item(), rel=1e-5)
    assert with_aux.metrics["aux_loss"] == pytest.approx(expected.item(), rel=1e-5)
    model.eval()  # dev batches carry no auxiliary tags: the dev loss is the main column's
    dev_batch = encoder.batch(batch.sentences, [train[i].tags for i in batch.indices], batch.indices)
    assert not dev_batch.aux and "aux_loss" not in task(0.5).loss(model, dev_batch, None, 0).metrics


def test_tagger_learns_the_aux_column_and_keeps_it_through_save_and_load(tmp_path):
    train, dev = tagged(sentences(60, 0)), tagged(sentences(10, 1))
    tagger = Tagger(word_dim=8, char_dim=4, char_hidden=4, hidden_size=8, batch_size=8, aux_columns=["xpos"],
                    train_config=config(epochs=10))
    tagger.fit(train)  # no dev: the weights of the last step, not an early best checkpoint
    assert tagger.score(dev) == 1.0
    # the auxiliary head was trained: it predicts the fine tags it never decodes at prediction time
    batch = tagger.encoder_.batch([s.tokens for s in dev], None, list(range(len(dev))))
    tagger.model_.eval()
    with torch.no_grad():
        fine = tagger.model_.aux_outputs["xpos"](tagger.model_.states(*batch.inputs())).argmax(2)
    gold = torch.tensor([tagger.encoder_.aux["xpos"].encode(s.aux["xpos"]) for s in dev])
    assert (fine == gold).float().mean() >= 0.9  # an untrained head: about 1 in 6
    tagger.save(tmp_path / "ckpt")
    loaded = Tagger.load(tmp_path / "ckpt")
    assert loaded.aux_columns == ["xpos"] and loaded.encoder_.aux["xpos"].symbols == tagger.encoder_.aux["xpos"].symbols
    assert loaded.model_.aux_tags == {"xpos": 6}
    assert loaded.predict([s.tokens for s in dev]) == [s.tags for s in dev]


def test_training_sentences_without_the_aux_column_are_a_data_error():
    with pytest.raises(DataError, match=r"sentence 1 has no 'xpos' tag for every token"):
        Tagger(aux_columns=["xpos"], train_config=config(epochs=1)).fit([(["the", "dog"], ["DET", "NOUN"])])
    with pytest.raises(ValueError, match="aux_weight must be >= 0"):
        Tagger(aux_columns=["xpos"], aux_weight=-1.0, train_config=config(epochs=1)).fit(tagged([["the"]]))


def test_cli_trains_with_aux_columns_and_names_a_bad_one(tmp_path, capsys):
    train = tmp_path / "train.conllu"
    train.write_text(conllu(sentences(40, 0)), encoding="utf-8")
    out = tmp_path / "pos"
    assert main(["train", "tagger", "--train", str(train), "--dev", str(train), "--aux-columns", "xpos", "feats",
                 "--out", str(out), "--word-dim", "8", "--char-dim", "4", "--char-hidden", "4", "--hidden", "8",
                 "--epochs", "3", "--progress", "off", "--device", "cpu", "--lr", "0.02", "--batch-size", "8"]) == 0
    loaded = Tagger.load(out)
    assert loaded.aux_columns == ["xpos", "feats"] and set(loaded.model_.aux_tags) == {"xpos", "feats"}
    capsys.readouterr()
    assert main(["train", "tagger", "--train", str(train), "--aux-columns", "lemma", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.conllu: column must be one of upos, xpos, feats" in err and "'lemma'" in err
