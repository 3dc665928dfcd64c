"""The tagging data sets of ../shared/data: where their files are and how to read them (the tagging benchmark,
and the text of the character LMs of _pretrained_char_lm.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnnkit.data.tagged_sentence import TaggedSentence
from rnnkit.tasks.tagging import read_tagged

DATASETS = {
    "ud_ewt": ("ud_english_ewt", ("en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu")),
    "conll2003": ("conll2003", ("train.txt", "valid.txt", "test.txt")),
}


def read_sentences(data: str | Path, dataset: str, split: int, aux: Sequence[str] = ()) -> list[TaggedSentence]:
    """The sentences of a data set's training (0), dev (1) or test (2) file, tagged with UPOS (UD EWT) or NER
    (CoNLL), and with the ``aux`` columns (for a tagger's auxiliary tasks)."""
    folder, names = DATASETS[dataset]
    fmt, column = ("conllu", "upos") if dataset == "ud_ewt" else ("conll", "ner")
    return list(read_tagged(Path(data) / folder / names[split], fmt, column, aux=aux))


def read_split(data: str | Path, dataset: str, split: int) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) of a data set's training (0), dev (1) or test (2) file: UPOS for UD EWT, NER for CoNLL."""
    return [(s.tokens, s.tags) for s in read_sentences(data, dataset, split)]
