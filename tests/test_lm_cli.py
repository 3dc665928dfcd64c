"""`rnnkit train lm`, `generate`, `score`, `evaluate`: end to end, and bad input as one-line errors."""

import json
import subprocess
import sys

import pytest

from rnnkit.cli.main import main

TEXT = "to be or not to be\nthat is the question\n" * 40



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    (root / "train.txt").write_text(TEXT, encoding="utf-8")
    code = main(["train", "lm", "--data", str(root / "train.txt"), "--hidden", "24", "--layers", "1",
                 "--bptt", "10", "--batch-size", "4", "--max-steps", "40", "--lr", "0.01", "--weight-dropout", "0.2",
                 "--average-from", "30", "--locked-dropout", "--embedding-dropout", "0.1", "--progress", "off",
                 "--device", "cpu", "--out", str(root / "run")])
    assert code == 0
    return root


def test_train_help_shows_the_training_defaults_the_run_used(run, capsys):
    """The LM trains with its own defaults (clip 5, validation every 500 steps), so its --help must say so."""
    with pytest.raises(SystemExit):
        main(["train", "lm", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    used = json.loads((run / "run" / "last" / "trainer.json").read_text())["config"]
    for flag, name in (("--clip-norm", "clip_norm"), ("--eval-every", "eval_every"), ("--log-every", "log_every")):
        shown = help_text.split(f"{flag} {name.upper()} ", 1)[1].split("(default: ", 1)[1].split(")", 1)[0]
        assert float(shown) == used[name], (flag, shown, used[name])


def one_line_error(capsys, code, *expected):
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("rnnkit: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_train_writes_a_run_and_generate_streams_the_continuation(run, capsys):
    assert (run / "run" / "best" / "model.safetensors").is_file()
    assert (run / "run" / "metrics.jsonl").is_file()
    capsys.readouterr()
    assert main(["generate", str(run / "run"), "--prime", "to be", "--length", "25", "--seed", "2",
                 "--temperature", "0.8", "--top-k", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("to be") and len(out) == len("to be") + 25 + 1
    assert main(["generate", str(run / "run"), "--num-samples", "2", "--length", "10", "--greedy"]) == 0
    out = capsys.readouterr().out
    assert out.count("----- sample") == 2


def test_weights_averaged_from_a_step_are_validated_and_kept(run):
    records = [json.loads(line) for line in (run / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    assert evals[-1]["step"] == 40 and evals[-1]["averaged_steps"] == 10
    trainer = json.loads((run / "run" / "last" / "trainer.json").read_text())
    assert trainer["average"] == {"count": 10} and trainer["config"]["average_from"] == 30


def test_score_and_evaluate_report_perplexity_and_bits_per_char(run, capsys):
    for command in ("score", "evaluate"):
        assert main([command, str(run / "run"), str(run / "train.txt")]) == 0
        out = capsys.readouterr().out
        assert "perplexity" in out and "bits/char" in out


def test_python_dash_m_runs_the_same_command(run):
    # `python -m rnnkit` is the command without an installed entry point (e.g. a checkout on a GPU machine)
    done = subprocess.run([sys.executable, "-m", "rnnkit", "score", str(run / "run"), str(run / "train.txt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "perplexity" in done.stdout and "bits/char" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "rnnkit", "score", str(run / "missing"), str(run / "train.txt")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "rnnkit: error:" in bad.stderr and "Traceback" not in bad.stderr


def test_prime_outside_the_vocabulary_is_one_clear_error(run, capsys):
    code = main(["generate", str(run / "run"), "--prime", "to bé!", "--length", "5"])
    one_line_error(capsys, code, "'é' (U+00E9)", "'!' (U+0021)")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b"abc\x00def", "binary"), (b"fine\n\xc3\x28 bad\n", ":2: not UTF-8")],
)
def test_bad_training_files(tmp_path, capsys, content, expected):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    code = main(["train", "lm", "--data", str(path), "--out", str(tmp_path / "out"), "--max-steps", "1"])
    one_line_error(capsys, code, str(path), expected)


def test_directory_without_text(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    code = main(["train", "lm", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    one_line_error(capsys, code, str(tmp_path / "data"), "no non-empty UTF-8 text")


def test_unknown_config_key_names_file_and_line(tmp_path, capsys):
    config = tmp_path / "lm.json"
    config.write_text('{\n  "hidden_size": 32,\n  "hiden_layers": 2\n}\n', encoding="utf-8")
    code = main(["train", "lm", "--config", str(config), "--out", str(tmp_path / "out")])
    one_line_error(capsys, code, f"{config}:3:", "'hiden_layers'")


def test_corrupt_and_foreign_checkpoints(run, tmp_path, capsys):
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(run / "run" / "best", ckpt)
    meta = json.loads((ckpt / "model.json").read_text())
    (ckpt / "model.json").write_text(json.dumps({**meta, "task": "translator"}))
    one_line_error(capsys, main(["generate", str(ckpt)]), "'translator'", "expected 'lm'")
    (ckpt / "model.json").write_text('{"format": "rnnkit-checkpoint", "format_version": 1,\n "task": ')
    one_line_error(capsys, main(["generate", str(ckpt)]), "model.json:2", "corrupt JSON")
    (ckpt / "model.json").write_text(json.dumps(meta))
    (ckpt / "model.safetensors").write_bytes(b"\x00" * 64)
    one_line_error(capsys, main(["score", str(ckpt), str(run / "train.txt")]), "model.safetensors")
    one_line_error(capsys, main(["generate", str(tmp_path / "missing")]), "no such checkpoint")
    (tmp_path / "notes.txt").write_text("hello\n")
    one_line_error(capsys, main(["generate", str(tmp_path)]), "not a checkpoint")


def test_weight_dropout_is_kept_with_the_model_and_dropouts_are_checked(run, tmp_path, capsys):
    meta = json.loads((run / "run" / "best" / "model.json").read_text(encoding="utf-8"))
    assert meta["model_config"]["weight_dropout"] == 0.2 and meta["model_config"]["locked_dropout"] is True
    assert meta["model_config"]["embedding_dropout"] == 0.1
    code = main(["train", "lm", "--data", str(run / "train.txt"), "--locked-dropout", "--scheduled-sampling",
                 "linear", "--out", str(tmp_path / "out")])
    one_line_error(capsys, code, "locked_dropout keeps one mask per window")
    for flag in ("dropout", "weight-dropout", "embedding-dropout"):
        code = main(["train", "lm", "--data", str(run / "train.txt"), f"--{flag}", "1.5", "--out",
                     str(tmp_path / "out")])
        one_line_error(capsys, code, f"{flag.replace('-', '_')} must be in [0, 1), got 1.5")


def test_resume_keeps_model_settings(run, capsys):
    code = main(["train", "lm", "--out", str(run / "run"), "--resume", "--hidden", "99"])
    one_line_error(capsys, code, "hidden_size=24")
