"""Plain-text corpora for language models: reading, checking, tokenising and splitting.

A corpus is one file, several files or a directory (read recursively, in sorted path order). Every file
must be non-empty UTF-8 text; anything else is a :class:`~rnnkit.errors.DataError` naming the file and
the line of the first bad byte. With no path at all, the corpus is the Python standard library's own
source code (the ``.py`` files under ``sysconfig.get_paths()["stdlib"]``, tests and site-packages left
out, in sorted path order, capped at :data:`DEFAULT_CORPUS_CHARS` characters) -- like the lecture's
Linux-source example, it is on every machine and needs no download.

Two token levels:

* ``char``: every character is a token, the newline included.
* ``word``: whitespace-separated tokens, with ``<eos>`` closing every line (as in the usual
  Penn Treebank / WikiText setup); rare words map to ``<unk>`` (``min_freq``, ``max_size``).
"""

from __future__ import annotations

import logging
import sysconfig
from collections.abc import Iterable, Sequence
from pathlib import Path

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.data.vocab import EOS, PAD, UNK, Vocab
from rnnkit.errors import DataError

logger = logging.getLogger(__name__)

LEVELS = ("char", "word")
# About 2 MB of Python: a couple of epochs in the README's two-minute run on 2 CPU cores.
DEFAULT_CORPUS_CHARS = 2_000_000
# Folders of the standard library that are not ordinary library code (test suites hold deliberately
# odd encodings and generated data; site-packages is whatever the user installed).
_SKIPPED_STDLIB_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}


def read_text_file(path: str | Path) -> str:
    """Read one UTF-8 text file (``-`` for standard input); its lines end with ``\\n`` (CRLF becomes LF).

    Missing files, NUL bytes and bytes that are not UTF-8 are reported by
    :func:`rnnkit.data.lines.numbered_lines` with file and line; a file with no text is reported here.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        ...     _ = f.write(b"ok\\n\\xff\\n")
        >>> read_text_file(f.name)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rnnkit.errors.DataError: ...:2: not UTF-8 text (byte 0xff at column 1)
    """
    lines = [line for _, line in numbered_lines(path)]
    if not any(line.strip() for line in lines):
        raise DataError(display_name(path), "empty file (no text)" if not lines else "file holds only white space")
    return "\n".join(lines) + "\n"


def _directory_texts(directory: Path) -> list[str]:
    """All text files under ``directory`` (hidden ones skipped), in sorted path order.

    Files that are not text are skipped with a warning: a directory of notes may hold an image.
    """
    texts = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        try:
            texts.append(read_text_file(path))
        except DataError as err:
            logger.warning("skipping %s", err)
    if not texts:
        raise DataError(directory, "directory holds no non-empty UTF-8 text file")
    return texts


def read_corpus(paths: str | Path | Sequence[str | Path]) -> str:
    """Read and concatenate text files and directories, in the order given.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "b.txt").write_text("world\\n"); _ = (d / "a.txt").write_text("hello\\n")
        >>> read_corpus(d)
        'hello\\nworld\\n'
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise DataError(None, "no input files given")
    texts: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            texts.extend(_directory_texts(path))
        else:
            texts.append(read_text_file(path))
    return _join(texts)


def _join(texts: Iterable[str]) -> str:
    return "".join(texts)  # every text ends with a newline, so files never glue lines together


def stdlib_sources(max_chars: int = DEFAULT_CORPUS_CHARS) -> list[Path]:
    """The standard library's ``.py`` files that make up the default corpus, in order.

    Files are taken in sorted relative-path order until ``max_chars`` characters are reached
    (the last file is included whole), so the corpus is the same on every run of one Python version.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p
        for p in root.rglob("*.py")
        if not _SKIPPED_STDLIB_DIRS.intersection(p.relative_to(root).parts[:-1]) and p.is_file()
    )
    chosen, total = [], 0
    for path in files:
        if total >= max_chars:
            break
        chosen.append(path)
        total += path.stat().st_size
    if not chosen:
        raise DataError(root, "found no Python source files for the default corpus")
    return chosen


def default_corpus(max_chars: int = DEFAULT_CORPUS_CHARS) -> str:
    """The default training text: Python standard-library source, about ``max_chars`` characters."""
    texts = []
    for path in stdlib_sources(max_chars):
        try:
            texts.append(read_text_file(path))
        except DataError as err:  # an odd file in a patched stdlib must not stop the README's demo
            logger.warning("default corpus: skipping %s", err)
    text = _join(texts)
    logger.info("default corpus: %d characters of Python standard-library source", len(text))
    return text


def tokenize(text: str, level: str) -> list[str]:
    """Split ``text`` into tokens: characters, or whitespace words with ``<eos>`` at each line end.

    Example:
        >>> tokenize("ab\\n", "char")
        ['a', 'b', '\\n']
        >>> tokenize("the cat\\n\\nsat", "word")
        ['the', 'cat', '<eos>', '<eos>', 'sat', '<eos>']
    """
    check_level(level)
    if level == "char":
        return list(text)
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def detokenize(tokens: Iterable[str], level: str) -> str:
    """The inverse of :func:`tokenize` (word level: single spaces, ``<eos>`` as a newline).

    Example:
        >>> detokenize(["the", "cat", "<eos>", "sat"], "word")
        'the cat\\nsat'
    """
    check_level(level)
    if level == "char":
        return "".join(tokens)
    out: list[str] = []
    for token in tokens:
        if token == EOS:
            out.append("\n")
        else:
            if out and out[-1] != "\n":
                out.append(" ")
            out.append(token)
    return "".join(out)


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")


def build_vocab(tokens: Sequence[str], level: str, min_freq: int = 1, max_size: int | None = None) -> Vocab:
    """The vocabulary of a token list: ``<pad>``, ``<unk>`` (and ``<eos>`` for words), then by frequency.

    Characters keep an ``<unk>`` too, so a dev text with a character never seen in training can still
    be scored (it costs what the model gives ``<unk>``); a generation prime must not contain one.

    Example:
        >>> build_vocab(list("abca"), "char").symbols
        ['<pad>', '<unk>', 'a', 'b', 'c']
    """
    check_level(level)
    specials = (PAD, UNK) if level == "char" else (PAD, UNK, EOS)
    return Vocab.build([tokens], tokenize=lambda t: t, specials=specials, min_freq=min_freq, max_size=max_size)


def split_tokens(tokens: Sequence[str], valid_fraction: float) -> tuple[Sequence[str], Sequence[str]]:
    """Cut a token list into (train, validation): the validation part is the last ``valid_fraction``.

    For characters this is the usual cut at character ``int(n·(1 − f))`` (nanoGPT's tiny-shakespeare
    split with f = 0.1).

    Example:
        >>> split_tokens(list("abcdefghij"), 0.2)
        (['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], ['i', 'j'])
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    cut = int(len(tokens) * (1.0 - valid_fraction))
    if cut < 2 or len(tokens) - cut < 2:
        raise DataError(None, f"text too short ({len(tokens)} tokens) to hold out a validation fraction")
    return tokens[:cut], tokens[cut:]
