"""The LanguageModel task object: fit, generate, score, save/load, resume, scheduled sampling."""

import math

import pytest
import torch

from rnnkit.errors import CheckpointError, RnnkitError
from rnnkit.tasks.language_model import LanguageModel, train

PERIODIC = "abcd efg\n" * 300


QUICK = {"progress": "off", "lr": 0.01, "eval_every": 50, "device": "cpu"}


def tiny(**overrides):
    settings = {"hidden_size": 32, "num_layers": 1, "embedding_size": 8, "bptt": 12, "batch_size": 4,
                "dropout": 0.0, "train_config": {**QUICK, "max_steps": 120}}
    return LanguageModel(**{**settings, **overrides})


@pytest.fixture(scope="module")
def fitted():
    return tiny().fit(PERIODIC)


def test_settings_only_until_fit():
    lm = tiny()
    assert not hasattr(lm, "vocab_") and not hasattr(lm, "model_")
    with pytest.raises(RnnkitError, match="not trained"):
        lm.generate("a")


def test_learns_a_periodic_text_and_greedy_generation_continues_it(fitted):
    assert fitted.result_.best_metric < 0.15  # nats/char; uniform over 10 symbols would be 2.3
    assert fitted.generate("abc", length=18, greedy=True) == ["d efg\nabcd efg\nabc"]
    scores = fitted.evaluate(PERIODIC[:900])
    assert scores["perplexity"] == pytest.approx(math.exp(scores["loss"]))
    assert scores["bits_per_char"] == pytest.approx(scores["loss"] / math.log(2))
    assert fitted.score("gfe dcba\n" * 50) > 5 * fitted.score(PERIODIC[:450])


def test_unknown_prime_characters_are_listed(fitted):
    with pytest.raises(RnnkitError, match=r"2 character\(s\).*'x' \(U\+0078\), 'é' \(U\+00E9\)"):
        fitted.generate("axé", length=3)


def test_samples_are_reproducible_batched_and_never_special(fitted):
    a = fitted.generate("a", length=40, temperature=1.5, seed=3, num_samples=3)
    assert a == fitted.generate("a", length=40, temperature=1.5, seed=3, num_samples=3)
    assert len(a) == 3 and all(len(s) == 40 for s in a)
    assert not any("<" in s for s in a)


def test_save_load_gives_the_same_model_without_the_corpus(fitted, tmp_path):
    fitted.save(tmp_path / "ckpt")
    loaded = LanguageModel.load(tmp_path / "ckpt")
    assert loaded.vocab_ == fitted.vocab_ and loaded.get_params() == fitted.get_params()
    assert loaded.evaluate(PERIODIC[:500]) == fitted.evaluate(PERIODIC[:500])
    assert loaded.generate("ab", 30, seed=1) == fitted.generate("ab", 30, seed=1)


def test_loading_a_foreign_or_damaged_checkpoint(fitted, tmp_path):
    fitted.save(tmp_path / "ckpt")
    meta = tmp_path / "ckpt" / "model.json"
    meta.write_text(meta.read_text().replace('"task": "lm"', '"task": "tagger"'))
    with pytest.raises(CheckpointError, match="expected 'lm'"):
        LanguageModel.load(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"garbage")
    meta.write_text(meta.read_text().replace('"task": "tagger"', '"task": "lm"'))
    with pytest.raises(CheckpointError, match="corrupt safetensors"):
        LanguageModel.load(tmp_path / "ckpt")


def test_word_level_unknown_prime_words_become_unk_and_words_are_spaced(caplog):
    text = "the cat sat on the mat\nthe dog sat on the log\n" * 60
    lm = tiny(level="word", train_config={**QUICK, "max_steps": 60}).fit(text)
    assert "<eos>" in lm.vocab_ and lm.vocab_.unk == "<unk>"
    out = lm.generate("the zebra", length=12, seed=0)[0]
    assert "zebra" in caplog.text and "<unk>" in caplog.text
    assert out.startswith(" ") and "  " not in out and "<" not in out
    assert all(w in lm.vocab_ for w in out.split())
    assert lm.evaluate(text[:200])["tokens"] > 0


def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path):
    settings = {"dropout": 0.2, "num_layers": 2, "hidden_size": 16}
    config = {**QUICK, "eval_every": 5, "seed": 7}
    tiny(**settings, train_config={**config, "max_steps": 10}, out_dir=tmp_path / "a").fit(PERIODIC)
    tiny(**settings, train_config={**config, "max_steps": 5}, out_dir=tmp_path / "b").fit(PERIODIC)
    resumed = tiny(**settings, train_config={**config, "max_steps": 10, "restore_best": False},
                   out_dir=tmp_path / "b")
    resumed.fit(PERIODIC, resume=True)
    whole_last = LanguageModel.load(tmp_path / "a" / "last").model_.state_dict()
    for name, tensor in resumed.model_.state_dict().items():
        assert torch.equal(tensor, whole_last[name]), name
    with pytest.raises(CheckpointError, match="another text"):
        tiny(**settings, train_config={**config, "max_steps": 12}, out_dir=tmp_path / "b").fit(
            "xyz\n" * 300, resume=True)


def test_scheduled_sampling_trains_and_logs_its_probability():
    lm = tiny(scheduled_sampling="linear", ss_steps=20, ss_min_truth=0.5,
              train_config={**QUICK, "max_steps": 30, "log_every": 10}).fit(PERIODIC)
    probabilities = [r["sample_probability"] for r in lm.result_.history if r["kind"] == "train"]
    assert probabilities[0] < probabilities[-1] <= 0.5 + 1e-9
    assert lm.result_.best_metric < 2.0


def test_default_corpus_and_flat_settings(tmp_path):
    lm = train(out_dir=tmp_path / "run", hidden_size=8, num_layers=1, bptt=8, batch_size=2, max_steps=2,
               progress="off", device="cpu")
    assert "d" in lm.vocab_ and lm.corpus_["data"] is None and (tmp_path / "run" / "best").is_dir()
