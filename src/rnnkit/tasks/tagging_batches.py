"""From tagged sentences to the tensors of :class:`~rnnkit.models.tagger.BiRNNTagger`: vocabularies,
ids, and batches in which each distinct word's characters are encoded once.

A batch of B sentences with U distinct words carries the word ids (B, T), the characters of the U words
(U, C) and, for every position, the row of its word in that table (B, T). Frequent words ("the", ",")
appear many times in a batch but are spelled out by the character Bi-RNN only once. A tagger with
character-LM features (:mod:`rnnkit.models.char_lm_features`) also gets, per LM, each sentence's string
as that LM's character ids (B, L) and the position of every word's boundary state (B, T), built from the
batch's sentences only when the LMs must run (:meth:`TaggingEncoder.lm_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from rnnkit.data.batching import pad
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.tasks.char_lm_context import LMInputs, lm_inputs


@dataclass
class TaggingBatch:
    """Tensors for one batch (see the module docstring); ``tags`` is None for prediction.

    ``indices`` are the sentences' positions in the list the batch was made from.
    """

    words: torch.Tensor  # (B, T)
    lengths: torch.Tensor  # (B,)
    chars: torch.Tensor  # (U, C)
    char_lengths: torch.Tensor  # (U,)
    char_index: torch.Tensor  # (B, T)
    tags: torch.Tensor | None  # (B, T), 0 at padding (masked by lengths)
    indices: list[int]
    sentences: Sequence[Sequence[str]]  # the words, for the character LMs' inputs (TaggingEncoder.lm_inputs)
    aux: dict[str, torch.Tensor] = field(default_factory=dict)  # column → (B, T) auxiliary tag ids (training)

    def inputs(self) -> tuple[torch.Tensor, ...]:
        """The model's positional inputs."""
        return self.words, self.lengths, self.chars, self.char_lengths, self.char_index


class TaggingEncoder:
    """The word, character and tag vocabularies of a tagger, and the batches they make.

    Args:
        words: word vocabulary (``<pad>`` 0, ``<unk>`` 1).
        chars: character vocabulary (``<pad>`` 0, ``<unk>`` 1).
        tags: tag vocabulary (no specials: every id is a real tag).
        lowercase: look words up in lower case (characters keep their case).
        lm_chars, lm_directions: the character vocabulary and the direction ("forward", "backward") of each
            character LM whose states the tagger reads (default: none).
        aux: the tag vocabulary of each auxiliary column, by name (default: none).

    Example:
        >>> enc = TaggingEncoder.build([["The", "dog"], ["A", "dog"]], [["D", "N"], ["D", "N"]])
        >>> b = enc.batch([["The", "cat"]], [["D", "N"]], [0])
        >>> b.words.tolist(), enc.words.decode(b.words[0]), b.tags.tolist()
        ([[3, 1]], ['The', '<unk>'], [[0, 1]])
        >>> b.chars.shape, b.char_index.tolist()
        (torch.Size([2, 3]), [[0, 1]])
    """

    def __init__(
        self, words: Vocab, chars: Vocab, tags: Vocab, lowercase: bool = False, lm_chars: Sequence[Vocab] = (),
        lm_directions: Sequence[str] = (), aux: dict[str, Vocab] | None = None,
    ) -> None:
        if len(lm_chars) != len(lm_directions):
            raise ValueError("give one direction per character LM vocabulary")
        self.words = words
        self.chars = chars
        self.tags = tags
        self.lowercase = lowercase
        self.lm_chars = list(lm_chars)
        self.lm_directions = list(lm_directions)
        self.aux = dict(aux or {})
        self._spelling: dict[str, list[int]] = {}  # word → character ids, cached across batches

    @classmethod
    def build(
        cls, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], min_freq: int = 1,
        lowercase: bool = False, lm_chars: Sequence[Vocab] = (), lm_directions: Sequence[str] = (),
        aux: dict[str, Sequence[Sequence[str]]] | None = None,
    ) -> TaggingEncoder:
        """Vocabularies from training sentences (and ``aux``: each auxiliary column's tags of the same sentences);
        words below ``min_freq`` become ``<unk>``."""
        fold = str.lower if lowercase else str
        words = Vocab.build(
            ([fold(w) for w in s] for s in sentences), tokenize=list, specials=(PAD, UNK), min_freq=min_freq
        )
        chars = Vocab.build((c for s in sentences for w in s for c in w), tokenize=list, specials=(PAD, UNK))
        aux_sets = {name: _tag_vocab(column) for name, column in (aux or {}).items()}
        return cls(words, chars, _tag_vocab(tags), lowercase, lm_chars, lm_directions, aux_sets)

    def to_json(self) -> dict:
        data = {"words": self.words.to_json(), "chars": self.chars.to_json(), "tags": self.tags.to_json()}
        if self.lm_chars:
            data["lm_chars"] = [vocab.to_json() for vocab in self.lm_chars]
            data["lm_directions"] = self.lm_directions
        if self.aux:
            data["aux"] = {name: vocab.to_json() for name, vocab in self.aux.items()}
        return data

    @classmethod
    def from_json(cls, data: dict, lowercase: bool) -> TaggingEncoder:
        return cls(Vocab.from_json(data["words"]), Vocab.from_json(data["chars"]), Vocab.from_json(data["tags"]),
                   lowercase, [Vocab.from_json(v) for v in data.get("lm_chars", [])], data.get("lm_directions", []),
                   {name: Vocab.from_json(v) for name, v in data.get("aux", {}).items()})

    def word_ids(self, sentence: Sequence[str]) -> list[int]:
        return [self.words.id(w.lower() if self.lowercase else w) for w in sentence]

    def _spell(self, word: str) -> list[int]:
        ids = self._spelling.get(word)
        if ids is None:
            ids = self._spelling[word] = self.chars.encode(word)
        return ids

    def lm_inputs(self, sentences: Sequence[Sequence[str]]) -> LMInputs:
        """Per character LM: the sentences' strings as its ids (B, L) and the words' boundaries (B, T)."""
        return lm_inputs(sentences, self.lm_chars, self.lm_directions)

    def batch(
        self,
        sentences: Sequence[Sequence[str]],
        tags: Sequence[Sequence[str]] | Sequence[Sequence[int]] | None,
        indices: list[int],
        word_ids: Sequence[Sequence[int]] | None = None,
    ) -> TaggingBatch:
        """The batch of ``sentences`` (token lists, all non-empty); ``tags`` as strings or ids, or None.

        ``word_ids`` may hold the sentences' word ids already computed (training data is encoded once).
        """
        words, lengths = pad(word_ids if word_ids is not None else [self.word_ids(s) for s in sentences])
        unique: dict[str, int] = {}
        rows = [[unique.setdefault(w, len(unique)) for w in s] for s in sentences]
        chars, char_lengths = pad([self._spell(w) for w in unique])
        char_index, _ = pad(rows)
        tag_ids = None
        if tags is not None:
            tag_ids, _ = pad([seq if not seq or isinstance(seq[0], int) else self.tags.encode(seq) for seq in tags])
        return TaggingBatch(words, lengths, chars, char_lengths, char_index, tag_ids, list(indices), sentences)


def _tag_vocab(tags: Sequence[Sequence[str]]) -> Vocab:
    """The sorted tag set, no specials: every id is a real tag."""
    return Vocab(sorted({t for seq in tags for t in seq}), unk=None)
