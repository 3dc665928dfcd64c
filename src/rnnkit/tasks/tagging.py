"""``Tagger``: a sequence labeller (POS tags, named entities) with the scikit-learn conventions.

    >>> tagger = Tagger(word_dim=16, char_dim=8, char_hidden=8, hidden_size=16,
    ...                 train_config=TrainConfig(epochs=2, progress="off", device="cpu"))
    >>> data = [(["the", "dog", "runs"], ["DET", "NOUN", "VERB"]), (["a", "cat"], ["DET", "NOUN"])]
    >>> tagger.fit(data).predict([["the", "cat", "runs"]])  # doctest: +SKIP
    [['DET', 'NOUN', 'VERB']]

The constructor only stores settings; ``fit`` builds ``encoder_`` (the word, character and tag
vocabularies; ``vocab_`` is its word vocabulary and ``classes_`` its tags), ``model_`` (a
:class:`~rnnkit.models.tagger.BiRNNTagger`; with ``init_from``, ``transfer_`` says what came from the language
model) and trains it with the engine; ``predict`` returns tag
strings; ``score`` the headline metric (span F1 for entity tags, token accuracy otherwise); ``save`` and
``load`` go through the engine's checkpoints (safetensors + JSON).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from rnnkit.data.conll_reader import read_conll
from rnnkit.data.conllu_reader import read_conllu
from rnnkit.data.tag_schemes import detect
from rnnkit.data.tagged_sentence import FORMATS, TaggedSentence, read_plain
from rnnkit.engine import TrainConfig, Trainer, config_builder, load_model, resolve_device, save_model
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.metrics.confusion import ConfusionMatrix
from rnnkit.metrics.tagging import SpanScores, span_scores, tag_confusion
from rnnkit.models.char_lm_features import CharLMFeatures
from rnnkit.models.crf import CRF
from rnnkit.models.tagger import BiRNNTagger, CharEncoder, NoChars, SoftmaxHead
from rnnkit.tasks.tagging_batches import TaggingEncoder
from rnnkit.tasks.tagging_lm_init import pretrained_init, read_char_lms
from rnnkit.tasks.tagging_training import Member, TaggingTask, predict_ids

logger = logging.getLogger(__name__)

TASK = "tagger"
HEADS = {"softmax": SoftmaxHead, "crf": CRF}
# Tagger settings stored in the checkpoint: everything a prediction needs besides the model, and init_from
# (the language model the training started from) as provenance only.
_SETTINGS = ("cell", "word_dim", "char_dim", "char_hidden", "hidden_size", "num_layers", "dropout", "head",
             "min_freq", "lowercase", "word_dropout", "init_from", "lm_features", "lm_projection", "freeze_embeddings",
             "batch_size", "data_format", "column", "aux_columns", "aux_weight")


DEFAULT_COLUMNS = {"conllu": "upos", "conll": "ner"}


def resolve_format(path: str | Path, fmt: str | None) -> str:
    """``conllu`` for a ``.conllu`` file, else ``fmt`` if given, else ``text``."""
    if fmt in (None, "auto"):
        return "conllu" if str(path).endswith(".conllu") else "text"
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS} or auto, got {fmt!r}")
    return fmt


def read_tagged(
    path: str | Path, fmt: str | None = None, column: str | None = None, labelled: bool = True,
    aux: Sequence[str] = (),
) -> Iterator[TaggedSentence]:
    """The sentences of a CoNLL-U, CoNLL-2003 or (unlabelled only) plain-text file, read lazily.

    ``column`` defaults to ``upos`` (CoNLL-U) or ``ner`` (CoNLL); ``aux`` names more columns to read into
    each sentence's ``aux`` (a tagger's auxiliary tasks).
    """
    fmt = resolve_format(path, fmt)
    if fmt == "text":
        if labelled:
            raise DataError(str(path), "plain text has no gold tags; give --format conllu or conll")
        if aux:
            raise DataError(str(path), "plain text has no auxiliary columns; give --format conllu or conll")
        return read_plain(path)
    column = column or DEFAULT_COLUMNS[fmt]
    if fmt == "conllu":
        return read_conllu(path, column, labelled, aux)
    return read_conll(path, column, labelled, aux)


def as_sentences(data: Iterable[TaggedSentence | tuple[Sequence[str], Sequence[str]]]) -> list[TaggedSentence]:
    """Tagged sentences from readers' sentences or ``(tokens, tags)`` pairs; DataError for empty ones."""
    out = []
    for i, item in enumerate(data):
        sentence = item if isinstance(item, TaggedSentence) else TaggedSentence(list(item[0]), list(item[1]))
        if not sentence.tokens:
            raise DataError(sentence.path, f"sentence {i + 1} is empty", line=sentence.line)
        if sentence.tags is None or len(sentence.tags) != len(sentence.tokens):
            raise DataError(sentence.path, f"sentence {i + 1} has no tag for every token", line=sentence.line)
        out.append(sentence)
    return out


@dataclasses.dataclass
class TaggingReport:
    """Everything ``rnnkit evaluate`` prints for a tagger."""

    accuracy: float
    confusion: ConfusionMatrix  # per-tag P/R/F1 via confusion.scores()
    spans: SpanScores | None  # entity tags only
    sentences: int
    tokens: int


class TagPredictor:
    """What tags sentences, one :class:`Tagger` or a :class:`~rnnkit.tasks.ensembles.TaggerEnsemble`:
    ``predict``, ``predict_stream``, ``evaluate`` and ``score`` from the (model, encoder) members, of which
    ``encoder_`` holds the tags and ``headline_`` names the metric."""

    batch_size: int
    encoder_: TaggingEncoder
    headline_: str

    def _members(self) -> list[Member]:
        raise NotImplementedError

    def predict(self, sentences: Iterable[Sequence[str]]) -> list[list[str]]:
        """The predicted tags (strings) of each sentence (a list of tokens)."""
        members = self._members()
        ids = predict_ids(members, [list(s) for s in sentences], max(64, self.batch_size))
        return [self.encoder_.tags.decode(row) for row in ids]

    def predict_stream(self, sentences: Iterable[Sequence[str]], chunk: int = 256) -> Iterator[list[str]]:
        """Like ``predict``, but lazily: reads ``chunk`` sentences, yields their tags, reads on."""
        iterator = iter(sentences)
        while block := list(islice(iterator, chunk)):
            yield from self.predict(block)

    def evaluate(self, data: Iterable) -> TaggingReport:
        """Token accuracy, per-tag P/R/F1, confusion matrix and (entity tags) span P/R/F1 on gold data.

        A gold tag never seen in training is a DataError naming its file and line.
        """
        self._members()  # an unfitted Tagger: a clear RuntimeError before the data is read
        sentences = as_sentences(data)
        check_known_tags(sentences, self.encoder_)
        gold = [s.tags for s in sentences]
        predicted = self.predict([s.tokens for s in sentences])
        confusion = tag_confusion(gold, predicted, self.encoder_.tags.symbols)
        spans = span_scores(gold, predicted) if self.headline_ == "f1" else None
        return TaggingReport(confusion.accuracy, confusion, spans, len(sentences), confusion.total)

    def score(self, data: Iterable) -> float:
        """The headline metric on gold data: span F1 for entity tags, token accuracy otherwise."""
        report = self.evaluate(data)
        return report.spans.f1 if report.spans is not None else report.accuracy


class Tagger(TagPredictor):
    """A bidirectional RNN tagger (see :mod:`rnnkit.models.tagger`), trained by the engine.

    Args:
        cell: "lstm", "gru", "gru-cudnn" or "elman" (default "lstm").
        word_dim: word embedding size (default 100).
        char_dim: character embedding size; 0 for no character Bi-RNN (default 30).
        char_hidden: the character Bi-RNN's hidden size per direction (default 50).
        hidden_size: the sentence Bi-RNN's hidden size per direction (default 200).
        num_layers: sentence Bi-RNN layers (default 1).
        dropout: dropout rate (default 0.33).
        head: "softmax" or "crf" (default "softmax").
        min_freq: words seen fewer times in training become <unk> (default 1).
        lowercase: look words up in lower case; characters keep case (default False).
        word_dropout: probability of replacing a training word by <unk> (default 0.05).
        embeddings: a word2vec/GloVe text file of pretrained vectors of size word_dim (default None).
        init_from: a word-level rnnkit language model (checkpoint or run directory) whose embeddings and
            RNN layers initialise the word embeddings and the forward direction of the sentence Bi-RNN
            (see :mod:`rnnkit.tasks.tagging_lm_init`; default None). Kept in the checkpoint as provenance
            only: loading the trained tagger does not read it.
        lm_features: character-level rnnkit language models (checkpoints or run directories; ``rnnkit train
            lm``, with ``--reverse`` for a backward one) whose states join each word's vector, frozen
            (:mod:`rnnkit.models.char_lm_features`, Flair's contextual string embeddings). Their weights are
            copied into the tagger's checkpoint; the paths are kept as provenance only (default None).
        lm_projection: map the LMs' states to this many features, learned, before they join each word's
            vector (:func:`~rnnkit.models.char_lm_features.context_layer`): with large LMs a smaller
            Bi-RNN input and faster steps (default None: the states as they are).
        freeze_embeddings: keep the word embeddings fixed in training, e.g. those of ``init_from`` or
            ``embeddings`` (words without a pretrained vector keep their random one; default False).
        batch_size: sentences per batch (default 32).
        train_config: the engine's TrainConfig (default: TrainConfig()); a "loss" monitor is replaced by
            the headline dev metric (accuracy or span F1, maximised) when dev data is given.
        out_dir: run directory for checkpoints and logs (default: a temporary directory).
        data_format, column: the input format and tag column, remembered for ``rnnkit tag`` (default None).
        aux_columns: auxiliary columns to learn beside the tags (multi-task learning, e.g. ``["xpos",
            "feats"]`` for a UPOS tagger): each training sentence's ``aux`` must hold them (``read_tagged(...,
            aux=...)``). They shape the sentence Bi-RNN's states in training and are never predicted
            (default None: none).
        aux_weight: λ, the weight of the auxiliary losses against the tags' (default 1.0).
    """

    def __init__(
        self, cell: str = "lstm", word_dim: int = 100, char_dim: int = 30, char_hidden: int = 50,
        hidden_size: int = 200, num_layers: int = 1, dropout: float = 0.33, head: str = "softmax",
        min_freq: int = 1, lowercase: bool = False, word_dropout: float = 0.05, embeddings: str | None = None,
        init_from: str | None = None, lm_features: Sequence[str] | None = None, lm_projection: int | None = None,
        freeze_embeddings: bool = False, batch_size: int = 32,
        train_config: TrainConfig | None = None, out_dir: str | None = None, data_format: str | None = None,
        column: str | None = None, aux_columns: Sequence[str] | None = None, aux_weight: float = 1.0,
    ) -> None:
        self.cell = cell
        self.word_dim = word_dim
        self.char_dim = char_dim
        self.char_hidden = char_hidden
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.head = head
        self.min_freq = min_freq
        self.lowercase = lowercase
        self.word_dropout = word_dropout
        self.embeddings = embeddings
        self.init_from = None if init_from is None else str(init_from)
        self.lm_features = None if lm_features is None else [str(path) for path in lm_features]
        self.lm_projection = lm_projection
        self.freeze_embeddings = freeze_embeddings
        self.batch_size = batch_size
        self.train_config = train_config
        self.out_dir = out_dir
        self.data_format = data_format
        self.column = column
        self.aux_columns = None if aux_columns is None else [str(name) for name in aux_columns]
        self.aux_weight = aux_weight

    # ----- training -----

    def _build_model(self, encoder: TaggingEncoder, lm_features: CharLMFeatures | None) -> BiRNNTagger:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {sorted(HEADS)}, got {self.head!r}")
        num_tags = len(encoder.tags)
        chars = NoChars()
        if self.char_dim:
            chars = CharEncoder(len(encoder.chars), self.char_dim, self.char_hidden, self.cell)
        head = CRF(num_tags) if self.head == "crf" else SoftmaxHead()
        return BiRNNTagger(len(encoder.words), num_tags, self.word_dim, chars, self.hidden_size, self.num_layers,
                           self.cell, self.dropout, head, lm_features, self.lm_projection,
                           {name: len(vocab) for name, vocab in encoder.aux.items()})

    def fit(self, train: Iterable, dev: Iterable | None = None, resume: bool = False) -> Tagger:
        """Build the vocabularies and the model from ``train`` and train it (early stopping on ``dev``).

        ``train`` and ``dev`` hold :class:`~rnnkit.data.tagged_sentence.TaggedSentence` objects or
        ``(tokens, tags)`` pairs.
        With ``resume``, training continues from the last checkpoint in ``out_dir``
        (the same data and settings give the same vocabularies, so the run goes on exactly).
        """
        if resume and self.out_dir is None:
            raise ConfigError("resume needs the run directory (out_dir) of the run to continue")
        train_set = as_sentences(train)
        dev_set = None if dev is None else as_sentences(dev)
        if not train_set:
            raise DataError(None, "no training sentences")
        aux = aux_tag_lists(train_set, self.aux_columns or [])
        if self.aux_weight < 0:
            raise ValueError(f"aux_weight must be >= 0, got {self.aux_weight}")
        config = self.train_config or TrainConfig()
        torch.manual_seed(config.seed)  # the model's initial weights
        # The character LMs are read on resume too: their configs and vocabularies build the model and encoder.
        lm_features, lm_chars = read_char_lms(self.lm_features or [])
        encoder = TaggingEncoder.build([s.tokens for s in train_set], [s.tags for s in train_set], self.min_freq,
                                       self.lowercase, lm_chars, [] if lm_features is None else lm_features.directions,
                                       aux)
        model = self._build_model(encoder, lm_features)
        # A resumed run takes every weight from its last checkpoint: no pretrained weights are copied in.
        self.transfer_ = None if resume else pretrained_init(model, encoder.words, self.embeddings, self.init_from,
                                                             "word_dim")
        model.embedding.weight.requires_grad_(not self.freeze_embeddings)  # the engine trains what requires grad
        headline = "f1" if detect(encoder.tags.symbols) else "accuracy"
        if dev_set is not None:
            _warn_unknown_tags(dev_set, encoder)
            if config.monitor == "loss":
                config = dataclasses.replace(config, monitor=headline, monitor_mode="max")
        task = TaggingTask(
            encoder, ([s.tokens for s in train_set], [encoder.tags.encode(s.tags) for s in train_set]),
            None if dev_set is None else ([s.tokens for s in dev_set], [s.tags for s in dev_set]),
            self.batch_size, config.seed, self.word_dropout, headline,
            {name: [encoder.aux[name].encode(seq) for seq in column] for name, column in aux.items()}, self.aux_weight,
        )
        self._fitted_parts(encoder, model, headline)
        with tempfile.TemporaryDirectory(prefix="rnnkit-tagger-") as scratch:
            out_dir = self.out_dir or scratch
            self.result_ = Trainer(model, task, config, out_dir, self._meta()).fit(resume=resume)
        return self

    def _fitted_parts(self, encoder: TaggingEncoder, model: BiRNNTagger, headline: str) -> None:
        self.encoder_, self.model_, self.headline_ = encoder, model, headline
        self.vocab_, self.classes_ = encoder.words, encoder.tags.symbols

    def _meta(self) -> dict[str, Any]:
        settings = {name: getattr(self, name) for name in _SETTINGS}
        settings["headline"] = self.headline_
        return {"task": TASK, "model_class": "BiRNNTagger", "model_config": self.model_.get_config(),
                "vocabularies": self.encoder_.to_json(), "settings": settings}

    # ----- prediction -----

    def _fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("this Tagger is not fitted yet: call fit() or Tagger.load() first")

    def _members(self) -> list[Member]:
        self._fitted()
        return [(self.model_, self.encoder_)]

    # ----- checkpoints -----

    def save(self, path: str | Path) -> None:
        """Write a checkpoint directory (weights in safetensors, vocabularies and settings in JSON)."""
        self._fitted()
        save_model(path, self.model_, self._meta())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Tagger:
        """A fitted Tagger from a checkpoint or run directory (``best/`` preferred)."""
        model, meta = load_model(path, config_builder(path, BiRNNTagger), resolve_device(device), task=TASK)
        settings = dict(meta.get("settings", {}))
        headline = settings.pop("headline", "accuracy")
        try:
            tagger = cls(**{k: v for k, v in settings.items() if k in _SETTINGS})
            encoder = TaggingEncoder.from_json(meta["vocabularies"], tagger.lowercase)
        except (KeyError, TypeError) as err:
            raise CheckpointError(f"{path}: malformed tagger settings or vocabularies: {err}") from None
        tagger._fitted_parts(encoder, model, headline)
        return tagger


def aux_tag_lists(sentences: Sequence[TaggedSentence], columns: Sequence[str]) -> dict[str, list[list[str]]]:
    """Each auxiliary column's tags of ``sentences``; DataError (file, line) for a sentence without them."""
    out: dict[str, list[list[str]]] = {name: [] for name in columns}
    for i, sentence in enumerate(sentences):
        for name in columns:
            tags = sentence.aux.get(name)
            if tags is None or len(tags) != len(sentence.tokens):
                raise DataError(sentence.path, f"sentence {i + 1} has no {name!r} tag for every token (read the "
                                f"file with that auxiliary column)", line=sentence.line)
            out[name].append(tags)
    return out


def _unknown_tags(
    sentences: Sequence[TaggedSentence], encoder: TaggingEncoder
) -> list[tuple[TaggedSentence, str, int | None]]:
    """(sentence, tag, line) of every gold tag the tagger never saw in training."""
    found = []
    for sentence in sentences:
        lines = sentence.token_lines or [sentence.line] * len(sentence.tokens)
        found += [(sentence, tag, line) for tag, line in zip(sentence.tags, lines, strict=True)
                  if tag not in encoder.tags]
    return found


def check_known_tags(sentences: Sequence[TaggedSentence], encoder: TaggingEncoder) -> None:
    """DataError (file, line) for the first gold tag the tagger never saw in training."""
    unknown = _unknown_tags(sentences, encoder)
    if unknown:
        sentence, tag, line = unknown[0]
        raise DataError(sentence.path, f"tag {tag!r} was never seen in training (the model knows "
                        f"{len(encoder.tags)} tags: {', '.join(encoder.tags.symbols[:20])})", line=line)


def _warn_unknown_tags(dev: Sequence[TaggedSentence], encoder: TaggingEncoder) -> None:
    """Dev tags unseen in training cannot be predicted: they count as errors in the dev scores (and their
    sentences are left out of the dev loss). Say so once, with the first place, rather than stop training."""
    unknown = _unknown_tags(dev, encoder)
    if unknown:
        sentence, tag, line = unknown[0]
        # DataError's text: "file:line: message", or without the line where there is none
        logger.warning("%s", DataError(sentence.path, f"tag {tag!r} was never seen in training; {len(unknown)} dev "
                                       "token(s) have such tags and count as errors", line=line))
