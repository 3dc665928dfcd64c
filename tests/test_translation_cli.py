"""Translation end to end through ``rnnkit.cli.main.main``: train, translate, evaluate, and bad input."""

import json
import random

import pytest

from rnnkit.cli.main import main
from rnnkit.errors import RnnkitError
from rnnkit.tasks.translation import Translator
from rnnkit.tasks.translation_training import TranslatorSettings

LEXICON = {"ein": "a", "hund": "dog", "katze": "cat", "sieht": "sees", "jagt": "chases", "mann": "man",
           "frau": "woman", "ball": "ball", "rot": "red", "klein": "small", "und": "and", "nicht": "not"}


def corpus(n, seed):
    """Sentences of 2-6 random words and their word-by-word translations."""
    rng = random.Random(seed)
    words = sorted(LEXICON)
    source = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))) for _ in range(n)]
    return source, [" ".join(LEXICON[w] for w in s.split()) for s in source]


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)



@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("translation")
    src, tgt = corpus(240, seed=0)
    dev_src, dev_tgt = corpus(20, seed=1)
    src[5] = ""  # an empty line: the pair is skipped with a warning
    return {
        "root": root,
        "train_src": write_lines(root / "train.de", src),
        "train_tgt": write_lines(root / "train.en", tgt),
        "dev_src": write_lines(root / "dev.de", dev_src),
        "dev_tgt": write_lines(root / "dev.en", dev_tgt),
    }


def train(files, out, *extra):
    return main(["train", "translator", "--train-src", files["train_src"], "--train-tgt", files["train_tgt"],
                 "--dev-src", files["dev_src"], "--dev-tgt", files["dev_tgt"], "--out", str(out),
                 "--embedding-size", "16", "--hidden-size", "16", "--batch-size", "16", "--min-freq", "1",
                 "--epochs", "1", "--progress", "off", "--eval-sentences", "10", "--log-every", "5",
                 "--max-input-length", "12", *extra])


@pytest.fixture(scope="module")
def run(files):
    out = files["root"] / "run"
    assert train(files, out, "--scheduled-sampling", "linear", "--ss-steps", "10") == 0
    return out


def test_train_writes_a_checkpoint_with_everything_needed(run):
    meta = json.loads((run / "best" / "model.json").read_text())
    assert meta["task"] == "translator" and meta["model_class"] == "Seq2Seq"
    assert set(meta["tokenizers"]) == {"source", "target"}
    assert meta["settings"]["scheduled_sampling"] == "linear"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("bleu" in r for r in records if r["kind"] == "eval")
    assert any(r.get("sample_probability", 0) > 0 for r in records if r["kind"] == "train")


def test_translate_streams_one_line_per_input_line(run, files, tmp_path, capsys, caplog):
    long_line = " ".join(["hund"] * 30)  # over max_input_length (12): cut, with a warning
    inputs = write_lines(tmp_path / "in.de", ["ein hund", "", "nie gesehen wörter", long_line])
    plot = tmp_path / "att.png"
    assert main(["translate", str(run), inputs, "--beam", "2", "--plot-attention", str(plot)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.split("\n")
    assert len(lines) == 5 and lines[1] == "" and lines[4] == ""
    assert f"{inputs}:4: sentence of 30 tokens cut to the first 12" in caplog.text
    assert plot.stat().st_size > 0
    assert main(["translate", str(run), inputs, "--beam", "3", "--n-best", "2"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [r[:2] for r in rows] == [["1", "1"], ["1", "2"], ["2", "1"], ["3", "1"], ["3", "2"], ["4", "1"],
                                     ["4", "2"]]


def test_evaluate_reports_bleu_and_chrf(run, files, capsys):
    assert main(["evaluate", str(run), "--src", files["dev_src"], "--ref", files["dev_tgt"], "--beam", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BLEU ") and "chrF" in out and "20 sentences" in out


def error_of(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error: ") and "Traceback" not in err
    return err


def test_bad_input_gives_one_line_errors(run, files, tmp_path, capsys):
    short = write_lines(tmp_path / "short.en", ["a dog"] * 7)
    err = error_of(["train", "translator", "--train-src", files["train_src"], "--train-tgt", short], capsys)
    assert f"{files['train_src']}:8: has a line 8 but {short} ends after line 7" in err
    tsv = write_lines(tmp_path / "pairs.tsv", ["ein hund\ta dog", "kein tab"])
    assert f"{tsv}:2: expected 'source<TAB>target'" in error_of(["train", "translator", "--train-tsv", tsv], capsys)
    assert "--train-src and --train-tgt go together" in error_of(
        ["train", "translator", "--train-src", files["train_src"]], capsys)
    assert "n-best" in error_of(["translate", str(run), files["dev_src"], "--beam", "2", "--n-best", "3"], capsys)
    assert "no such checkpoint" in error_of(["translate", str(tmp_path / "nothing"), files["dev_src"]], capsys)
    assert "line-aligned" in error_of(["evaluate", str(run), "--src", files["dev_src"], "--ref", short], capsys)
    assert "--src" in error_of(["evaluate", str(run)], capsys)
    assert "beam" in error_of(
        ["evaluate", str(run), "--src", files["dev_src"], "--ref", files["dev_tgt"], "--beam", "0"], capsys)
    assert "attention must be one of" in error_of(["train", "translator", "--train-src", files["train_src"],
                                                  "--train-tgt", files["train_tgt"], "--attention", "luong"], capsys)


def test_plain_encoder_decoder_has_no_attention_to_plot(files, tmp_path, capsys):
    out = tmp_path / "plain"
    assert train(files, out, "--attention", "none", "--max-steps", "2", "--tokenizer", "bpe",
                 "--vocab-size", "300") == 0
    unseen = write_lines(tmp_path / "unseen.de", ["ein hund ✓ 中文 ß"])  # characters the subwords never saw
    assert main(["translate", str(out), unseen, "--beam", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert "no attention" in error_of(["translate", str(out), unseen, "--plot-attention", str(tmp_path / "a.png")],
                                      capsys)


def test_translator_learns_a_word_by_word_translation(tmp_path):
    src, tgt = corpus(600, seed=2)
    test_src, test_tgt = corpus(30, seed=3)
    settings = TranslatorSettings(embedding_size=32, hidden_size=48, batch_size=32, min_freq=1, dropout=0.0,
                                  label_smoothing=0.0, bleu_tokenize="none")
    config = Translator.default_train_config(False, lr=0.01, epochs=10, progress="off", seed=0)
    translator = Translator(settings, config).fit(list(zip(src, tgt, strict=True)), out_dir=tmp_path / "learn")
    assert translator.score(test_src, test_tgt, beam=3) > 40.0  # 89 here; untrained ~0, no attention 21
    again = Translator.load(tmp_path / "learn")
    assert again.translate(test_src[:5], beam=3) == translator.translate(test_src[:5], beam=3)


def test_resume_continues_with_the_saved_tokenizers(files, tmp_path):
    out = tmp_path / "resumable"
    assert train(files, out, "--max-steps", "2", "--tokenizer", "bpe", "--vocab-size", "300") == 0
    saved = json.loads((out / "last" / "model.json").read_text())["tokenizers"]
    assert train(files, out, "--max-steps", "4", "--tokenizer", "bpe", "--vocab-size", "300", "--resume") == 0
    last = json.loads((out / "last" / "model.json").read_text())
    assert last["training"]["step"] == 4
    assert last["tokenizers"] == saved


def test_an_unfitted_translator_says_so():
    translator = Translator(TranslatorSettings())
    assert not hasattr(translator, "model_")
    with pytest.raises(RnnkitError, match="not trained yet"):
        translator.translate(["ein hund"])


def test_a_config_file_holds_model_and_engine_settings(files, tmp_path, capsys):
    config = tmp_path / "t.json"
    config.write_text('{"cell": "lstm", "max_steps": 3, "lr": 0.005}', encoding="utf-8")
    assert train(files, tmp_path / "c", "--config", str(config), "--lr", "0.004") == 0
    meta = json.loads((tmp_path / "c" / "last" / "model.json").read_text())
    assert meta["settings"]["cell"] == "lstm" and meta["settings"]["hidden_size"] == 16
    assert meta["train_config"]["max_steps"] == 3 and meta["train_config"]["lr"] == 0.004  # the flag wins
    assert meta["train_config"]["clip_norm"] == 1.0  # the translator's default stands
    config.write_text('{"cell": "lstm",\n "max_stepz": 3}', encoding="utf-8")
    assert train(files, tmp_path / "d", "--config", str(config)) == 2
    assert f"{config}:2: unknown key 'max_stepz'" in capsys.readouterr().err
