"""Readers for tagging and classification data: CoNLL-U, CoNLL-2003, label+text; bad input located."""

import os
from pathlib import Path

import pytest

from rnnkit.data.conll_reader import read_conll
from rnnkit.data.conllu_reader import read_conllu
from rnnkit.data.embeddings import read_vectors
from rnnkit.data.labelled_text import read_labelled
from rnnkit.data.tagged_sentence import read_plain
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError

SHARED = Path(os.environ.get("RNNKIT_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"


def conllu_row(*cells):
    return "\t".join(cells)


WORDS = [
    "# sent_id = 1",
    "# text = I don't know.",
    conllu_row("1", "I", "I", "PRON", "PRP", "_", "3", "nsubj", "_", "_"),
    conllu_row("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
    conllu_row("2", "do", "do", "AUX", "VBP", "_", "4", "aux", "_", "_"),
    conllu_row("3", "n't", "not", "PART", "RB", "_", "4", "advmod", "_", "_"),
    conllu_row("3.1", "know", "_", "_", "_", "_", "_", "_", "_", "_"),
    conllu_row("4", "know", "know", "VERB", "VB", "_", "0", "root", "_", "_"),
    conllu_row("5", ".", ".", "PUNCT", ".", "_", "4", "punct", "_", "_"),
]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_conllu_skips_multiword_tokens_and_empty_nodes_and_reads_either_column(tmp_path):
    path = write(tmp_path, "a.conllu", "\n".join(WORDS) + "\n\n" + "\n".join(WORDS[2:3]) + "\n\n")
    first, second = read_conllu(path)
    assert first.tokens == ["I", "do", "n't", "know", "."]
    assert first.tags == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert first.token_lines == [3, 5, 6, 8, 9] and second.line == 11
    assert next(read_conllu(path, "xpos")).tags == ["PRP", "VBP", "RB", "VB", "."]
    # writing back keeps comments, the multi-word line and the empty node; only the column changes
    out = first.render(["X"] * 5).split("\n")
    assert out[:2] == WORDS[:2] and out[3] == WORDS[3] and out[6] == WORDS[6]
    assert out[2].split("\t")[3] == "X" and out[2].split("\t")[4] == "PRP"


@pytest.mark.parametrize("bad, line, message", [
    (conllu_row("1", "I", "I", "PRON", "PRP", "_", "0", "root", "_"), 3, "expected 10 tab-separated columns, found 9"),
    (conllu_row("1", "I", "I", "_", "PRP", "_", "0", "root", "_", "_"), 3, "has no UPOS tag"),
    (conllu_row("7", "I", "I", "PRON", "PRP", "_", "0", "root", "_", "_"), 3, "word ID 7 out of order"),
    (conllu_row("x", "I", "I", "PRON", "PRP", "_", "0", "root", "_", "_"), 3, "bad word ID 'x'"),
])
def test_conllu_malformed_lines_name_file_and_line(tmp_path, bad, line, message):
    path = write(tmp_path, "bad.conllu", "\n".join([*WORDS[:2], bad]) + "\n\n")
    with pytest.raises(DataError, match=message) as info:
        list(read_conllu(path))
    assert info.value.line == line and info.value.path == path


def test_conllu_unlabelled_input_may_lack_tags(tmp_path):
    path = write(tmp_path, "raw.conllu", conllu_row("1", "Hi", "_", "_", "_", "_", "_", "_", "_", "_") + "\n\n")
    sentence = next(read_conllu(path, labelled=False))
    assert sentence.tokens == ["Hi"] and sentence.tags is None


CONLL = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"


def test_conll_reads_the_chosen_column_and_keeps_docstart_for_writing(tmp_path):
    path = write(tmp_path, "a.txt", CONLL)
    first, second = read_conll(path)
    assert (first.tokens, first.tags, second.tags) == (["EU", "rejects"], ["B-ORG", "O"], ["B-PER"])
    assert next(read_conll(path, "pos")).tags == ["NNP", "VBZ"]
    assert next(read_conll(path, "3")).tags == ["B-NP", "B-VP"]
    assert first.render(["O", "O"]) == "-DOCSTART- -X- -X- O\n\nEU NNP B-NP O\nrejects VBZ B-VP O"


def test_conll_wrong_column_count_and_missing_tag_column(tmp_path):
    path = write(tmp_path, "a.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP\n")
    with pytest.raises(DataError, match=r"a.txt:2: no tag in column 4: the line has 3 column"):
        list(read_conll(path))
    path = write(tmp_path, "b.txt", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O extra\n")
    with pytest.raises(DataError, match=r"b.txt:2: expected 4 columns \(as on line 1\), found 5"):
        list(read_conll(path))
    # tokens only: fine for input to tag; the tag column is added when writing back
    tokens_only = next(read_conll(write(tmp_path, "c.txt", "EU\nrejects\n"), labelled=False))
    assert tokens_only.render(["B-ORG", "O"]) == "EU _ _ B-ORG\nrejects _ _ O"


def test_plain_text_keeps_empty_lines(tmp_path):
    sentences = list(read_plain(write(tmp_path, "t.txt", "a dog\n\nbarks\n")))
    assert [s.tokens for s in sentences] == [["a", "dog"], [], ["barks"]]
    assert sentences[0].render(["D", "N"]) == "a/D dog/N" and sentences[1].render([]) == ""


def test_not_utf8_and_missing_files_are_data_errors(tmp_path):
    path = tmp_path / "bin.conllu"
    path.write_bytes(b"# ok\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"bin.conllu:2: not UTF-8"):
        list(read_conllu(path))
    with pytest.raises(DataError, match="no such file"):
        list(read_conll(tmp_path / "missing.txt"))


def test_labelled_text_formats(tmp_path):
    sst = write(tmp_path, "s.train", "1 a fine film\n0 dull\n")
    assert [(e.tokens, e.label, e.line) for e in read_labelled(sst)] == [(["a", "fine", "film"], "1", 1),
                                                                       (["dull"], "0", 2)]
    tsv = write(tmp_path, "d.tsv", "text\tlabel\nFine film.\tpos\n")
    assert [(e.tokens, e.label) for e in read_labelled(tsv, tokenizer="words")] == [(["Fine", "film", "."], "pos")]
    csv = write(tmp_path, "d.csv", 'id,text,label\n1,"Great, really",pos\n')
    assert next(read_labelled(csv, lowercase=True)).tokens == ["great,", "really"]
    jsonl = write(tmp_path, "d.jsonl", '{"label": "neg", "text": "Bad.<br /><br />Awful"}\n')
    assert next(read_labelled(jsonl, tokenizer="words")).tokens == ["Bad", ".", "Awful"]
    plain = write(tmp_path, "p.txt", "no label here\n")
    assert next(read_labelled(plain, "text")).label is None


@pytest.mark.parametrize("name, text, message", [
    ("a.train", "1 ok\n\n", r"a.train:2: empty line"),
    ("b.train", "1\n", r"b.train:1: label '1' but no sentence"),
    ("c.jsonl", '{"label": 1, "text": "x"}\n{"label": 1\n', r"c.jsonl:2: not valid JSON"),
    ("d.jsonl", '{"label": 1, "text": "  "}\n', r"d.jsonl:1: empty text"),
    ("e.tsv", "label\ttext\n1\ta\tb\n", r"e.tsv:2: expected 2 fields"),
    ("f.csv", "label,words\n1,a\n", r"f.csv:1: no column 'text'"),
])
def test_labelled_text_bad_input(tmp_path, name, text, message):
    with pytest.raises(DataError, match=message):
        list(read_labelled(write(tmp_path, name, text)))


def test_pretrained_vectors_glove_and_word2vec(tmp_path):
    vocab = Vocab(["<pad>", "<unk>", "the", "Paris", "rare"])
    glove = write(tmp_path, "g.txt", "the 1 2\nparis 3 4\nParis 5 6\n")
    vectors, found = read_vectors(glove, vocab, dim=2)
    assert found.tolist() == [False, False, True, True, False]
    assert vectors[3].tolist() == [5.0, 6.0]  # the exact-case vector wins over the lower-case one
    with pytest.raises(DataError, match=r"w.txt:1: vectors have 3 dimensions"):
        read_vectors(write(tmp_path, "w.txt", "1 3\nthe 1 2 3\n"), vocab, dim=2)
    with pytest.raises(DataError, match=r"x.txt:2: expected a word and 2 numbers, found 1"):
        read_vectors(write(tmp_path, "x.txt", "the 1 2\nparis 3\n"), vocab, dim=2)


@pytest.mark.skipif(not (SHARED / "ud_english_ewt").is_dir(), reason="shared data not available")
def test_real_corpora_counts():
    dev = list(read_conllu(SHARED / "ud_english_ewt" / "en_ewt-ud-dev.conllu"))
    assert (len(dev), sum(len(s.tokens) for s in dev)) == (2001, 25147)  # the data README's counts
    valid = list(read_conll(SHARED / "conll2003" / "valid.txt"))
    assert (len(valid), sum(len(s.tokens) for s in valid)) == (3250, 51362)
    assert sum(1 for _ in read_labelled(SHARED / "sst2" / "stsa.binary.dev")) == 872
