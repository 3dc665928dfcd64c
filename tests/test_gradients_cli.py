"""``rnnkit gradients`` and ``rnnkit longrange`` end to end, with tiny sizes."""

import json

from rnnkit.cli.main import main


def _is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_longrange_then_gradients_of_its_checkpoints(tmp_path, capsys):
    out = tmp_path / "adding"
    code = main(["longrange", "--task", "adding", "--lengths", "4,6", "--cells", "elman,gru",
                 "--budget-seconds", "0.5", "--hidden", "8", "--batch", "8", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "elman mse" in printed and "gru mse" in printed
    results = json.loads((out / "results.json").read_text())
    assert [(r["length"], r["cell"]) for r in results] == [(4, "elman"), (4, "gru"), (6, "elman"), (6, "gru")]
    assert all(r["steps"] >= 1 and 0.1 < r["baseline"] < 0.25 for r in results)
    assert _is_png(out / "longrange.png")

    code = main(["gradients", "--checkpoint", str(out / "elman-T6"), str(out / "gru-T6"), "--length", "12",
                 "--batch", "3", "--out", str(tmp_path / "trained")])
    assert code == 0
    profiles = json.loads((tmp_path / "trained" / "gradients.json").read_text())
    assert [p["cell"] for p in profiles] == ["elman", "gru"]
    assert all(len(p["grad_norms"]) == 12 and p["hidden_size"] == 8 for p in profiles)
    assert _is_png(tmp_path / "trained" / "gradients.png")


def test_gradients_at_init_prints_the_table_and_writes_a_png(tmp_path, capsys):
    code = main(["gradients", "--cells", "elman,lstm", "--length", "10", "--hidden", "4", "--batch", "2",
                 "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "vanishes at T−t" in printed and "elman" in printed and "lstm" in printed
    assert _is_png(tmp_path / "gradients.png")


def test_copy_task_reports_accuracy(tmp_path, capsys):
    code = main(["longrange", "--task", "copy", "--lengths", "3", "--cells", "lstm", "--budget-seconds", "0.2",
                 "--hidden", "8", "--batch", "4", "--out", str(tmp_path)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results[0]["metric"] == "accuracy" and 0.0 <= results[0]["value"] <= 1.0


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["gradients", "--checkpoint", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnkit: error:") and "missing" in err and len(err.strip().splitlines()) == 1
    assert main(["longrange", "--budget-seconds", "-1", "--out", str(tmp_path)]) == 2
    assert "--budget-seconds" in capsys.readouterr().err
