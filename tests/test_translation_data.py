"""Parallel text reading, training filters and tokenisers for translation."""

import gzip
import json

import pytest

from rnnkit.data.parallel import aligned_lines, keep_for_training, read_lines, read_parallel, read_tsv
from rnnkit.data.tokenizers import (
    RegexTokenizer,
    SentencePieceTokenizer,
    WhitespaceTokenizer,
    make_tokenizer,
    tokenizer_from_json,
)
from rnnkit.errors import CheckpointError, ConfigError, DataError


def write(path, text, gz=False):
    data = text.encode("utf-8") if isinstance(text, str) else text
    if gz:
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def test_two_files_plain_and_gzip_with_empty_pairs_dropped(tmp_path):
    src = write(tmp_path / "a.de.gz", "ein hund\n\nzwei katzen\r\ndrei\n", gz=True)
    tgt = write(tmp_path / "a.en", "a dog\nsomething\ntwo cats\n\n")
    pairs = read_parallel(src, tgt)
    assert pairs.source == ["ein hund", "zwei katzen"]
    assert pairs.target == ["a dog", "two cats"]
    assert pairs.lines == [1, 3]
    assert pairs.empty == [2, 4]


@pytest.mark.parametrize("longer", ["source", "target"])
def test_different_line_counts_name_the_first_unpaired_line(tmp_path, longer):
    three = write(tmp_path / "three.txt", "a\nb\nc\n")
    two = write(tmp_path / "two.txt", "x\ny\n")
    src, tgt = (three, two) if longer == "source" else (two, three)
    with pytest.raises(DataError) as err:
        read_parallel(src, tgt)
    assert err.value.line == 3
    assert err.value.path == str(three)
    assert "two.txt ends after line 2" in str(err.value)


def test_tsv_extra_columns_reverse_and_missing_tab(tmp_path):
    tsv = write(tmp_path / "deu.txt", "Go.\tGeh.\tCC-BY 2.0 (France) #2877272\n\nHi.\tHallo!\tattribution\n")
    pairs = read_tsv(tsv)
    assert list(zip(pairs.source, pairs.target, strict=True)) == [("Go.", "Geh."), ("Hi.", "Hallo!")]
    back = read_tsv(tsv, reverse=True)
    assert back.source == ["Geh.", "Hallo!"] and back.empty == [2]
    bad = write(tmp_path / "bad.txt", "a\tb\nno tab here\n")
    with pytest.raises(DataError, match=r"bad.txt:2: expected 'source<TAB>target'"):
        read_tsv(bad)


def test_bad_bytes_missing_files_and_empty_files(tmp_path):
    bad = write(tmp_path / "bad.txt", b"fine\n\xff\xfe oops\n")
    with pytest.raises(DataError, match=r"bad.txt:2: not UTF-8"):
        read_lines(bad)
    with pytest.raises(DataError, match="no such file"):
        read_lines(tmp_path / "missing.gz")
    not_gzip = write(tmp_path / "fake.gz", "plain text\n")
    with pytest.raises(DataError, match=r"fake\.gz"):
        read_lines(not_gzip)
    empty = write(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(DataError, match="no sentence pairs"):
        read_parallel(empty, empty)


def test_aligned_lines_keep_empty_lines(tmp_path):
    src = write(tmp_path / "s", "a\n\nc\n")
    ref = write(tmp_path / "r", "x\ny\nz\n")
    assert [line for line, _, _ in aligned_lines(src, ref)] == [1, 2, 3]


def test_length_and_ratio_filters():
    kept = keep_for_training([5, 81, 3, 2, 10, 4], [6, 10, 12, 2, 31, 12], max_length=80, max_ratio=3.0)
    # 81 tokens: too long; 3 vs 12: ratio 4; 10 vs 31: ratio 3.1; 4 vs 12: ratio exactly 3 is kept
    assert kept == [0, 3, 5]


def test_word_tokenizers():
    assert WhitespaceTokenizer().encode(" a  dog .\t") == ["a", "dog", "."]
    assert RegexTokenizer().encode("Der Hund's Ball, 3.5 kg!") == ["Der", "Hund", "'", "s", "Ball", ",", "3", ".",
                                                                    "5", "kg", "!"]
    assert RegexTokenizer().decode(["a", "dog", "."]) == "a dog ."
    assert tokenizer_from_json(RegexTokenizer().to_json()).kind == "regex"


TEXT = ["ein mann fährt fahrrad .", "zwei hunde spielen im schnee .", "eine frau liest ein buch ."] * 30


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_subword_model_round_trips_through_json_and_handles_unseen_characters(kind):
    tok = make_tokenizer(kind, TEXT, vocab_size=320)
    assert isinstance(tok, SentencePieceTokenizer)
    stored = json.loads(json.dumps(tok.to_json()))  # what the checkpoint holds: JSON only
    again = tokenizer_from_json(stored)
    sentence = "ein hund fährt ski ."
    assert again.encode(sentence) == tok.encode(sentence)
    # characters never seen in training: spelled as UTF-8 bytes, decoded back exactly
    unseen = "ein ß€ 中文 ✓"
    pieces = again.encode(unseen)
    assert any(p.startswith("<0x") for p in pieces)
    assert again.decode(pieces) == unseen
    assert set(pieces) <= set(again.inventory)  # so the vocabulary needs no <unk> for it


def test_bad_tokenizer_settings_and_corrupt_models():
    with pytest.raises(ConfigError, match="unknown tokenizer"):
        make_tokenizer("moses")
    with pytest.raises(ConfigError, match=r">= 300"):
        make_tokenizer("bpe", TEXT, vocab_size=50)
    with pytest.raises(ConfigError, match="empty text"):
        make_tokenizer("bpe", ["", "  "])
    with pytest.raises(CheckpointError, match="tokenizer"):
        tokenizer_from_json({"kind": "bpe", "model": "not base64!"})
    with pytest.raises(CheckpointError, match="sentencepiece"):
        tokenizer_from_json({"kind": "bpe", "model": "AAAA"})
