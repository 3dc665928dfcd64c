"""Vocabularies: symbols <-> integer ids, with the special symbols every task shares.

Ids 0.. hold the specials in a fixed order (``<pad>`` is always 0, so padded positions are id 0), then the
symbols by descending frequency (ties broken by first appearance, so a vocabulary is deterministic).
A vocabulary is saved as JSON inside a checkpoint; it is never pickled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rnnkit.errors import CheckpointError

PAD, UNK, EOS, BOS = "<pad>", "<unk>", "<eos>", "<bos>"


class Vocab:
    """An ordered list of symbols (characters, words, tags or labels) and its inverse map.

    Args:
        symbols: the symbols in id order, specials included.
        unk: the symbol that unknown symbols map to, or None to make an unknown symbol an error.

    Example:
        >>> v = Vocab.build(["a b a", "c a"], tokenize=str.split, specials=(PAD, UNK))
        >>> v.encode("a c z".split())
        [2, 4, 1]
        >>> v.decode([2, 4])
        ['a', 'c']
    """

    def __init__(self, symbols: Sequence[str], unk: str | None = UNK) -> None:
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        if len(self.index) != len(self.symbols):
            raise ValueError("vocabulary symbols must be unique")
        if unk is not None and unk not in self.index:
            raise ValueError(f"unknown-symbol {unk!r} is not in the vocabulary")
        self.unk = unk

    @classmethod
    def build(
        cls,
        texts: Iterable,
        tokenize=list,
        specials: Sequence[str] = (PAD, UNK, EOS),
        min_freq: int = 1,
        max_size: int | None = None,
        unk: str | None = UNK,
    ) -> Vocab:
        """Count the symbols of ``tokenize(text)`` for every text and keep the frequent ones.

        ``max_size`` counts the specials too; symbols below ``min_freq`` map to ``unk``.
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenize(text))
        for s in specials:
            counts.pop(s, None)
        # Counter.most_common is stable for ties (insertion order), which keeps builds deterministic.
        kept = [s for s, n in counts.most_common() if n >= min_freq]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(specials))]
        return cls([*specials, *kept], unk=unk if unk in specials else None)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.index

    def __getitem__(self, symbol: str) -> int:
        return self.index[symbol]

    @property
    def pad_id(self) -> int:
        return self.index[PAD]

    def id(self, symbol: str) -> int:
        """The id of ``symbol``; unknown symbols map to ``unk`` (KeyError if there is none)."""
        found = self.index.get(symbol)
        if found is not None:
            return found
        if self.unk is None:
            raise KeyError(symbol)
        return self.index[self.unk]

    def encode(self, symbols: Iterable[str]) -> list[int]:
        return [self.id(s) for s in symbols]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.symbols[int(i)] for i in ids]

    def unknown(self, symbols: Iterable[str]) -> list[str]:
        """The distinct symbols of ``symbols`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(s for s in symbols if s not in self.index))

    def to_json(self) -> dict:
        return {"symbols": self.symbols, "unk": self.unk}

    @classmethod
    def from_json(cls, data: dict) -> Vocab:
        try:
            return cls(data["symbols"], unk=data["unk"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"malformed vocabulary in checkpoint: {err}") from err

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.symbols == other.symbols and self.unk == other.unk

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, unk={self.unk!r})"
