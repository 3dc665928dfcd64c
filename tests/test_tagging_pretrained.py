"""init_from: a tagger's or classifier's encoder started from a word-level rnnkit language model."""

import logging
import random
import shutil

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.engine import TrainConfig, read_meta
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.models.classifier import BiRNNClassifier
from rnnkit.models.tagger import BiRNNTagger, CharEncoder
from rnnkit.tasks.classification import Classifier
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.tagging import Tagger
from rnnkit.tasks.tagging_lm_init import init_from_lm, pretrained_init

E, H = 6, 8
WORDS = ["the", "a", "film", "plot", "was", "is", "fine", "dull", "very", "not"]


def text(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + "\n" for _ in range(n))


def lm_run(root, name: str, **settings) -> str:
    out = root / name
    settings = {"level": "word", "cell": "lstm", "hidden_size": H, "embedding_size": E, "num_layers": 2,
                "bptt": 5, "batch_size": 2, **settings}
    LanguageModel(**settings, train_config={"max_steps": 3, "progress": "off", "device": "cpu"},
                  out_dir=out).fit(text(40, 0))
    return str(out)


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    """A 2-layer word LSTM LM, a 1-layer word GRU LM and a character LM, a few steps each."""
    root = tmp_path_factory.mktemp("lms")
    return {"lstm2": lm_run(root, "lstm2"), "gru1": lm_run(root, "gru1", cell="gru", num_layers=1),
            "char": lm_run(root, "char", level="char")}


def lm_weights(path):
    lm = LanguageModel.load(path)
    return lm.vocab_, {k: v.detach() for k, v in lm.model_.state_dict().items()}


def vocab_with_new_words() -> Vocab:
    return Vocab([PAD, UNK, "film", "zebra", "the", "quokka", "dull"])


def classifier_model(layers=2, cell="lstm", hidden=H, embedding=E) -> BiRNNClassifier:
    torch.manual_seed(0)
    return BiRNNClassifier(7, 2, embedding_dim=embedding, hidden_size=hidden, num_layers=layers, cell=cell)


def test_shared_words_and_forward_layers_equal_the_lm_the_rest_stays_random(lms):
    lm_vocab, lm = lm_weights(lms["lstm2"])
    vocab = vocab_with_new_words()
    model, untouched = classifier_model(layers=3), classifier_model(layers=3)
    report = init_from_lm(lms["lstm2"], model, vocab, "embedding_dim")
    assert (report.words, report.vocabulary, report.layers) == (3, 5, 2)
    assert report.source.endswith("best") and report.coverage == pytest.approx(0.6)
    emb = model.embedding.weight
    for i, word in enumerate(vocab.symbols):
        if word in ("zebra", "quokka", PAD):  # not in the LM (or padding): the seeded random init
            assert torch.equal(emb[i], untouched.embedding.weight[i]), word
        else:
            assert torch.equal(emb[i], lm["embedding.weight"][lm_vocab.index[word]]), word
    cells, before = model.rnn.cells, untouched.rnn.cells
    for name, param in cells[0].named_parameters():  # layer 1 forward: the LM's layer 1
        assert torch.equal(param, lm[f"rnn.cells.0.{name}"]), name
    w, w_lm = cells[2].W_i, lm["rnn.cells.1.W_i"]  # layer 2 forward reads [→h ; ←h], the LM read →h only
    assert torch.equal(w[:, :H], w_lm) and not w[:, H:].any()
    assert torch.equal(cells[2].U_f, lm["rnn.cells.1.U_f"])
    for k in (1, 3, 4, 5):  # backward directions, and layer 3 (the LM has 2): untouched
        assert all(torch.equal(a, b) for a, b in zip(cells[k].parameters(), before[k].parameters(), strict=True))
    assert torch.equal(model.output.weight, untouched.output.weight)


def test_forward_direction_computes_the_lm_states(lms):
    lm = LanguageModel.load(lms["lstm2"]).model_
    model = classifier_model(layers=2)
    init_from_lm(lms["lstm2"], model, vocab_with_new_words(), "embedding_dim")
    model.eval()
    x = model.embedding(torch.tensor([[2, 4, 6, 2]]))  # film the dull film, fed to both RNNs
    out, _ = model.rnn(x)
    lm_out, _ = lm.rnn(x)
    torch.testing.assert_close(out[:, :, :H], lm_out)


def test_tagger_layer_one_reads_words_from_the_lm_and_characters_from_zero(lms):
    lm_vocab, lm = lm_weights(lms["gru1"])
    torch.manual_seed(0)
    model = BiRNNTagger(7, 3, word_dim=E, chars=CharEncoder(10, 4, 3), hidden_size=H, num_layers=2, cell="gru")
    chars_before = [p.clone() for p in model.chars.parameters()]
    report = init_from_lm(lms["gru1"], model, vocab_with_new_words(), "word_dim")
    assert report.layers == 1
    w = model.rnn.cells[0].W_z  # (H, E + 2·3): the word embedding first, then the character vector
    assert w.shape == (H, E + 6) and torch.equal(w[:, :E], lm["rnn.cells.0.W_z"]) and not w[:, E:].any()
    assert torch.equal(model.rnn.cells[0].b_h, lm["rnn.cells.0.b_h"])
    assert all(torch.equal(a, b) for a, b in zip(model.chars.parameters(), chars_before, strict=True))
    assert torch.equal(model.embedding.weight[2], lm["embedding.weight"][lm_vocab.index["film"]])


def test_rnn_mismatch_transfers_embeddings_only_and_warns(lms, caplog):
    lm_vocab, lm = lm_weights(lms["lstm2"])
    for model in (classifier_model(cell="gru"), classifier_model(hidden=H + 2)):
        rnn_before = [p.clone() for p in model.rnn.parameters()]
        with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.tagging_lm_init"):
            caplog.clear()
            report = init_from_lm(lms["lstm2"], model, vocab_with_new_words(), "embedding_dim")
        assert report.layers == 0 and report.words == 3
        assert "the RNN was not initialised" in caplog.text
        assert all(torch.equal(a, b) for a, b in zip(model.rnn.parameters(), rnn_before, strict=True))
        assert torch.equal(model.embedding.weight[4], lm["embedding.weight"][lm_vocab.index["the"]])


def test_clear_errors_for_sizes_char_lms_other_checkpoints_and_two_sources(lms, tmp_path):
    vocab = vocab_with_new_words()
    size_error = r"embeddings have size 6, the model's embedding_dim is 5; set embedding_dim \(--embedding-dim\) to 6"
    with pytest.raises(ConfigError, match=size_error):
        init_from_lm(lms["lstm2"], classifier_model(embedding=5), vocab, "embedding_dim")
    with pytest.raises(ConfigError, match="a char-level language model; init_from needs a word-level one"):
        init_from_lm(lms["char"], classifier_model(), vocab, "embedding_dim")
    clf = Classifier(embedding_dim=E, hidden_size=H,
                     train_config=TrainConfig(max_steps=1, progress="off", device="cpu"))
    clf.fit([(["fine", "film"], "1"), (["dull"], "0")]).save(tmp_path / "clf")
    with pytest.raises(CheckpointError, match=r"needs a word-level language model .* a classifier checkpoint"):
        init_from_lm(tmp_path / "clf", classifier_model(), vocab, "embedding_dim")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        init_from_lm(tmp_path / "missing", classifier_model(), vocab, "embedding_dim")
    with pytest.raises(ConfigError, match=r"either embeddings .* or init_from"):
        pretrained_init(classifier_model(), vocab, "vectors.txt", lms["lstm2"], "embedding_dim")


def sentences(n, seed):
    rng = random.Random(seed)
    tags = {"the": "DET", "a": "DET", "film": "NOUN", "plot": "NOUN", "zebra": "NOUN", "was": "VERB"}
    return [[(w, tags[w]) for w in rng.choices(sorted(tags), k=rng.randint(2, 5))] for _ in range(n)]


def test_fitted_tagger_started_from_the_lm_saves_and_loads_without_it(lms, tmp_path):
    lm_copy = tmp_path / "lm"
    shutil.copytree(lms["gru1"], lm_copy)
    lm_vocab, lm = lm_weights(lm_copy)
    data = [([w for w, _ in s], [t for _, t in s]) for s in sentences(30, 0)]
    tagger = Tagger(cell="gru", word_dim=E, char_dim=4, char_hidden=3, hidden_size=H, init_from=str(lm_copy),
                    train_config=TrainConfig(max_steps=1, lr=1e-9, progress="off", device="cpu"))
    tagger.fit(data)
    assert (tagger.transfer_.layers, tagger.transfer_.words, tagger.transfer_.vocabulary) == (1, 5, 6)  # no zebra
    row = tagger.model_.embedding.weight[tagger.vocab_.index["film"]]  # one step at lr 1e-9: still the LM's
    torch.testing.assert_close(row, lm["embedding.weight"][lm_vocab.index["film"]], atol=1e-6, rtol=0)
    tagger.save(tmp_path / "tagger")
    shutil.rmtree(lm_copy)
    loaded = Tagger.load(tmp_path / "tagger")
    assert loaded.init_from == str(lm_copy)  # provenance only
    assert read_meta(tmp_path / "tagger")["settings"]["init_from"] == str(lm_copy)
    assert loaded.predict([["the", "film"]]) == tagger.predict([["the", "film"]])


def test_frozen_embeddings_stay_the_lm_vectors_while_the_rest_trains(lms):
    lm_vocab, lm = lm_weights(lms["lstm2"])
    clf = Classifier(embedding_dim=E, hidden_size=H, num_layers=2, init_from=lms["lstm2"], freeze_embeddings=True,
                     train_config=TrainConfig(max_steps=5, lr=0.05, progress="off", device="cpu"))
    clf.fit([(["fine", "film"], "1"), (["dull", "plot"], "0"), (["zebra", "fine"], "1")])
    film = clf.model_.embedding.weight[clf.vocab_.index["film"]]
    assert torch.equal(film, lm["embedding.weight"][lm_vocab.index["film"]])
    assert not torch.equal(clf.model_.rnn.cells[0].W_i, lm["rnn.cells.0.W_i"])  # trained


def test_cli_trains_a_word_lm_then_a_classifier_from_it(tmp_path, capsys, caplog):
    (tmp_path / "raw.txt").write_text(text(60, 1), encoding="utf-8")
    rng = random.Random(3)
    rows = [f"{y} {' '.join(rng.choices(['the', 'film', 'plot', 'very'], k=3))} {'fine' if y == '1' else 'dull'}"
            for y in rng.choices("01", k=40)]
    (tmp_path / "train.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    quick = ["--max-steps", "3", "--progress", "off", "--device", "cpu"]
    assert main(["train", "lm", "--level", "word", "--data", str(tmp_path / "raw.txt"), "--embedding", str(E),
                 "--hidden", str(H), "--layers", "1", "--bptt", "5", "--batch-size", "2", "--out",
                 str(tmp_path / "lm"), *quick]) == 0
    caplog.set_level(logging.INFO, logger="rnnkit.tasks.tagging_lm_init")
    assert main(["train", "classifier", "--train", str(tmp_path / "train.txt"), "--embedding-dim", str(E),
                 "--hidden", str(H), "--init-from", str(tmp_path / "lm"), "--freeze-embeddings", "--out",
                 str(tmp_path / "clf"), *quick]) == 0
    assert "pretrained vectors for 6 of 6 words (100.0%); forward direction of 1 of 1 RNN layer(s)" in caplog.text
    capsys.readouterr()
    settings = read_meta(tmp_path / "clf")["settings"]
    assert settings["init_from"] == str(tmp_path / "lm") and settings["freeze_embeddings"] is True
    assert main(["train", "classifier", "--train", str(tmp_path / "train.txt"), "--embedding-dim", "5",
                 "--init-from", str(tmp_path / "lm"), "--out", str(tmp_path / "bad"), *quick]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the model's embedding_dim is 5" in err, err
