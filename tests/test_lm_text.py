"""Plain-text corpora for language models: reading, bad input, tokenising, vocabularies, splits."""

import pytest

from rnnkit.data.text import (
    build_vocab,
    default_corpus,
    detokenize,
    read_corpus,
    read_text_file,
    split_tokens,
    stdlib_sources,
    tokenize,
)
from rnnkit.errors import DataError


def test_read_file_files_and_directory_in_order(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")  # no final newline
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third\n", encoding="utf-8")
    (tmp_path / ".hidden").write_text("secret\n", encoding="utf-8")
    assert read_corpus(tmp_path) == "first\nsecond\nthird\n"
    assert read_corpus([tmp_path / "b.txt", tmp_path / "a.txt"]) == "second\nfirst\n"
    assert read_text_file(tmp_path / "a.txt") == "first\n"


def test_crlf_and_byte_order_mark_are_normalised(tmp_path):
    (tmp_path / "w.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\n")
    assert read_text_file(tmp_path / "w.txt") == "one\ntwo\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"  \n\t\n", "only white space"),
        (b"line one\nline\x00two\n", ":2: binary file"),
        (b"ok\nfine\ncaf\xe9\n", ":3: not UTF-8 text (byte 0xe9 at column 4)"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, content, expected):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_corpus(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_directory_without_text_is_an_error_and_binaries_are_skipped(tmp_path, caplog):
    (tmp_path / "image.png").write_bytes(b"\x89PNG\x00\x01")
    with pytest.raises(DataError, match="holds no non-empty UTF-8 text file"):
        read_corpus(tmp_path)
    (tmp_path / "notes.txt").write_text("words\n", encoding="utf-8")
    assert read_corpus(tmp_path) == "words\n"
    assert "image.png" in caplog.text


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_corpus(tmp_path / "nope.txt")


def test_default_corpus_is_stdlib_source_deterministic_and_capped():
    first = stdlib_sources(max_chars=60_000)
    assert first == stdlib_sources(max_chars=60_000)
    assert all(p.suffix == ".py" and "site-packages" not in p.parts and "test" not in p.parts for p in first)
    assert [str(p) for p in first] == sorted(str(p) for p in first)
    text = default_corpus(max_chars=60_000)
    assert 60_000 <= len(text) < 60_000 + max(p.stat().st_size for p in first) + len(first)
    assert "def " in text and "import" in text


def test_tokenize_levels_and_round_trip():
    text = "the cat  sat\n\non the mat\n"
    assert tokenize(text, "char") == list(text)
    words = tokenize(text, "word")
    assert words == ["the", "cat", "sat", "<eos>", "<eos>", "on", "the", "mat", "<eos>"]
    assert detokenize(words, "word") == "the cat sat\n\non the mat\n"
    with pytest.raises(ValueError, match="level"):
        tokenize(text, "byte")


def test_word_vocabulary_min_freq_and_max_size():
    tokens = tokenize("a a a b b c\nd\n", "word")
    vocab = build_vocab(tokens, "word", min_freq=2)
    assert vocab.symbols == ["<pad>", "<unk>", "<eos>", "a", "b"]
    assert vocab.encode(["c", "a"]) == [1, 3]
    assert build_vocab(tokens, "word", max_size=4).symbols == ["<pad>", "<unk>", "<eos>", "a"]
    char_vocab = build_vocab(list("hello"), "char")
    assert char_vocab.symbols == ["<pad>", "<unk>", "l", "h", "e", "o"]


def test_split_keeps_the_last_fraction_for_validation():
    tokens = list(range(100))
    train, valid = split_tokens(tokens, 0.1)
    assert train == list(range(90)) and valid == list(range(90, 100))
    with pytest.raises(DataError, match="too short"):
        split_tokens([1, 2, 3], 0.1)
