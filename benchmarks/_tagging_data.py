"""The tagging data sets of ../shared/data: where their files are and how to read them (the tagging benchmark,
and the text of the character LMs of _pretrained_char_lm.py)."""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.conll_reader import read_conll
from rnnkit.data.conllu_reader import read_conllu

DATASETS = {
    "ud_ewt": ("ud_english_ewt", ("en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu")),
    "conll2003": ("conll2003", ("train.txt", "valid.txt", "test.txt")),
}


def read_split(data: str | Path, dataset: str, split: int) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) of a data set's training (0), dev (1) or test (2) file: UPOS for UD EWT, NER for CoNLL."""
    folder, names = DATASETS[dataset]
    path = Path(data) / folder / names[split]
    sentences = read_conllu(path, "upos") if dataset == "ud_ewt" else read_conll(path, "ner")
    return [(s.tokens, s.tags) for s in sentences]
