"""The project's conventions (docs/architecture.md, the style reference), checked rather than hoped for."""

import ast
import re
from pathlib import Path

import pytest

from rnnkit.cli.main import build_parser, main

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnkit"
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 450  # "a file that grows past ~400 lines is asking to be split"


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _code(path: Path) -> str:
    """The file without comments and string literals, so that prose never trips a check."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.unparse(tree)


def test_files_stay_small():
    too_long = [f"{_relative(p)} ({n})" for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not too_long


def test_only_the_engine_steps_optimisers_and_calls_backward():
    offenders = [_relative(p) for p in SOURCES if not _relative(p).startswith("engine/")
                 and re.search(r"\.backward\(|optimizer\.step\(|\.zero_grad\(", _code(p))]
    assert not offenders


def test_models_return_logits_and_import_neither_data_nor_cli():
    for path in (PACKAGE / "models").rglob("*.py"):
        assert "log_softmax" not in _code(path), _relative(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith(("rnnkit.data", "rnnkit.cli", "rnnkit.tasks")) for n in names), \
                f"{_relative(path)} imports {names}"


def test_nothing_is_unpickled_and_nothing_prints_outside_the_cli():
    for path in SOURCES:
        code = _code(path)
        assert not re.search(r"torch\.load\(|\bpickle\b|weights_only\s*=\s*False", code), _relative(path)
        if not _relative(path).startswith("cli/"):
            assert not re.search(r"(?<![\w.])print\(", code), f"print( in {_relative(path)}: use logging"


def test_cli_only_parses_and_calls_the_api():
    for path in (PACKAGE / "cli").rglob("*.py"):
        assert not re.search(r"\btorch\.", _code(path)), _relative(path)


def test_sequences_are_batch_first():
    assert not [_relative(p) for p in SOURCES if "batch_first=False" in _code(p)]


def _commands(parser, prefix=()):
    """Every (sub)command path of the parser, e.g. ("train", "lm")."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


@pytest.mark.parametrize("command", list(_commands(build_parser())), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: rnnkit" in capsys.readouterr().out
