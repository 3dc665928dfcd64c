"""Numbered UTF-8 lines from a file or from standard input, read lazily (for streaming readers).

Every reader of line-based formats (CoNLL-U, CoNLL-2003, label+text, raw text to tag) goes through
:func:`numbered_lines`, so a missing file, a directory or a byte that is not UTF-8 is reported the same
way everywhere: one :class:`~rnnkit.errors.DataError` naming the file and the line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from rnnkit.errors import DataError

STDIN = "-"


def display_name(path: str | Path) -> str:
    """The name used in messages: ``<stdin>`` for ``-``, else the path as given."""
    return "<stdin>" if str(path) == STDIN else str(path)


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` pairs (numbers from 1, line endings removed) of ``path``.

    ``path`` may be ``-`` for standard input. Lines are decoded one at a time, so a large file or a
    pipe is never held in memory whole. A leading byte-order mark is dropped.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        ...     _ = f.write(b"a b\\r\\nc\\n\\xff\\n")
        >>> lines = numbered_lines(f.name)
        >>> next(lines), next(lines)
        ((1, 'a b'), (2, 'c'))
        >>> next(lines)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rnnkit.errors.DataError: ...:3: not UTF-8 text (byte 0xff at column 1)
        >>> os.remove(f.name)
    """
    name = display_name(path)
    if str(path) == STDIN:
        yield from _decoded(sys.stdin.buffer, name)
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 -- closed by the with-block below
    except FileNotFoundError:
        raise DataError(name, "no such file") from None
    except IsADirectoryError:
        raise DataError(name, "is a directory, expected a file") from None
    except OSError as err:
        raise DataError(name, f"cannot read: {err.strerror}") from None
    with handle:
        yield from _decoded(handle, name)


def _decoded(handle, name: str) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(handle, start=1):
        if b"\x00" in raw:
            raise DataError(name, "binary file (contains NUL bytes), not text", line=number)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                name, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column {err.start + 1})", line=number
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        yield number, line.rstrip("\r\n")
