"""Label + text readers for sequence classification (sentiment and the like), streamed line by line.

Formats:

* ``sst``: ``label sentence`` on each line, the label the first white-space separated field (the SST-2
  files of Kim 2014 / SentEval: ``1 a gorgeous , witty film``).
* ``tsv`` / ``csv``: a header row naming the fields, then one example a row.
* ``jsonl``: one JSON object a line (IMDB here: ``{"label": "pos", "text": "..."}``).
* ``text``: unlabelled, one text a line (input to ``rnnkit classify``).

``auto`` picks the format from the file name (``.jsonl``, ``.tsv``, ``.csv``, else ``sst``). Texts are
tokenised by white space (``split``, for pre-tokenised corpora such as SST) or into words and
punctuation (``words``: runs of word characters and single symbols, the ``regex`` tokeniser of
:mod:`rnnkit.data.tokenizers`, for raw text such as IMDB reviews, whose ``<br />`` line breaks are
dropped). An empty text, a missing field or a line that is not valid JSON is a DataError naming the file and line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.lines import display_name, numbered_lines
from rnnkit.data.tokenizers import RegexTokenizer
from rnnkit.errors import DataError

FORMATS = ("auto", "sst", "tsv", "csv", "jsonl", "text")
TOKENIZERS = ("split", "words")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass
class LabelledText:
    """One example: its tokens, its label (None if unlabelled) and where it came from."""

    tokens: list[str]
    label: str | None
    path: str = "<input>"
    line: int | None = None


def tokenize(text: str, tokenizer: str = "split", lowercase: bool = False) -> list[str]:
    """Split ``text`` into tokens.

    Example:
        >>> tokenize("It's great!<br />Loved it.", "words", lowercase=True)
        ['it', "'", 's', 'great', '!', 'loved', 'it', '.']
        >>> tokenize("a  b c")
        ['a', 'b', 'c']
    """
    if lowercase:
        text = text.lower()
    if tokenizer == "split":
        return text.split()
    if tokenizer == "words":
        return RegexTokenizer().encode(_BREAK.sub(" ", text))
    raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")


def resolve_format(path: str | Path, fmt: str) -> str:
    """The concrete format for ``auto``, from the file's suffix.

    Example:
        >>> resolve_format("imdb/train.jsonl", "auto"), resolve_format("stsa.binary.train", "auto")
        ('jsonl', 'sst')
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    suffix = Path(str(path)).suffix.lower()
    return {".jsonl": "jsonl", ".tsv": "tsv", ".csv": "csv"}.get(suffix, "sst")


def read_labelled(
    path: str | Path,
    fmt: str = "auto",
    label_field: str = "label",
    text_field: str = "text",
    tokenizer: str = "split",
    lowercase: bool = False,
) -> Iterator[LabelledText]:
    """Yield the examples of ``path`` (``-`` for standard input); see the module docstring for formats.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        ...     _ = f.write('{"label": "pos", "text": "Fine film."}\\n{"label": "neg"}\\n')
        >>> examples = read_labelled(f.name, tokenizer="words")
        >>> first = next(examples)
        >>> first.tokens, first.label, first.line
        (['Fine', 'film', '.'], 'pos', 1)
        >>> next(examples)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rnnkit.errors.DataError: ...:2: no field 'text' in the JSON object
        >>> os.remove(f.name)
    """
    fmt = resolve_format(path, fmt)
    name = display_name(path)
    if fmt in ("tsv", "csv"):
        raw = _delimited(path, name, "\t" if fmt == "tsv" else ",", label_field, text_field)
    elif fmt == "jsonl":
        raw = _jsonl(path, name, label_field, text_field)
    else:
        raw = _lines(path, name, labelled=fmt == "sst")
    for number, label, text in raw:
        tokens = tokenize(text, tokenizer, lowercase)
        if not tokens:
            raise DataError(name, "empty text (no tokens)", line=number)
        yield LabelledText(tokens, label, name, number)


def _lines(path, name: str, labelled: bool) -> Iterator[tuple[int, str | None, str]]:
    for number, line in numbered_lines(path):
        if not labelled:
            yield number, None, line
            continue
        parts = line.strip().split(maxsplit=1)
        if not parts:
            raise DataError(name, "empty line (expected 'label sentence')", line=number)
        if len(parts) == 1:
            raise DataError(name, f"label {parts[0]!r} but no sentence (expected 'label sentence')", line=number)
        yield number, parts[0], parts[1]


def _jsonl(path, name: str, label_field: str, text_field: str) -> Iterator[tuple[int, str | None, str]]:
    for number, line in numbered_lines(path):
        if not line.strip():
            raise DataError(name, "empty line (expected a JSON object)", line=number)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(name, f"not valid JSON ({err.msg} at column {err.colno})", line=number) from None
        if not isinstance(record, dict):
            raise DataError(name, "expected a JSON object", line=number)
        yield number, _field(record, label_field, name, number, required=False), _field(
            record, text_field, name, number, required=True
        )


def _field(record: dict, key: str, name: str, number: int, required: bool) -> str | None:
    if key not in record:
        if required:
            raise DataError(name, f"no field {key!r} in the JSON object", line=number)
        return None
    value = record[key]
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise DataError(name, f"field {key!r} must be a string or an integer", line=number)
    return str(value)


def _delimited(path, name: str, delimiter: str, label_field: str, text_field: str):
    lines = numbered_lines(path)
    numbers: list[int] = []

    def texts() -> Iterator[str]:  # feeds csv while remembering line numbers
        for number, line in lines:
            numbers.append(number)
            yield line

    reader = csv.reader(texts(), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(name, "empty file (expected a header row)", line=1) from None
    if text_field not in header:
        raise DataError(name, f"no column {text_field!r} in the header {header}", line=1)
    text_at = header.index(text_field)
    label_at = header.index(label_field) if label_field in header else None
    for row in reader:
        number = numbers[-1]
        if len(row) != len(header):
            raise DataError(name, f"expected {len(header)} fields (as in the header), found {len(row)}", number)
        yield number, None if label_at is None else row[label_at], row[text_at]
