"""CoNLL-U reader (Universal Dependencies): tokens and their UPOS or XPOS tags, streamed sentence by sentence.

Format (https://universaldependencies.org/format.html): one word a line with 10 tab-separated columns
ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC; ``#`` comment lines; a blank line ends a sentence.
Multi-word token lines (ID ``1-2``, e.g. English "don't" over the words "do" "n't") and empty nodes
(ID ``1.1``, enhanced dependencies) are kept in the sentence's lines for writing back but are not tagged:
the tagger sees the syntactic words, as UD's own POS scores do. Anything malformed is a DataError naming
the file and line; nothing is skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.data.tagged_sentence import TaggedSentence
from rnnkit.errors import DataError

COLUMNS = {"upos": 3, "xpos": 4, "feats": 5}
OPTIONAL = {"feats"}  # columns where "_" is a value (no features), not a missing tag
_RANGE = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")
_EMPTY_NODE = re.compile(r"^[0-9]+\.[1-9][0-9]*$")


def read_conllu(
    path: str | Path, column: str = "upos", labelled: bool = True, aux: Sequence[str] = ()
) -> Iterator[TaggedSentence]:
    """Yield the sentences of a CoNLL-U file (``-`` for standard input).

    Args:
        path: the file.
        column: ``upos``, ``xpos`` or ``feats`` (the whole FEATS string, ``_`` for none), the tag column.
        labelled: if True every word must have a tag (not ``_``, except in FEATS); if False tags are read
            where present and the sentence's ``tags`` is None (input to tag).
        aux: more columns of the same names to read into each sentence's ``aux``, each as ``column`` is
            when labelled (for a tagger's auxiliary tasks).

    Example:
        >>> import tempfile, os
        >>> rows = ["# text = Don't", "1-2 Don't _ _ _ _ _ _ _ _", "1 Do do AUX VBP _ 0 root _ _",
        ...         "2 n't not PART RB _ 1 advmod _ _"]
        >>> text = "".join(row.replace(" ", "\\t") + "\\n" for row in rows) + "\\n"
        >>> with tempfile.NamedTemporaryFile("w", suffix=".conllu", delete=False) as f:
        ...     _ = f.write(text)
        >>> [(s.tokens, s.tags) for s in read_conllu(f.name)]
        [(['Do', "n't"], ['AUX', 'PART'])]
        >>> os.remove(f.name)
    """
    for wanted in (column, *aux):  # checked now, not at the first sentence
        if wanted not in COLUMNS:
            raise ValueError(f"column must be one of {', '.join(COLUMNS)} in CoNLL-U, got {wanted!r}")
    return _sentences(path, column, labelled, aux)


def _sentences(path: str | Path, column: str, labelled: bool, aux: Sequence[str]) -> Iterator[TaggedSentence]:
    """``read_conllu``'s sentences, its arguments checked."""
    index = COLUMNS[column]
    name = display_name(path)
    lines: list[str] = []
    tokens: list[str] = []
    tags: list[str] = []
    aux_tags: dict[str, list[str]] = {a: [] for a in aux}
    token_lines: list[int] = []
    rows: list[int] = []
    number = 0
    for number, line in numbered_lines(path):
        if not line.strip():
            if tokens:
                yield _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux_tags)
            elif lines:
                raise DataError(name, "sentence has no words (only comments or multi-word lines)", line=number)
            lines, tokens, tags, token_lines, rows = [], [], [], [], []
            aux_tags = {a: [] for a in aux}
            continue
        lines.append(line)
        if line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 10:
            raise DataError(name, f"expected 10 tab-separated columns, found {len(cells)}", line=number)
        word_id = cells[0]
        if _RANGE.match(word_id) or _EMPTY_NODE.match(word_id):
            continue  # kept in `lines` for writing back, not tagged (see module docstring)
        if not word_id.isdigit():
            raise DataError(name, f"bad word ID {word_id!r} (expected 1, 2, ..., a range 1-2 or 1.1)", number)
        if int(word_id) != len(tokens) + 1:
            raise DataError(
                name, f"word ID {word_id} out of order (expected {len(tokens) + 1}; missing blank line?)", number
            )
        if labelled:
            _check_tag(cells, column, name, number)
        for wanted, values in aux_tags.items():
            values.append(_check_tag(cells, wanted, name, number))
        tokens.append(cells[1])
        tags.append(cells[index])
        token_lines.append(number)
        rows.append(len(lines) - 1)
    if tokens:
        yield _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux_tags)
    elif lines:
        raise DataError(name, "file ends with comments but no words (a truncated sentence?)", line=number)


def _check_tag(cells: list[str], column: str, name: str, number: int) -> str:
    """The word's tag in ``column``; a DataError if it has none (``_``; in FEATS ``_`` is a value)."""
    index = COLUMNS[column]
    tag = cells[index]
    if tag == "" or (tag == "_" and column not in OPTIONAL):
        raise DataError(name, f"word {cells[0]} has no {column.upper()} tag (column {index + 1} is "
                        f"'{tag or '_'}')", number)
    return tag


def _sentence(tokens, tags, labelled, name, token_lines, lines, rows, index, aux) -> TaggedSentence:
    return TaggedSentence(tokens, tags if labelled else None, name, token_lines, lines, rows, index, "conllu", aux)
