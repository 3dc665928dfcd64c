"""Entity tag schemes (IOB1, BIO, BIOES), conversion between them, and span extraction.

* IOB1 (CoNLL-2003's original files): ``I-X`` inside a span; ``B-X`` only where a span directly follows
  another span of the same type.
* BIO = IOB2: ``B-X`` begins every span, ``I-X`` continues it.
* BIOES = IOBES: ``S-X`` a one-token span, ``B-X`` … ``E-X`` a longer one.

Spans are read the conlleval way (Tjong Kim Sang 2000), so that the span scores of
:mod:`rnnkit.metrics.tagging` equal seqeval's default mode: an ``I-X`` after ``O`` or after another type
starts a span rather than being dropped, and a change of type ends one.
"""

from __future__ import annotations

from collections.abc import Sequence

SCHEMES = ("iob1", "bio", "bioes")
OUTSIDE = "O"


def _split(tag: str) -> tuple[str, str]:
    """(prefix, type) as conlleval reads a tag: ``B-PER`` → ("B", "PER"), ``O`` → ("O", "_")."""
    return tag[0] if tag else OUTSIDE, tag[1:].split("-", maxsplit=1)[-1] or "_"


def _ends(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and tag in ("B", "S", OUTSIDE):
        return True
    return prev not in (OUTSIDE, ".") and prev_type != type_


def _starts(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev in ("E", "S", OUTSIDE) and tag in ("E", "I"):
        return True
    return tag not in (OUTSIDE, ".") and prev_type != type_


def spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The labelled spans ``(type, first, last)`` (inclusive token indices) of one tag sequence.

    Works for IOB1, BIO and BIOES alike.

    Example:
        >>> spans(["B-PER", "I-PER", "O", "I-LOC", "S-ORG", "B-MISC", "E-MISC"])
        [('PER', 0, 1), ('LOC', 3, 3), ('ORG', 4, 4), ('MISC', 5, 6)]
    """
    found: list[tuple[str, int, int]] = []
    prev, prev_type, begin = OUTSIDE, "", 0
    for i, tag in enumerate([*tags, OUTSIDE]):
        prefix, type_ = _split(tag)
        if _ends(prev, prev_type, prefix, type_):
            found.append((prev_type, begin, i - 1))
        if _starts(prev, prev_type, prefix, type_):
            begin = i
        prev, prev_type = prefix, type_
    return found


def from_spans(spans_: Sequence[tuple[str, int, int]], length: int, scheme: str = "bio") -> list[str]:
    """The tag sequence of ``length`` tokens that holds exactly ``spans_`` in ``scheme``.

    Example:
        >>> from_spans([("PER", 0, 1), ("PER", 2, 2)], 4, "iob1")
        ['I-PER', 'I-PER', 'B-PER', 'O']
        >>> from_spans([("PER", 0, 1), ("LOC", 3, 3)], 4, "bioes")
        ['B-PER', 'E-PER', 'O', 'S-LOC']
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    tags = [OUTSIDE] * length
    last_end, last_type = -2, None
    for type_, first, last in sorted(spans_, key=lambda s: s[1]):
        for i in range(first, last + 1):
            tags[i] = f"I-{type_}"
        if scheme == "bio":
            tags[first] = f"B-{type_}"
        elif scheme == "bioes":
            tags[first] = f"S-{type_}" if first == last else f"B-{type_}"
            if last > first:
                tags[last] = f"E-{type_}"
        elif last_end == first - 1 and last_type == type_:  # iob1: B- only between touching same-type spans
            tags[first] = f"B-{type_}"
        last_end, last_type = last, type_
    return tags


def convert(tags: Sequence[str], target: str) -> list[str]:
    """Re-tag one sequence (IOB1, BIO or BIOES) in the ``target`` scheme, keeping its spans.

    Example:
        >>> convert(["I-ORG", "O", "I-PER", "I-PER"], "bio")
        ['B-ORG', 'O', 'B-PER', 'I-PER']
        >>> convert(["B-ORG", "O", "B-PER", "I-PER"], "bioes")
        ['S-ORG', 'O', 'B-PER', 'E-PER']
    """
    return from_spans(spans(tags), len(tags), target)


def detect(tag_set: Sequence[str]) -> str | None:
    """The entity scheme a set of tags is written in, or None if they are not entity tags (e.g. POS).

    Example:
        >>> detect(["O", "B-PER", "I-PER"]), detect(["O", "S-LOC"]), detect(["NOUN", "VERB"])
        ('bio', 'bioes', None)
    """
    prefixes = {tag.split("-", 1)[0] for tag in tag_set if tag != OUTSIDE}
    if not prefixes or not all("-" in tag for tag in tag_set if tag != OUTSIDE):
        return None
    if not prefixes <= {"B", "I", "E", "S"}:
        return None
    if prefixes & {"E", "S"}:
        return "bioes"
    return "bio" if "B" in prefixes else "iob1"
