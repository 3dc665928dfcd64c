"""Parallel text for translation: reading sentence pairs and filtering them for training.

Two formats:

- two line-aligned files, source and target, plain text or gzip (``.gz``): line n of one translates
  line n of the other. Files of different line counts are an error naming the first line that has no
  partner.
- one tab-separated file (Tatoeba / Anki export style): ``source<TAB>target[<TAB>extra...]``; extra
  columns (attribution, ids) are ignored. ``reverse=True`` swaps the columns, so one file gives both
  directions.

Empty lines: a pair with an empty side carries nothing to learn, so ``read_*`` drop such pairs and
count them (the caller logs how many); ``read_lines`` keeps them, so ``rnnkit translate`` can answer
an empty input line with an empty output line and stay line-aligned.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.lines import _decoded, numbered_lines
from rnnkit.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class ParallelText:
    """Sentence pairs with the 1-based line each came from (for error messages), and what was dropped."""

    source: list[str] = field(default_factory=list)
    target: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)  # lines dropped because one side was empty

    def __len__(self) -> int:
        return len(self.source)

    def add(self, src: str, tgt: str, line: int) -> None:
        if src.strip() and tgt.strip():
            self.source.append(src.strip())
            self.target.append(tgt.strip())
            self.lines.append(line)
        else:
            self.empty.append(line)

    def log_dropped(self, what: str) -> None:
        if self.empty:
            log.warning(
                "%s: skipped %d pair(s) with an empty side (first at line %d)", what, len(self.empty), self.empty[0]
            )


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line) from a UTF-8 text file, ``-`` (standard input) or a gzip file.

    Plain files and standard input go through :func:`rnnkit.data.lines.numbered_lines`; a ``.gz`` file
    is decompressed on the fly and decoded the same way, one line at a time.
    """
    if not str(path).endswith(".gz"):
        yield from numbered_lines(path)
        return
    if not Path(path).is_file():
        raise DataError(path, "no such file")
    number = 0
    try:
        with gzip.open(path, "rb") as handle:
            for number, line in _decoded(handle, str(path)):
                yield number, line
    except (OSError, EOFError) as err:  # not gzip, or truncated
        raise DataError(path, f"cannot decompress: {err}", line=number + 1) from None


def read_lines(path: str | Path) -> list[str]:
    """All lines of a text file (plain, gzip or ``-`` for standard input), empty ones included."""
    return [line for _, line in iter_lines(path)]


def aligned_lines(source: str | Path, target: str | Path) -> Iterator[tuple[int, str, str]]:
    """Yield (line number, source line, target line) of two line-aligned files, empty lines included.

    Raises DataError at the first line that one file has and the other lacks.
    """
    src_lines, tgt_lines = iter_lines(source), iter_lines(target)
    while True:
        src, tgt = next(src_lines, None), next(tgt_lines, None)
        if src is None and tgt is None:
            return
        if src is None or tgt is None:
            longer, shorter, (line, _) = (target, source, tgt) if src is None else (source, target, src)
            raise DataError(
                longer, f"has a line {line} but {shorter} ends after line {line - 1} (files must be line-aligned)",
                line=line,
            )
        yield src[0], src[1], tgt[1]


def read_parallel(source: str | Path, target: str | Path) -> ParallelText:
    """Read two line-aligned files into sentence pairs, dropping (and counting) pairs with an empty side."""
    pairs = ParallelText()
    for number, src, tgt in aligned_lines(source, target):
        pairs.add(src, tgt, number)
    if not pairs:
        raise DataError(source, "no sentence pairs (files are empty or every pair has an empty side)")
    return pairs


def read_tsv(path: str | Path, reverse: bool = False) -> ParallelText:
    """Read ``source<TAB>target[<TAB>...]`` lines; ``reverse`` takes the second column as the source."""
    pairs = ParallelText()
    for number, line in iter_lines(path):
        if not line.strip():
            pairs.empty.append(number)
            continue
        columns = line.split("\t")
        if len(columns) < 2:
            raise DataError(path, "expected 'source<TAB>target', found no tab", line=number)
        src, tgt = (columns[1], columns[0]) if reverse else (columns[0], columns[1])
        pairs.add(src, tgt, number)
    if not pairs:
        raise DataError(path, "no sentence pairs (file is empty or every pair has an empty side)")
    return pairs


def keep_for_training(
    src_lengths: Sequence[int], tgt_lengths: Sequence[int], max_length: int, max_ratio: float
) -> list[int]:
    """Indices of the pairs that pass the length and length-ratio filters (in tokens).

    A pair is kept when both sides have at most ``max_length`` tokens and the longer side is at most
    ``max_ratio`` times the shorter one (misaligned pairs often fail this).

    Example:
        >>> keep_for_training([3, 50, 2], [4, 5, 20], max_length=30, max_ratio=3.0)
        [0]
    """
    kept = []
    for i, (s, t) in enumerate(zip(src_lengths, tgt_lengths, strict=True)):
        if 1 <= s <= max_length and 1 <= t <= max_length and max(s, t) <= max_ratio * min(s, t):
            kept.append(i)
    return kept
