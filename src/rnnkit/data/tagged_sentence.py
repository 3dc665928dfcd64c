"""A sentence of tokens with one tag each, as read from a file, and how to write it back with new tags.

Readers (:mod:`rnnkit.data.conllu_reader`, :mod:`rnnkit.data.conll_reader`, :func:`read_plain` here) keep
the sentence's own lines, so that ``rnnkit tag`` can write the input back unchanged except for the
predicted column: comments, multi-word tokens, empty nodes and ``-DOCSTART-`` lines survive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.errors import DataError

FORMATS = ("conllu", "conll", "text")


@dataclass
class TaggedSentence:
    """Tokens, their tags (None where the input holds none) and the lines they came from.

    Attributes:
        tokens: the words, in order.
        tags: one tag per token, or None for unlabelled input.
        path: the file name used in messages.
        token_lines: the line number of each token (for messages).
        lines: every line of the sentence verbatim (comments, multi-word tokens, ...), no blank end line.
        token_rows: for each token, its index in ``lines``.
        column: the 0-based column that holds (or will hold) the tag; -1 for plain text.
        format: one of ``FORMATS``.
        aux: the tags of other columns read with it, by column name (``aux=`` of the readers), e.g.
            ``{"xpos": [...]}``: a tagger's auxiliary tasks (``Tagger(aux_columns=...)``).
    """

    tokens: list[str]
    tags: list[str] | None
    path: str = "<input>"
    token_lines: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    token_rows: list[int] = field(default_factory=list)
    column: int = -1
    format: str = "text"
    aux: dict[str, list[str]] = field(default_factory=dict)

    @property
    def line(self) -> int | None:
        """The line of the first token (None for sentences built in memory)."""
        return self.token_lines[0] if self.token_lines else None

    def render(self, tags: Sequence[str]) -> str:
        """The sentence in its own format with ``tags`` in the tag column (no trailing blank line).

        Plain text becomes ``token/TAG`` pairs separated by spaces, one sentence a line.

        Example:
            >>> s = TaggedSentence(["a", "dog"], None, lines=["a dog"], token_rows=[0, 0])
            >>> s.render(["DET", "NOUN"])
            'a/DET dog/NOUN'
            >>> s = TaggedSentence(["EU"], None, lines=["EU NNP"], token_rows=[0], column=3, format="conll")
            >>> s.render(["B-ORG"])
            'EU NNP _ B-ORG'
        """
        if len(tags) != len(self.tokens):
            raise ValueError(f"{len(self.tokens)} tokens but {len(tags)} tags")
        if self.format == "text":
            return " ".join(f"{token}/{tag}" for token, tag in zip(self.tokens, tags, strict=True))
        lines = list(self.lines)
        for row, tag in zip(self.token_rows, tags, strict=True):
            lines[row] = _set_column(lines[row], self.column, tag)
        return "\n".join(lines)


def _set_column(line: str, column: int, value: str) -> str:
    separator = "\t" if "\t" in line else " "
    cells = line.split(separator)
    # Unlabelled CoNLL input may stop before the tag column: pad with the CoNLL "no value" mark.
    cells.extend("_" for _ in range(column + 1 - len(cells)))
    cells[column] = value
    return separator.join(cells)


def read_plain(path: str | Path) -> Iterator[TaggedSentence]:
    """Raw text to tag: one sentence a line, tokens separated by white space.

    An empty line gives a sentence with no tokens (written back as an empty line, so output lines stay
    aligned with input lines).
    """
    name = display_name(path)
    for number, text in numbered_lines(path):
        tokens = text.split()
        yield TaggedSentence(
            tokens, None, name, [number] * len(tokens), [text], [0] * len(tokens), -1, "text"
        )


def check_tags(sentence: TaggedSentence) -> list[str]:
    """The sentence's tags, or a DataError naming its file and line if it has none."""
    if sentence.tags is None:
        raise DataError(sentence.path, "sentence has no tags", line=sentence.line)
    return sentence.tags
