"""Tokenisers for translation: text <-> token strings, saved as JSON inside a checkpoint.

Three kinds:

- ``whitespace``: split on white space; decoding joins with one space. For pre-tokenised text
  (e.g. the Moses-tokenised, lower-cased Multi30k files).
- ``regex``: a simple word splitter, runs of word characters or single other symbols
  (``\\w+|[^\\w\\s]``), so ``"Hello, world!"`` gives ``Hello , world !``; decoding joins with spaces.
- ``bpe`` / ``unigram``: sentencepiece subword models (Sennrich et al. 2016; Kudo 2018) trained by rnnkit
  on the training text. The model is stored *with the checkpoint* as its serialized protobuf, base64
  encoded in JSON (never pickled). Training uses ``byte_fallback``: a character the subword model never
  saw is spelled as its UTF-8 bytes (pieces ``<0xNN>``), so every input can be encoded and decodes back
  to the same text; nothing silently becomes ``<unk>``.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable

from rnnkit.errors import CheckpointError, ConfigError

KINDS = ("whitespace", "regex", "bpe", "unigram")
_WORD = re.compile(r"\w+|[^\w\s]")


class WhitespaceTokenizer:
    """Splits on white space.

    Example:
        >>> t = WhitespaceTokenizer()
        >>> t.encode("a  man .")
        ['a', 'man', '.']
        >>> t.decode(['a', 'man', '.'])
        'a man .'
    """

    kind = "whitespace"
    inventory: list[str] | None = None  # open vocabulary: built from the training text

    def encode(self, text: str) -> list[str]:
        return text.split()

    def decode(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    def to_json(self) -> dict:
        return {"kind": self.kind}


class RegexTokenizer(WhitespaceTokenizer):
    """Splits into runs of word characters and single punctuation symbols.

    Example:
        >>> RegexTokenizer().encode("Hello, world!")
        ['Hello', ',', 'world', '!']
    """

    kind = "regex"

    def encode(self, text: str) -> list[str]:
        return _WORD.findall(text)


class SentencePieceTokenizer:
    """A sentencepiece BPE or unigram model; ``inventory`` is its full list of pieces.

    Args:
        model_proto: the serialized sentencepiece model (bytes).
        kind: "bpe" or "unigram" (recorded for display; the proto knows its own type).
    """

    def __init__(self, model_proto: bytes, kind: str) -> None:
        import sentencepiece as spm

        self.kind = kind
        self.model_proto = model_proto
        try:
            self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        except (RuntimeError, OSError, TypeError) as err:
            raise CheckpointError(f"corrupt sentencepiece model in checkpoint: {err}") from err
        # Skip sentencepiece's own <unk> (id 0); rnnkit's Vocab supplies the specials.
        self.inventory = [self._sp.id_to_piece(i) for i in range(1, self._sp.get_piece_size())]

    @classmethod
    def train(cls, texts: Iterable[str], kind: str = "bpe", vocab_size: int = 8000) -> SentencePieceTokenizer:
        """Train a subword model on ``texts``.

        ``vocab_size`` is an upper bound: a small corpus yields fewer pieces (``hard_vocab_limit=False``).
        It must leave room for the 256 byte pieces of the fallback.
        """
        import sentencepiece as spm

        if kind not in ("bpe", "unigram"):
            raise ConfigError(f"subword kind must be 'bpe' or 'unigram', got {kind!r}")
        if vocab_size < 300:
            raise ConfigError(f"subword vocabulary size must be >= 300 (256 byte pieces + more), got {vocab_size}")
        lines = [t for t in texts if t.strip()]
        if not lines:
            raise ConfigError("cannot train a subword model on empty text")
        buffer = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=buffer,
                model_type=kind,
                vocab_size=vocab_size,
                hard_vocab_limit=False,
                byte_fallback=True,
                character_coverage=1.0 if len(lines) < 100_000 else 0.9995,
                bos_id=-1,
                eos_id=-1,  # rnnkit adds its own <bos>/<eos> ids
                minloglevel=2,
                num_threads=2,
            )
        except RuntimeError as err:  # sentencepiece reports bad settings this way
            raise ConfigError(f"sentencepiece training failed: {err}") from err
        return cls(buffer.getvalue(), kind)

    def encode(self, text: str) -> list[str]:
        return self._sp.encode(text, out_type=str)

    def decode(self, tokens: list[str]) -> str:
        return self._sp.decode_pieces(tokens)

    def to_json(self) -> dict:
        return {"kind": self.kind, "model": base64.b64encode(self.model_proto).decode("ascii")}


Tokenizer = WhitespaceTokenizer | SentencePieceTokenizer


def make_tokenizer(kind: str, texts: Iterable[str] = (), vocab_size: int = 8000) -> Tokenizer:
    """Build a tokenizer of ``kind`` (one of KINDS); subword kinds are trained on ``texts``."""
    if kind == "whitespace":
        return WhitespaceTokenizer()
    if kind == "regex":
        return RegexTokenizer()
    if kind in ("bpe", "unigram"):
        return SentencePieceTokenizer.train(texts, kind, vocab_size)
    raise ConfigError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")


def tokenizer_from_json(data: dict) -> Tokenizer:
    """Rebuild a tokenizer saved by ``to_json`` (inside a checkpoint)."""
    try:
        kind = data["kind"]
        if kind in ("bpe", "unigram"):
            return SentencePieceTokenizer(base64.b64decode(data["model"], validate=True), kind)
        return make_tokenizer(kind)
    except (KeyError, TypeError, ValueError, ConfigError) as err:
        raise CheckpointError(f"malformed tokenizer in checkpoint: {err}") from err
