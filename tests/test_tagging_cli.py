"""Tagging and classification end to end through ``rnnkit.cli.main.main``, and bad input (exit code 2)."""

import json
import random

import pytest
import torch

from rnnkit.cli.main import main

WORDS = {"DET": ["the", "a"], "ADJ": ["big", "red"], "NOUN": ["dog", "cat", "ball"], "VERB": ["sees", "has"]}


def pos_sentences(n, seed):
    """DET (ADJ) NOUN VERB DET NOUN sentences."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tags = ["DET", *(["ADJ"] if rng.random() < 0.5 else []), "NOUN", "VERB", "DET", "NOUN"]
        out.append([(rng.choice(WORDS[t]), t) for t in tags])
    return out


def conllu(sentences):
    rows = []
    for i, sentence in enumerate(sentences):
        rows.append(f"# sent_id = {i}")
        rows += [f"{j}\t{w}\t{w}\t{t}\t_\t_\t0\tdep\t_\t_" for j, (w, t) in enumerate(sentence, 1)]
        rows.append("")
    return "\n".join(rows) + "\n"


TRAIN = ["--epochs", "4", "--progress", "off", "--device", "cpu", "--lr", "0.02", "--batch-size", "8"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A POS tagger and a sentiment classifier trained through the CLI on tiny data."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tagging_cli")
    (root / "train.conllu").write_text(conllu(pos_sentences(60, 0)), encoding="utf-8")
    (root / "dev.conllu").write_text(conllu(pos_sentences(15, 1)), encoding="utf-8")
    code = main(["train", "tagger", "--train", str(root / "train.conllu"), "--dev", str(root / "dev.conllu"),
                 "--out", str(root / "pos"), "--word-dim", "8", "--char-dim", "4", "--char-hidden", "4",
                 "--hidden", "8", *TRAIN])
    assert code == 0
    rng = random.Random(2)
    lines = [f"{label} {' '.join(rng.choice(['the', 'film', 'plot']) for _ in range(3))} "
             f"{'fine' if label == '1' else 'dull'}" for label in rng.choices("01", k=80)]
    (root / "sst.train").write_text("\n".join(lines[:60]) + "\n", encoding="utf-8")
    (root / "sst.dev").write_text("\n".join(lines[60:]) + "\n", encoding="utf-8")
    code = main(["train", "classifier", "--train", str(root / "sst.train"), "--dev", str(root / "sst.dev"),
                 "--out", str(root / "sst"), "--embedding-dim", "8", "--hidden", "8", "--pooling", "mean",
                 *TRAIN])
    assert code == 0
    torch.set_num_threads(before)
    return root


def test_tag_plain_text_and_conllu_and_conll(runs, capsys, tmp_path):
    (tmp_path / "in.txt").write_text("the big dog sees a ball\n\nunseen words here\n", encoding="utf-8")
    assert main(["tag", str(runs / "pos"), str(tmp_path / "in.txt")]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "the/DET big/ADJ dog/NOUN sees/VERB a/DET ball/NOUN"
    assert lines[1] == "" and len(lines[2].split()) == 3  # empty line kept; unseen words still tagged
    assert main(["tag", str(runs / "pos"), str(runs / "dev.conllu")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# sent_id = 0\n1\t") and out.count("\n\n") == 15
    dev_tags = [line.split("\t")[3] for line in conllu(pos_sentences(15, 1)).splitlines() if "\t" in line]
    assert [line.split("\t")[3] for line in out.splitlines() if "\t" in line] == dev_tags
    (tmp_path / "in.conll").write_text("-DOCSTART- -X- O\n\nthe x O\ncat y O\n", encoding="utf-8")
    assert main(["tag", str(runs / "pos"), str(tmp_path / "in.conll"), "--format", "conll", "--column", "2"]) == 0
    assert capsys.readouterr().out == "-DOCSTART- -X- O\n\nthe DET O\ncat NOUN O\n\n"


def test_evaluate_tagger_prints_scores_and_writes_the_confusion_png(runs, capsys, tmp_path):
    png = tmp_path / "cm.png"
    assert main(["evaluate", str(runs / "pos"), str(runs / "dev.conllu"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "token accuracy 100.00" in out and "confusion matrix" in out and "NOUN" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_tag_classify_and_evaluate_with_an_ensemble(runs, capsys, tmp_path):
    (tmp_path / "in.txt").write_text("the big dog sees a ball\n", encoding="utf-8")
    assert main(["tag", str(runs / "pos"), str(tmp_path / "in.txt"), "--ensemble", str(runs / "pos")]) == 0
    assert capsys.readouterr().out == "the/DET big/ADJ dog/NOUN sees/VERB a/DET ball/NOUN\n"
    assert main(["evaluate", str(runs / "pos"), str(runs / "dev.conllu"), "--ensemble", str(runs / "pos")]) == 0
    assert "token accuracy 100.00" in capsys.readouterr().out
    fails(["tag", str(runs / "pos"), str(tmp_path / "in.txt"), "--ensemble", str(runs / "sst")], capsys,
          "a checkpoint of task 'classifier', expected 'tagger'")
    (tmp_path / "texts.txt").write_text("the film fine\nplot dull\n", encoding="utf-8")
    assert main(["classify", str(runs / "sst"), str(tmp_path / "texts.txt")]) == 0
    alone = capsys.readouterr().out
    assert main(["classify", str(runs / "sst"), str(tmp_path / "texts.txt"), "--ensemble", str(runs / "sst")]) == 0
    assert capsys.readouterr().out == alone  # the mean of one classifier's probabilities twice
    assert main(["evaluate", str(runs / "sst"), str(runs / "sst.dev"), "--ensemble", str(runs / "sst")]) == 0
    assert "accuracy 100.00" in capsys.readouterr().out
    fails(["evaluate", str(runs / "sst"), str(runs / "sst.dev"), "--ensemble", str(runs / "pos")], capsys,
          "a checkpoint of task 'tagger', expected 'classifier'")


def test_classify_and_evaluate_classifier(runs, capsys, tmp_path):
    (tmp_path / "texts.txt").write_text("the film fine\nplot dull\n", encoding="utf-8")
    assert main(["classify", str(runs / "sst"), str(tmp_path / "texts.txt")]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [label for label, _ in rows] == ["1", "0"] and all(0.5 <= float(p) <= 1 for _, p in rows)
    assert main(["evaluate", str(runs / "sst"), str(runs / "sst.dev")]) == 0
    assert "accuracy 100.00  macro-F1 100.00" in capsys.readouterr().out


def fails(argv, capsys, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnkit: error: ") and message in err, err


def test_bad_input_gives_one_line_and_exit_code_2(runs, capsys, tmp_path):
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tthe\tthe\tDET\t_\t_\t0\tdep\t_\n", encoding="utf-8")
    fails(["train", "tagger", "--train", str(bad), "--out", str(tmp_path / "x")], capsys,
          "bad.conllu:1: expected 10 tab-separated columns, found 9")
    bad.write_text("1\tthe\tthe\t_\t_\t_\t0\tdep\t_\t_\n", encoding="utf-8")
    fails(["evaluate", str(runs / "pos"), str(bad)], capsys, "bad.conllu:1: word 1 has no UPOS tag")
    bad.write_text("1\tthe\tthe\tPRON\t_\t_\t0\tdep\t_\t_\n", encoding="utf-8")
    fails(["evaluate", str(runs / "pos"), str(bad)], capsys, "bad.conllu:1: tag 'PRON' was never seen in training")
    conll = tmp_path / "bad.txt"
    conll.write_text("EU NNP B-ORG\nrejects VBZ\n", encoding="utf-8")
    fails(["train", "tagger", "--train", str(conll), "--format", "conll", "--column", "3", "--out",
           str(tmp_path / "y")], capsys, "bad.txt:2: no tag in column 3: the line has 2 column(s)")
    fails(["train", "tagger", "--train", str(conll), "--out", str(tmp_path / "y")], capsys,
          "give --format conllu or --format conll")
    (tmp_path / "t.txt").write_text("fine film\n\n", encoding="utf-8")
    fails(["classify", str(runs / "sst"), str(tmp_path / "t.txt")], capsys, "t.txt:2: empty text")
    (tmp_path / "l.txt").write_text("7 fine film\n", encoding="utf-8")
    fails(["evaluate", str(runs / "sst"), str(tmp_path / "l.txt")], capsys,
          "l.txt:1: label '7' was never seen in training")
    fails(["tag", str(runs / "pos"), str(tmp_path / "missing.txt")], capsys, "missing.txt: no such file")
    fails(["tag", str(runs / "sst"), str(tmp_path / "t.txt")], capsys, "expected 'tagger'")
    fails(["train", "classifier", "--train", str(runs / "sst.train"), "--pooling", "median", "--out",
           str(tmp_path / "z")], capsys, "pooling must be one of")
    (tmp_path / "c.json").write_text('{"hidden_size": 8,\n "hiden": 3}', encoding="utf-8")
    fails(["train", "tagger", "--train", str(runs / "train.conllu"), "--config", str(tmp_path / "c.json"),
           "--out", str(tmp_path / "w")], capsys, "c.json:2: unknown key 'hiden'")


def test_config_file_may_name_the_data_format_and_column(runs, tmp_path):
    """A --config file's data_format and column stand where the flags are not given; the flags win."""
    xpos = conllu(pos_sentences(20, 3)).replace("\t_\t_\t0\t", "\tXP\t_\t0\t")  # an XPOS column, all 'XP'
    (tmp_path / "train.txt").write_text(xpos, encoding="utf-8")  # a name that does not say the format
    config = tmp_path / "c.json"
    config.write_text('{"data_format": "conllu", "column": "xpos", "max_steps": 2}', encoding="utf-8")
    small = ["--word-dim", "4", "--char-dim", "2", "--char-hidden", "2", "--hidden", "4", *TRAIN]
    assert main(["train", "tagger", "--train", str(tmp_path / "train.txt"), "--config", str(config),
                 "--out", str(tmp_path / "a"), *small]) == 0
    assert json.loads((tmp_path / "a" / "last" / "model.json").read_text())["settings"]["column"] == "xpos"
    assert main(["train", "tagger", "--train", str(tmp_path / "train.txt"), "--config", str(config),
                 "--column", "upos", "--out", str(tmp_path / "b"), *small]) == 0
    assert json.loads((tmp_path / "b" / "last" / "model.json").read_text())["settings"]["column"] == "upos"
    config.write_text('{"data_format": "sst", "max_steps": 2}', encoding="utf-8")
    assert main(["train", "classifier", "--train", str(runs / "sst.train"), "--config", str(config),
                 "--out", str(tmp_path / "c"), "--embedding-dim", "4", "--hidden", "4", *TRAIN]) == 0
    assert json.loads((tmp_path / "c" / "last" / "model.json").read_text())["settings"]["data_format"] == "sst"
