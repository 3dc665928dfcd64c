"""Character-LM features (Flair's contextual string embeddings) for the tagger and the classifier, and the
backward (reverse) language model."""

import random
import shutil

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.engine import TrainConfig
from rnnkit.errors import ConfigError
from rnnkit.models.char_lm_features import CharLMFeatures, char_lm_inputs
from rnnkit.models.classifier import BiRNNClassifier
from rnnkit.models.language_model import RNNLanguageModel
from rnnkit.models.tagger import BiRNNTagger, CharEncoder
from rnnkit.tasks.char_lm_context import lm_context
from rnnkit.tasks.classification import ClassificationTask, Classifier
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.tagging import Tagger
from rnnkit.tasks.tagging_training import TaggingTask

WORDS = {"DET": ["the", "a"], "NOUN": ["dog", "cat", "film"], "VERB": ["runs", "sleeps", "is"]}


def tagged(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tags = (["DET", "NOUN", "VERB"] * 2)[: rng.randint(1, 6)]
        out.append(([rng.choice(WORDS[t]) for t in tags], tags))
    return out


TEXT = "".join(" ".join(tokens) + "\n" for tokens, _ in tagged(60, 1))


def lm_settings(**changes):
    settings = {"hidden_size": 10, "num_layers": 1, "embedding_size": 6, "bptt": 8, "batch_size": 3,
                "train_config": {"max_steps": 6, "progress": "off", "device": "cpu", "eval_every": 3}}
    return {**settings, **changes}


@pytest.fixture(scope="module")
def char_lms(tmp_path_factory):
    """A forward and a backward character LM, trained a few steps; and a word LM."""
    root = tmp_path_factory.mktemp("char_lms")
    for name, changes in (("fw", {}), ("bw", {"reverse": True}), ("word", {"level": "word"})):
        LanguageModel(**lm_settings(**changes), out_dir=root / name).fit(TEXT)
    return {name: str(root / name) for name in ("fw", "bw", "word")}


# ----- the strings and positions the LMs read -----


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_each_word_reads_the_state_at_its_boundary(direction):
    sentence = ["It", "rained", "."]
    text, positions = char_lm_inputs(sentence, direction)
    assert text == ("\nIt rained .\n" if direction == "forward" else "\n. deniar tI\n")
    for word, p in zip(sentence, positions, strict=True):
        read = text[: p + 1]  # what the LM has read when its state is taken
        spelled = word if direction == "forward" else word[::-1]
        assert read[:-1].endswith(spelled) and read[-1] in " \n"


def test_features_are_the_lm_states_of_each_sentence_alone_whatever_the_padding():
    torch.manual_seed(0)
    fw, bw = (RNNLanguageModel(9, embedding_size=4, hidden_size=5, num_layers=2, dropout=0.5) for _ in range(2))
    features = CharLMFeatures([fw, bw], ["forward", "backward"])
    features.train()  # the LMs stay in eval mode: their dropout would make z_t random
    assert not fw.training and not any(p.requires_grad for p in features.parameters())
    sentences = [["ab", "c"], ["b", "ca", "a", "bb"]]
    ids_of = {"a": 2, "b": 3, "c": 4, " ": 5, "\n": 6}
    inputs = []
    for direction in ("forward", "backward"):
        texts, positions = zip(*(char_lm_inputs(s, direction) for s in sentences), strict=True)
        ids = torch.zeros(2, max(map(len, texts)), dtype=torch.long)
        pos = torch.zeros(2, 4, dtype=torch.long)
        for i, (text, p) in enumerate(zip(texts, positions, strict=True)):
            ids[i, : len(text)] = torch.tensor([ids_of[c] for c in text])
            pos[i, : len(p)] = torch.tensor(p)
        inputs.append((ids, pos))
    z = features(inputs)
    assert z.shape == (2, 4, 10)
    for i, sentence in enumerate(sentences):
        for lm, (ids, pos), half in ((fw, inputs[0], slice(0, 5)), (bw, inputs[1], slice(5, 10))):
            for t in range(len(sentence)):
                alone = lm.hidden_states(ids[i : i + 1, : int(pos[i, t]) + 1])[0][0, -1]  # the prefix, unpadded
                torch.testing.assert_close(z[i, t, half], alone)


# ----- the backward language model -----


def test_a_reverse_lm_is_a_forward_lm_of_the_reversed_text(tmp_path):
    backward = LanguageModel(**lm_settings(reverse=True)).fit(TEXT)
    forward = LanguageModel(**lm_settings()).fit(TEXT[::-1])
    assert backward.vocab_ == forward.vocab_
    for name, value in forward.model_.state_dict().items():
        assert torch.equal(value, backward.model_.state_dict()[name]), name
    assert backward.evaluate(TEXT[:200]) == forward.evaluate(TEXT[:200][::-1])
    before = backward.generate("dog", length=12, seed=4)[0]
    assert before == forward.generate("god", length=12, seed=4)[0][::-1]
    backward.save(tmp_path / "bw")
    assert LanguageModel.load(tmp_path / "bw").reverse


def test_reverse_is_for_character_models_and_the_cli_prints_the_text_before_the_prime(char_lms, capsys):
    with pytest.raises(ConfigError, match="character-level"):
        LanguageModel(**lm_settings(level="word", reverse=True)).fit(TEXT)
    assert main(["generate", char_lms["bw"], "--prime", "dog", "--length", "15", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.endswith("dog\n") and len(printed) == 15 + 3 + 1
    assert printed[:-4] == LanguageModel.load(char_lms["bw"]).generate("dog", length=15, seed=1)[0]


# ----- the tagger with LM features -----


def tagger(char_lms, **changes):
    settings = {"word_dim": 8, "char_dim": 4, "char_hidden": 4, "hidden_size": 8, "batch_size": 4,
                "lm_features": [char_lms["fw"], char_lms["bw"]],
                "train_config": TrainConfig(epochs=3, progress="off", device="cpu", seed=2), **changes}
    return Tagger(**settings)


def test_the_tagger_reads_both_lms_and_its_checkpoint_stands_alone(char_lms, tmp_path):
    data = tagged(24, 2)
    copies = {name: str(shutil.copytree(char_lms[name], tmp_path / name)) for name in ("fw", "bw")}
    fitted = tagger(copies, out_dir=str(tmp_path / "run")).fit(data, tagged(8, 3))
    features = fitted.model_.lm_features
    assert features.directions == ["forward", "backward"] and features.output_size == 20
    assert fitted.model_.rnn.input_size == 8 + 8 + 20
    assert_unchanged(char_lms["bw"], features.lms[1])
    sentences = [tokens for tokens, _ in tagged(10, 4)] + [["a", "zebra", "sleeps"]]
    for path in copies.values():  # the saved tagger needs the LMs no more
        shutil.rmtree(path)
    loaded = Tagger.load(tmp_path / "run")
    assert loaded.predict(sentences) == fitted.predict(sentences)
    assert loaded.lm_features == [copies["fw"], copies["bw"]]  # provenance


def test_cached_states_are_the_states_of_each_batch(char_lms):
    data = tagged(12, 5)
    fitted = tagger(char_lms).fit(data)
    model = fitted.model_.train()
    task = TaggingTask(fitted.encoder_, ([s for s, _ in data], [fitted.encoder_.tags.encode(t) for _, t in data]),
                       None, 4, 0, 0.0, "accuracy")
    assert_cache_holds_fresh_states(task, model, lambda batch: fitted.encoder_.lm_inputs(batch.sentences), len(data))


def assert_unchanged(path, lm):
    """Frozen: training left the weights of the LM at ``path`` as they were in the model's ``lm``."""
    for name, value in LanguageModel.load(path).model_.state_dict().items():
        assert torch.equal(value, lm.state_dict()[name]), name


def assert_cache_holds_fresh_states(task, model, inputs_of, count):
    """The first epoch fills the task's cache, the second reads it in another batch order: each time, the cached
    states of a batch equal the LMs' states computed afresh from ``inputs_of(batch)``."""
    for epoch in (0, 1):
        for batch in task.train_batches(epoch):
            inputs = inputs_of(batch)
            cached = task._contexts(model, batch.indices, batch.lengths, lambda inputs=inputs: inputs)
            computed = lm_context(model, inputs)
            for row, n in enumerate(batch.lengths.tolist()):  # padding positions are never read
                assert torch.equal(cached[row, :n], computed[row, :n])
    assert len(task._contexts) == count


def test_word_lms_and_missing_lms_are_clear_errors(char_lms, tmp_path):
    with pytest.raises(ConfigError, match="word-level language model; lm_features needs character-level"):
        tagger(char_lms, lm_features=[char_lms["word"]]).fit(tagged(8, 0))
    assert main(["train", "tagger", "--train", str(_conllu(tmp_path, tagged(4, 0))), "--lm-features",
                 str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2


def _conllu(tmp_path, data):
    path = tmp_path / "train.conllu"
    path.write_text("".join("".join(f"{i}\t{w}\t_\t{t}\t_\t_\t_\t_\t_\t_\n" for i, (w, t) in
                                    enumerate(zip(tokens, tags, strict=True), 1)) + "\n" for tokens, tags in data))
    return path


def test_cli_trains_a_tagger_on_two_lms_and_tags_with_it(char_lms, tmp_path, capsys):
    train = _conllu(tmp_path, tagged(16, 6))
    run = tmp_path / "pos"
    assert main(["train", "tagger", "--train", str(train), "--dev", str(train), "--lm-features", char_lms["fw"],
                 char_lms["bw"], "--word-dim", "8", "--hidden", "8", "--epochs", "2", "--progress", "off",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    text = tmp_path / "raw.txt"
    text.write_text("the cat runs\na film is\n")
    assert main(["tag", str(run), str(text)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [len(line.split()) for line in lines] == [3, 3] and all("/" in w for w in lines[0].split())


# ----- the classifier with LM features -----


def labelled(n: int, seed: int) -> list[tuple[list[str], str]]:
    """Texts labelled by whether a dog is in them."""
    return [(tokens, "dog" if "dog" in tokens else "other") for tokens, _ in tagged(n, seed)]


def classifier(char_lms, **changes):
    settings = {"embedding_dim": 8, "hidden_size": 6, "batch_size": 4, "lm_features": [char_lms["fw"], char_lms["bw"]],
                "train_config": TrainConfig(epochs=3, progress="off", device="cpu", seed=2), **changes}
    return Classifier(**settings)


def test_the_classifier_reads_both_lms_and_its_checkpoint_stands_alone(char_lms, tmp_path):
    copies = {name: str(shutil.copytree(char_lms[name], tmp_path / name)) for name in ("fw", "bw")}
    fitted = classifier(copies, pooling="attention", out_dir=str(tmp_path / "run")).fit(labelled(24, 2),
                                                                                         labelled(8, 3))
    features = fitted.model_.lm_features
    assert features.directions == ["forward", "backward"] and fitted.model_.rnn.input_size == 8 + 20
    assert_unchanged(char_lms["fw"], features.lms[0])
    texts = [tokens for tokens, _ in labelled(10, 4)] + [["a", "zebra", "sleeps"]]
    for path in copies.values():  # the saved classifier needs the LMs no more
        shutil.rmtree(path)
    loaded = Classifier.load(tmp_path / "run")
    assert torch.equal(loaded.predict_proba(texts), fitted.predict_proba(texts))
    assert loaded.lm_features == [copies["fw"], copies["bw"]]  # provenance


def test_the_classifier_lms_read_the_words_as_written(char_lms):
    fitted = classifier(char_lms, lowercase=True).fit(labelled(16, 5))
    assert fitted._ids(["The", "dog"]) == fitted._ids(["the", "dog"])  # the same words for the embeddings
    upper, lower = fitted.predict_proba([["The", "dog"], ["the", "dog"]])
    assert not torch.equal(upper, lower)  # but not for the LMs, which saw no capital letter


def test_classifier_cached_states_are_the_states_of_each_batch(char_lms):
    data = labelled(12, 5)
    fitted = classifier(char_lms).fit(data)
    model = fitted.model_.train()
    words = [tokens for tokens, _ in data]
    task = ClassificationTask(([fitted._ids(w) for w in words], [0] * len(data), words), None, 4, 0,
                              fitted.classes_.symbols, lm_inputs=fitted._lm_inputs)
    assert_cache_holds_fresh_states(task, model, lambda batch: fitted._lm_inputs([words[i] for i in batch.indices]),
                                    len(data))


def test_cli_trains_a_classifier_on_two_lms_and_classifies_with_it(char_lms, tmp_path, capsys):
    train = tmp_path / "train.txt"
    train.write_text("".join(f"{label} {' '.join(tokens)}\n" for tokens, label in labelled(16, 7)))
    run = tmp_path / "clf"
    assert main(["train", "classifier", "--train", str(train), "--dev", str(train), "--lm-features",
                 char_lms["fw"], char_lms["bw"], "--embedding-dim", "8", "--hidden", "6", "--epochs", "2",
                 "--progress", "off", "--out", str(run)]) == 0
    capsys.readouterr()
    text = tmp_path / "raw.txt"
    text.write_text("the dog runs\na film is\n")
    assert main(["classify", str(run), str(text)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.split()[0] in ("dog", "other") for line in lines)
    assert main(["train", "classifier", "--train", str(train), "--lm-features", char_lms["word"],
                 "--out", str(tmp_path / "bad")]) == 2


# ----- a learned projection of the LM states (lm_projection) -----


def small_features() -> CharLMFeatures:
    lms = [RNNLanguageModel(9, embedding_size=4, hidden_size=h, num_layers=1) for h in (5, 7)]
    return CharLMFeatures(lms, ["forward", "backward"])


def tagger_inputs(features: CharLMFeatures) -> tuple:
    words, lengths = torch.tensor([[3, 4, 3], [5, 0, 0]]), torch.tensor([3, 1])
    chars, char_lengths = torch.tensor([[2, 3], [4, 0], [5, 6]]), torch.tensor([2, 1, 2])
    char_index = torch.tensor([[0, 1, 0], [2, 0, 0]])
    ids = torch.tensor([[2, 3, 4, 5, 6, 7], [2, 8, 3, 0, 0, 0]])
    positions = torch.tensor([[1, 3, 5], [2, 0, 0]])
    context = features([(ids, positions), (ids, positions)])  # (B, T, 12)
    return words, lengths, chars, char_lengths, char_index, context


@pytest.mark.parametrize("kind", ["tagger", "classifier"])
def test_a_projection_maps_the_lm_states_before_the_bi_rnn_and_is_trained(kind):
    torch.manual_seed(0)
    features = small_features()
    *inputs, context = tagger_inputs(features)
    if kind == "tagger":
        model = BiRNNTagger(10, 4, word_dim=6, chars=CharEncoder(9, 3, 4), hidden_size=5, lm_features=features,
                            lm_projection=3)
        assert model.rnn.input_size == 6 + 8 + 3
    else:
        model = BiRNNClassifier(10, 2, embedding_dim=6, hidden_size=5, lm_features=features, lm_projection=3)
        inputs = inputs[:2]
        assert model.rnn.input_size == 6 + 3
    assert model.context_layer.weight.shape == (3, 12) and model.get_config()["lm_projection"] == 3
    model.eval()
    logits = model(*inputs, context)
    projected = model.context_layer(context)  # z'_t = W_z z_t + b_z, by hand below
    assert torch.allclose(projected, context @ model.context_layer.weight.T + model.context_layer.bias)
    model.context_layer = torch.nn.Identity()  # the same model reading z'_t directly
    assert torch.equal(model(*inputs, projected), logits)
    model = type(model).from_config(model.get_config())  # a projection again, from the config
    model.train()
    model(*inputs, context).sum().backward()
    assert model.context_layer.weight.grad.abs().sum() > 0  # learned with the model
    assert all(p.grad is None for p in model.lm_features.parameters())  # the LMs stay frozen


def test_a_projection_needs_lm_features_and_a_positive_size():
    with pytest.raises(ValueError, match="lm_projection needs lm_features"):
        BiRNNTagger(10, 4, lm_projection=3)
    with pytest.raises(ValueError, match="lm_projection must be >= 1"):
        BiRNNClassifier(10, 2, lm_features=small_features(), lm_projection=0)


def test_tagger_and_classifier_with_a_projection_save_and_load_it(char_lms, tmp_path):
    fitted = tagger(char_lms, lm_projection=5, out_dir=str(tmp_path / "tagger")).fit(tagged(16, 2))
    assert fitted.model_.rnn.input_size == 8 + 8 + 5
    sentences = [tokens for tokens, _ in tagged(6, 4)]
    loaded = Tagger.load(tmp_path / "tagger")
    assert loaded.lm_projection == 5 and loaded.predict(sentences) == fitted.predict(sentences)
    fitted = classifier(char_lms, lm_projection=4, out_dir=str(tmp_path / "clf")).fit(labelled(16, 2))
    assert fitted.model_.rnn.input_size == 8 + 4
    loaded = Classifier.load(tmp_path / "clf")
    assert loaded.lm_projection == 4
    assert torch.equal(loaded.predict_proba(sentences), fitted.predict_proba(sentences))


def test_cli_lm_projection(char_lms, tmp_path, capsys):
    train = _conllu(tmp_path, tagged(8, 6))
    run = tmp_path / "pos"
    assert main(["train", "tagger", "--train", str(train), "--lm-features", char_lms["fw"], char_lms["bw"],
                 "--lm-projection", "6", "--word-dim", "8", "--hidden", "8", "--epochs", "1", "--progress", "off",
                 "--out", str(run)]) == 0
    assert Tagger.load(run).model_.context_layer.out_features == 6
    capsys.readouterr()
    assert main(["train", "tagger", "--train", str(train), "--lm-projection", "6", "--epochs", "1",
                 "--progress", "off", "--out", str(tmp_path / "bad")]) == 2
    assert "lm_projection needs lm_features" in capsys.readouterr().err
