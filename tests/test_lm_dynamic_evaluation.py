"""Dynamic evaluation: each window scored before the model learns from it, one stream, the model untouched."""

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.data.streams import TokenStreams
from rnnkit.errors import ConfigError, RnnkitError
from rnnkit.layers import Recurrent
from rnnkit.models.language_model import RNNLanguageModel
from rnnkit.tasks.language_model import LanguageModel
from rnnkit.tasks.lm_training import dynamic_stream_losses, stream_loss

V, T = 12, 7


def model(cell: str = "lstm", backend: str = "auto") -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(V, embedding_size=6, hidden_size=10, num_layers=2, cell=cell, dropout=0.3,
                            locked_dropout=True, backend=backend)


def ids(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, V, (n,), generator=torch.Generator().manual_seed(seed))


def windows(lm: RNNLanguageModel, text: torch.Tensor, lr: float, decay: float = 0.0) -> torch.Tensor:
    """The mean loss of each window under dynamic evaluation, (M,); every window but the last holds T tokens."""
    pairs = dynamic_stream_losses(lm, text, T, lr, decay)
    assert [n for _, n in pairs] == [T] * (len(pairs) - 1) + [pairs[-1][1]]
    return torch.tensor([loss for loss, _ in pairs], dtype=torch.float64)


def mean(lm: RNNLanguageModel, text: torch.Tensor, lr: float, decay: float = 0.0) -> float:
    pairs = dynamic_stream_losses(lm, text, T, lr, decay)
    return sum(loss * n for loss, n in pairs) / sum(n for _, n in pairs)


@pytest.mark.parametrize("cell", ["lstm", "gru", "elman"])
def test_a_vanishing_rate_gives_the_static_loss_of_one_stream(cell):
    lm, text = model(cell), ids(60)
    static = stream_loss(lm, TokenStreams(text, 1, T))  # eval mode: dropout off in both
    assert sum(n for _, n in dynamic_stream_losses(lm, text, T, lr=1e-12)) == 59
    assert mean(lm, text, lr=1e-12) == pytest.approx(static, abs=1e-6)


def test_each_window_is_scored_before_the_model_learns_from_it_and_never_sees_later_text():
    lm, text = model(), ids(50)
    full = windows(lm, text, lr=0.5)
    prefix = windows(lm, text[: 3 * T + 1], lr=0.5)  # the first three windows alone
    assert torch.equal(full[:3], prefix)
    static = windows(lm, text, lr=1e-12)
    assert full[0] == pytest.approx(float(static[0]), abs=1e-6)  # the first window: nothing learnt yet
    assert not torch.allclose(full[1:], static[1:], atol=1e-3)  # later windows: the model has learnt


def test_the_adapted_model_learns_a_text_that_repeats_and_the_model_itself_is_unchanged():
    lm = model()
    before = {k: v.clone() for k, v in lm.state_dict().items()}
    text = ids(10).repeat(40)  # one random phrase, over and over: the untrained model cannot know it
    adapted = windows(lm, text, lr=4.0)
    assert mean(lm, text, lr=4.0) < mean(lm, text, lr=1e-12) - 1.0
    assert adapted[-2] < 0.25 * adapted[0]  # it learns as it reads
    assert all(torch.equal(before[k], v) for k, v in lm.state_dict().items())
    assert lm.training


def test_a_decay_near_one_keeps_the_weights_at_the_trained_ones():
    lm, text = model(), ids(40)
    static = windows(lm, text, lr=1e-12)
    free = windows(lm, text, lr=0.5)
    held = windows(lm, text, lr=0.5, decay=1 - 1e-9)
    assert torch.allclose(held, static, atol=1e-5) and not torch.allclose(free, static, atol=1e-3)


def test_the_fused_path_differentiates_in_eval_mode_without_dropout():
    """Dynamic evaluation differentiates the fused kernel in eval mode: it must match the readable cells,
    with the layer's dropout off (cuDNN runs its training path then; benchmarks/gpu_correctness.py)."""
    torch.manual_seed(0)
    layer = Recurrent("lstm", 5, 8, num_layers=2, dropout=0.5).eval()
    x = torch.randn(3, 6, 5)
    grads = []
    for backend in ("torch", "autograd"):
        layer.backend = backend
        out, _ = layer(x)
        grads.append(torch.autograd.grad(out.sum(), list(layer.parameters())))
    for fused, readable in zip(*grads, strict=True):
        assert torch.allclose(fused, readable, atol=1e-6)


def test_bad_settings_and_divergence_are_one_line_errors():
    lm, text = model(), ids(30)
    with pytest.raises(ConfigError, match="learning rate must be > 0"):
        dynamic_stream_losses(lm, text, T, lr=0.0)
    with pytest.raises(ConfigError, match=r"decay must be in \[0, 1\)"):
        dynamic_stream_losses(lm, text, T, lr=0.1, decay=1.0)
    with pytest.raises(ConfigError, match="learning rate must be > 0 and finite"):
        dynamic_stream_losses(lm, text, T, lr=float("inf"))
    # Where the loss first overflows (inf or nan, after how many items) depends on the CPU's float kernels.
    with pytest.raises(RnnkitError, match=r"diverged: the loss is (inf|nan) after \d+ items; lower its learning rate"):
        dynamic_stream_losses(lm, text, T, lr=1e38)


TEXT = "the cat sat on the mat\nthe dog sat on the log\n" * 30


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dyn")
    (root / "train.txt").write_text(TEXT, encoding="utf-8")
    (root / "new.txt").write_text("a zebra ate a zucchini\n" * 12, encoding="utf-8")
    assert main(["train", "lm", "--data", str(root / "train.txt"), "--hidden", "24", "--layers", "1", "--bptt", "10",
                 "--batch-size", "4", "--max-steps", "30", "--lr", "0.01", "--progress", "off",
                 "--out", str(root / "run")]) == 0
    return root


def test_score_adapts_to_a_new_text_through_the_api_and_the_cli(run, capsys):
    lm = LanguageModel.load(run / "run")
    text = (run / "new.txt").read_text()
    static, dynamic = lm.evaluate(text), lm.evaluate(text, dynamic_lr=0.3)
    assert dynamic["loss"] < static["loss"] - 0.3
    assert dynamic["tokens"] == len(text) - 1
    assert lm.score(text, dynamic_lr=0.3) == pytest.approx(dynamic["perplexity"])
    capsys.readouterr()
    assert main(["score", str(run / "run"), str(run / "new.txt"), "--dynamic-lr", "0.3",
                 "--dynamic-decay", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "dynamic evaluation (lr 0.3, decay 0.01)" in out and "perplexity" in out


def test_score_refuses_bad_dynamic_settings_in_one_line(run, capsys):
    for flags, expected in ((["--dynamic-lr", "-1"], "learning rate must be > 0"),
                            (["--dynamic-lr", "0.1", "--dynamic-decay", "2"], "decay must be in [0, 1)")):
        code = main(["score", str(run / "run"), str(run / "new.txt"), *flags])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err and expected in err, err


def test_a_word_model_adapts_too():
    lm = LanguageModel(level="word", hidden_size=16, num_layers=1, bptt=6, batch_size=2,
                       train_config={"max_steps": 20, "progress": "off", "lr": 0.01})
    lm.fit("the cat sat on the mat\n" * 30)
    text = "a zebra ate a zucchini\n" * 15  # words the model never saw: all <unk>, but the pattern is learnt
    static, dynamic = lm.evaluate(text), lm.evaluate(text, dynamic_lr=0.3)
    assert dynamic["loss"] < static["loss"] - 0.3 and dynamic["tokens"] == len(text.split()) + 15 - 1
