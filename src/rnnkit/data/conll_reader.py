"""CoNLL-2003 reader: white-space separated columns (token POS chunk NER), blank-line sentence breaks.

Tjong Kim Sang & De Meulder (2003). ``-DOCSTART-`` lines separate documents; they are not sentences but
are kept in the next sentence's lines so that ``rnnkit tag`` writes them back. Every token line of a file
must have the same number of columns as its first one; a short line or a missing tag column is a
DataError naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.data.tagged_sentence import TaggedSentence
from rnnkit.errors import DataError

# Named columns of CoNLL-2003 (0-based); any other column is given by its 1-based number.
COLUMNS = {"pos": 1, "chunk": 2, "ner": 3}
DOCSTART = "-DOCSTART-"


def column_index(column: str | int) -> int:
    """The 0-based index of a named column (``pos``, ``chunk``, ``ner``) or of a 1-based number.

    Example:
        >>> column_index("ner"), column_index("2"), column_index(5)
        (3, 1, 4)
    """
    if isinstance(column, str) and column in COLUMNS:
        return COLUMNS[column]
    try:
        number = int(column)
    except ValueError:
        raise ValueError(f"column must be one of {sorted(COLUMNS)} or a number >= 2, got {column!r}") from None
    if number < 2:
        raise ValueError(f"column 1 holds the tokens; the tag column must be >= 2, got {number}")
    return number - 1


def read_conll(
    path: str | Path, column: str | int = "ner", labelled: bool = True, aux: Sequence[str] = ()
) -> Iterator[TaggedSentence]:
    """Yield the sentences of a CoNLL-2003 style file (``-`` for standard input).

    Args:
        path: the file.
        column: ``pos``, ``chunk``, ``ner`` or a 1-based column number, the tag column.
        labelled: if True every token line must have the tag column; if False only the token is needed
            (input to tag) and the sentence's ``tags`` is None.
        aux: more columns (names or numbers) to read into each sentence's ``aux``, each required on every
            token line (for a tagger's auxiliary tasks).

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("-DOCSTART- -X- -X- O\\n\\nEU NNP B-NP B-ORG\\nrejects VBZ B-VP O\\n\\n")
        >>> [(s.tokens, s.tags) for s in read_conll(f.name)]
        [(['EU', 'rejects'], ['B-ORG', 'O'])]
        >>> os.remove(f.name)
    """
    index = column_index(column)  # checked now, not at the first sentence
    aux_index = {str(a): column_index(a) for a in aux}
    return _sentences(path, index, labelled, aux_index)


def _sentences(path: str | Path, index: int, labelled: bool, aux_index: dict[str, int]) -> Iterator[TaggedSentence]:
    """``read_conll``'s sentences, its columns resolved to 0-based indices."""
    needed = ([index] if labelled else []) + list(aux_index.values())  # columns every token line must have
    name = display_name(path)
    width: int | None = None  # columns on the first token line, and where it was
    width_line = 0
    lines: list[str] = []
    tokens: list[str] = []
    tags: list[str] = []
    aux_tags: dict[str, list[str]] = {a: [] for a in aux_index}
    token_lines: list[int] = []
    rows: list[int] = []
    for number, line in numbered_lines(path):
        cells = line.split()
        if not cells:
            if tokens:
                yield _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux_tags)
                lines, tokens, tags, token_lines, rows = [], [], [], [], []
                aux_tags = {a: [] for a in aux_index}
            elif lines:
                lines.append("")  # the blank line after -DOCSTART-
            continue
        if cells[0] == DOCSTART:
            lines.append(line)
            continue
        if width is None:
            width, width_line = len(cells), number
        for wanted in needed:
            if len(cells) <= wanted:
                raise DataError(
                    name, f"no tag in column {wanted + 1}: the line has {len(cells)} column(s)", line=number
                )
        if len(cells) != width:
            raise DataError(
                name, f"expected {width} columns (as on line {width_line}), found {len(cells)}", line=number
            )
        lines.append(line)
        tokens.append(cells[0])
        tags.append(cells[index] if len(cells) > index else "")
        for wanted, values in aux_tags.items():
            values.append(cells[aux_index[wanted]])
        token_lines.append(number)
        rows.append(len(lines) - 1)
    if tokens:
        yield _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux_tags)


def _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux) -> TaggedSentence:
    return TaggedSentence(tokens, tags if labelled else None, name, token_lines, lines, rows, index, "conll", aux)
