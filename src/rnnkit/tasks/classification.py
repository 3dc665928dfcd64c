"""``Classifier``: a whole-sequence classifier (sentiment and the like) with the scikit-learn conventions,
and the engine's :class:`~rnnkit.engine.TrainingTask` for it.

Loss: the cross-entropy −log softmax(s)_y of each sequence's class logits s (mean over the batch).

    >>> clf = Classifier(embedding_dim=16, hidden_size=16,
    ...                  train_config=TrainConfig(epochs=2, progress="off", device="cpu"))
    >>> data = [(["a", "fine", "film"], "pos"), (["dull"], "neg")]
    >>> clf.fit(data).predict([["fine"]])  # doctest: +SKIP
    ['pos']

``fit`` builds ``vocab_``, ``classes_`` and ``model_`` (a :class:`~rnnkit.models.classifier.BiRNNClassifier`;
with ``init_from``, ``transfer_`` says what came from the language model);
``predict`` returns labels, ``predict_proba`` label probabilities, ``score`` the accuracy.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data.batching import Batches, length_buckets, pad
from rnnkit.data.labelled_text import LabelledText
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.engine import StepResult, TrainConfig, Trainer, config_builder, load_model, resolve_device, save_model
from rnnkit.engine.task import evaluating
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.metrics.confusion import ConfusionMatrix
from rnnkit.models.char_lm_features import CharLMFeatures
from rnnkit.models.classifier import POOLINGS, AttentionPool, BiRNNClassifier
from rnnkit.tasks.char_lm_context import ContextCache, LMInputs, lm_context, lm_inputs
from rnnkit.tasks.tagging_lm_init import pretrained_init, read_char_lms

TASK = "classifier"
# Settings stored in the checkpoint; init_from (the language model the training started from) as provenance only.
_SETTINGS = ("cell", "embedding_dim", "hidden_size", "num_layers", "dropout", "pooling", "min_freq",
             "lowercase", "word_dropout", "max_length", "init_from", "lm_features", "lm_projection",
             "freeze_embeddings", "batch_size", "data_format", "tokenizer", "label_field", "text_field")


def as_examples(data: Iterable[LabelledText | tuple[Sequence[str], str]]) -> list[LabelledText]:
    """Labelled examples from readers' examples or ``(tokens, label)`` pairs; DataError for empty ones."""
    out = []
    for i, item in enumerate(data):
        example = item if isinstance(item, LabelledText) else LabelledText(list(item[0]), str(item[1]))
        if not example.tokens:
            raise DataError(example.path, f"example {i + 1} is empty", line=example.line)
        if example.label is None:
            raise DataError(example.path, f"example {i + 1} has no label", line=example.line)
        out.append(example)
    return out


@dataclasses.dataclass
class ClassificationBatch:
    ids: torch.Tensor  # (B, T)
    lengths: torch.Tensor  # (B,)
    labels: torch.Tensor | None  # (B,)
    indices: list[int]  # the texts' positions in the list the batch was made from


class ClassificationTask:
    """What the engine trains a classifier on: length-bucketed batches, cross-entropy, dev accuracy/macro-F1.

    Args:
        train: (token id lists, label ids, words); dev: the same, or None. The words (token lists, case kept)
            are what a model's character LMs read, through ``lm_inputs``.
        batch_size: sequences per batch; seed: for the batch order.
        classes: the label names (for macro-F1).
        word_dropout: probability of replacing a training word by ``<unk>`` (id ``unk_id``), so that the
            classifier cannot lean on a few words alone (Iyyer et al. 2015) and ``<unk>`` is trained.
        lm_inputs: texts' words → the character LMs' inputs, for a model with ``lm_features``; their states
            are computed once per text and cached (:class:`~rnnkit.tasks.char_lm_context.ContextCache`).
    """

    def __init__(self, train, dev, batch_size: int, seed: int, classes: Sequence[str], word_dropout: float = 0.0,
                 unk_id: int = 1, lm_inputs: Callable[[Sequence[Sequence[str]]], LMInputs] | None = None) -> None:
        self.train, self.dev = train, dev
        self.batch_size = batch_size
        self.seed = seed
        self.classes = list(classes)
        self.word_dropout = word_dropout
        self.unk_id = unk_id
        self.lm_inputs = lm_inputs
        self._eval: list[ClassificationBatch] | None = None
        self._contexts = ContextCache()  # z_t of each text: the LMs are frozen, so it never changes

    def train_batches(self, epoch: int) -> Batches:
        ids, labels, _ = self.train
        groups = length_buckets([len(s) for s in ids], self.batch_size, self.seed, epoch)
        return Batches(groups, lambda g: make_batch([ids[i] for i in g], [labels[i] for i in g], g))

    def eval_batches(self) -> list[ClassificationBatch]:
        if self.dev is None:
            return []
        if self._eval is None:
            ids, labels, _ = self.dev
            groups = length_buckets([len(s) for s in ids], self.batch_size, 0, 0, shuffle=False)
            self._eval = [make_batch([ids[i] for i in g], [labels[i] for i in g], g) for g in groups]
        return self._eval

    def _logits(self, model: nn.Module, batch: ClassificationBatch, ids: torch.Tensor) -> torch.Tensor:
        """(B, C) for the batch's ``ids`` on the model's device; the engine gives training batches in
        training mode and dev batches in eval mode."""
        words = (self.train if model.training else self.dev)[2]
        context = self._contexts(model, batch.indices, batch.lengths,
                                 lambda: self.lm_inputs([words[i] for i in batch.indices]))
        return model(ids, batch.lengths.to(ids.device), context=context)

    def loss(self, model: nn.Module, batch: ClassificationBatch, state: Any, step: int) -> StepResult:
        ids = batch.ids
        if model.training and self.word_dropout > 0:
            drop = torch.rand(ids.shape, device=ids.device) < self.word_dropout
            ids = ids.masked_fill(drop & (ids != 0), self.unk_id)
        logits = self._logits(model, batch, ids)  # (B, C)
        right = (logits.argmax(1) == batch.labels).float().mean()
        return StepResult(F.cross_entropy(logits, batch.labels), len(batch.labels), None, {"accuracy": float(right)})

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if self.dev is None:
            return {}
        device = next(model.parameters()).device
        with evaluating(model):
            predicted = [p for batch in self.eval_batches()
                         for p in self._logits(model, batch, batch.ids.to(device)).argmax(1).tolist()]
        gold = [g for batch in self.eval_batches() for g in batch.labels.tolist()]
        matrix = ConfusionMatrix([self.classes[g] for g in gold], [self.classes[p] for p in predicted], self.classes)
        return {"accuracy": matrix.accuracy, "macro_f1": matrix.macro_f1}


def make_batch(ids: Sequence[Sequence[int]], labels: Sequence[int] | None, indices: Sequence[int]
               ) -> ClassificationBatch:
    padded, lengths = pad(ids)
    return ClassificationBatch(padded, lengths, None if labels is None else torch.tensor(labels), list(indices))


@dataclasses.dataclass
class ClassificationReport:
    """Everything ``rnnkit evaluate`` prints for a classifier."""

    accuracy: float
    macro_f1: float
    confusion: ConfusionMatrix
    examples: int


class LabelPredictor:
    """What labels texts, one :class:`Classifier` or a :class:`~rnnkit.tasks.ensembles.ClassifierEnsemble`:
    ``predict``, ``predict_stream``, ``evaluate`` and ``score`` from ``predict_proba`` and the labels
    ``classes_``."""

    classes_: Vocab

    def _fitted(self) -> None:
        """Raise if there is nothing to predict with yet."""

    def predict_proba(self, texts: Iterable[Sequence[str]]) -> torch.Tensor:
        raise NotImplementedError

    def _label_ids(self, examples: Sequence[LabelledText]) -> list[int]:
        """Label ids; a label never seen in training is a DataError naming its file and line."""
        for e in examples:
            if e.label not in self.classes_:
                raise DataError(e.path, f"label {e.label!r} was never seen in training (the model knows "
                                f"{', '.join(self.classes_.symbols)})", line=e.line)
        return [self.classes_.index[e.label] for e in examples]

    def predict(self, texts: Iterable[Sequence[str]]) -> list[str]:
        """The predicted label of each text."""
        return self.classes_.decode(self.predict_proba(texts).argmax(1).tolist())

    def predict_stream(self, texts: Iterable[Sequence[str]], chunk: int = 256) -> Iterator[tuple[str, float]]:
        """(label, probability) per text, lazily, ``chunk`` texts at a time."""
        iterator = iter(texts)
        while block := list(islice(iterator, chunk)):
            probabilities, best = self.predict_proba(block).max(1)
            yield from zip(self.classes_.decode(best.tolist()), probabilities.tolist(), strict=True)

    def evaluate(self, data: Iterable) -> ClassificationReport:
        """Accuracy, macro-F1 and the confusion matrix (per-class P/R/F1) on labelled data."""
        self._fitted()  # an unfitted Classifier: a clear RuntimeError before the data is read
        examples = as_examples(data)
        gold = self.classes_.decode(self._label_ids(examples))
        matrix = ConfusionMatrix(gold, self.predict([e.tokens for e in examples]), self.classes_.symbols)
        return ClassificationReport(matrix.accuracy, matrix.macro_f1, matrix, len(examples))

    def score(self, data: Iterable) -> float:
        """Accuracy on labelled data."""
        return self.evaluate(data).accuracy


class Classifier(LabelPredictor):
    """A bidirectional RNN sequence classifier (see :mod:`rnnkit.models.classifier`), trained by the engine.

    Args:
        cell: "lstm", "gru", "gru-cudnn" or "elman" (default "lstm").
        embedding_dim, hidden_size, num_layers, dropout: the model's sizes (defaults 100, 150, 1, 0.5).
        pooling: "final" (the two final states, the lecture's read-out), "mean", "max" or "attention".
        min_freq: words seen fewer times in training become <unk> (default 1).
        lowercase: lower-case texts before look-up (default False).
        word_dropout: probability of replacing a training word by <unk> (default 0.1).
        max_length: keep only the first N tokens of each text (default None: all).
        embeddings: a word2vec/GloVe text file of pretrained vectors of size embedding_dim (default None).
        init_from: a word-level rnnkit language model (checkpoint or run directory) whose embeddings and
            RNN layers initialise the word embeddings and the forward direction of the Bi-RNN
            (see :mod:`rnnkit.tasks.tagging_lm_init`; default None). Kept in the checkpoint as provenance
            only: loading the trained classifier does not read it.
        lm_features: character-level rnnkit language models (checkpoints or run directories; ``rnnkit train
            lm``, with ``--reverse`` for a backward one) whose states join each word's vector, frozen
            (:mod:`rnnkit.models.char_lm_features`, Flair's contextual string embeddings). They read the
            words as written, before ``lowercase``. Their weights are saved in the classifier's checkpoint,
            so loading it does not read them again (default None).
        lm_projection: map the LMs' states to this many features, learned, before they join each word's
            vector (:func:`~rnnkit.models.char_lm_features.context_layer`): with large LMs a smaller
            Bi-RNN input and faster steps (default None: the states as they are).
        freeze_embeddings: keep the word embeddings fixed in training, e.g. those of ``init_from`` or
            ``embeddings`` (words without a pretrained vector keep their random one; default False).
        batch_size: sequences per batch (default 32).
        train_config: the engine's TrainConfig; a "loss" monitor becomes dev accuracy (maximised).
        out_dir: run directory (default: a temporary directory).
        data_format, tokenizer, label_field, text_field: how the files were read, remembered for
            ``rnnkit classify`` (defaults None, "split", "label", "text").
    """

    def __init__(
        self, cell: str = "lstm", embedding_dim: int = 100, hidden_size: int = 150, num_layers: int = 1,
        dropout: float = 0.5, pooling: str = "final", min_freq: int = 1, lowercase: bool = False,
        word_dropout: float = 0.1, max_length: int | None = None, embeddings: str | None = None,
        init_from: str | None = None, lm_features: Sequence[str] | None = None, lm_projection: int | None = None,
        freeze_embeddings: bool = False, batch_size: int = 32,
        train_config: TrainConfig | None = None, out_dir: str | None = None, data_format: str | None = None,
        tokenizer: str = "split", label_field: str = "label", text_field: str = "text",
    ) -> None:
        self.cell = cell
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.pooling = pooling
        self.min_freq = min_freq
        self.lowercase = lowercase
        self.word_dropout = word_dropout
        self.max_length = max_length
        self.embeddings = embeddings
        self.init_from = None if init_from is None else str(init_from)
        self.lm_features = None if lm_features is None else [str(path) for path in lm_features]
        self.lm_projection = lm_projection
        self.freeze_embeddings = freeze_embeddings
        self.batch_size = batch_size
        self.train_config = train_config
        self.out_dir = out_dir
        self.data_format = data_format
        self.tokenizer = tokenizer
        self.label_field = label_field
        self.text_field = text_field

    def _words(self, tokens: Sequence[str]) -> list[str]:
        """The words the model reads: the first ``max_length`` tokens, as written (what character LMs read)."""
        return list(tokens[: self.max_length] if self.max_length else tokens)

    def _lookup(self, words: Sequence[str]) -> list[str]:
        """The words as looked up in ``vocab_`` (lower-cased with ``lowercase``)."""
        return [w.lower() for w in words] if self.lowercase else list(words)

    def _ids(self, words: Sequence[str]) -> list[int]:
        return self.vocab_.encode(self._lookup(words))

    def _lm_inputs(self, texts: Sequence[Sequence[str]]) -> LMInputs:
        return lm_inputs(texts, self.lm_chars_, self.model_.lm_features.directions)

    def _build_model(self, lm_features: CharLMFeatures | None) -> BiRNNClassifier:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {sorted(POOLINGS)}, got {self.pooling!r}")
        pooling = AttentionPool(2 * self.hidden_size) if self.pooling == "attention" else POOLINGS[self.pooling]()
        return BiRNNClassifier(len(self.vocab_), len(self.classes_), self.embedding_dim, self.hidden_size,
                               self.num_layers, self.cell, self.dropout, pooling, lm_features,
                               self.lm_projection)

    def fit(self, train: Iterable, dev: Iterable | None = None, resume: bool = False) -> Classifier:
        """Build ``vocab_``, ``classes_`` and ``model_`` from ``train`` and train (early stopping on ``dev``).

        ``train`` and ``dev`` hold :class:`~rnnkit.data.labelled_text.LabelledText` or ``(tokens, label)``.
        With ``resume``, training continues from the last checkpoint in ``out_dir``
        (the same data and settings give the same vocabularies, so the run goes on exactly).
        """
        if resume and self.out_dir is None:
            raise ConfigError("resume needs the run directory (out_dir) of the run to continue")
        train_set = as_examples(train)
        dev_set = None if dev is None else as_examples(dev)
        if not train_set:
            raise DataError(None, "no training examples")
        config = self.train_config or TrainConfig()
        torch.manual_seed(config.seed)
        words = [self._words(e.tokens) for e in train_set]
        self.vocab_ = Vocab.build([self._lookup(w) for w in words], tokenize=list, specials=(PAD, UNK),
                                  min_freq=self.min_freq)
        self.classes_ = Vocab(sorted({e.label for e in train_set}), unk=None)
        # The character LMs are read on resume too: their configs and vocabularies build the model.
        lm_features, self.lm_chars_ = read_char_lms(self.lm_features or [])
        self.model_ = self._build_model(lm_features)
        # A resumed run takes every weight from its last checkpoint: the pretrained sources are not read.
        self.transfer_ = None if resume else pretrained_init(self.model_, self.vocab_, self.embeddings,
                                                             self.init_from, "embedding_dim")
        self.model_.embedding.weight.requires_grad_(not self.freeze_embeddings)  # the engine trains what needs grad
        dev_data = None
        if dev_set is not None:
            dev_words = [self._words(e.tokens) for e in dev_set]
            dev_data = ([self._ids(w) for w in dev_words], self._label_ids(dev_set), dev_words)
            if config.monitor == "loss":
                config = dataclasses.replace(config, monitor="accuracy", monitor_mode="max")
        task = ClassificationTask(([self._ids(w) for w in words], self._label_ids(train_set), words), dev_data,
                                  self.batch_size, config.seed, self.classes_.symbols, self.word_dropout,
                                  self.vocab_.id(UNK), self._lm_inputs)
        with tempfile.TemporaryDirectory(prefix="rnnkit-classifier-") as scratch:
            self.result_ = Trainer(self.model_, task, config, self.out_dir or scratch, self._meta()).fit(resume=resume)
        return self

    def _meta(self) -> dict[str, Any]:
        vocabularies = {"words": self.vocab_.to_json(), "classes": self.classes_.to_json()}
        if self.lm_chars_:
            vocabularies["lm_chars"] = [vocab.to_json() for vocab in self.lm_chars_]
        return {"task": TASK, "model_class": "BiRNNClassifier", "model_config": self.model_.get_config(),
                "vocabularies": vocabularies, "settings": {name: getattr(self, name) for name in _SETTINGS}}

    # ----- prediction and scores -----

    def _fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("this Classifier is not fitted yet: call fit() or Classifier.load() first")

    def predict_proba(self, texts: Iterable[Sequence[str]]) -> torch.Tensor:
        """(N, C) class probabilities softmax(s) of each text (a list of tokens), in ``classes_`` order."""
        self._fitted()
        words = [self._words(t) for t in texts]
        for i, row in enumerate(words):
            if not row:
                raise DataError(None, f"text {i + 1} is empty")
        ids = [self._ids(w) for w in words]
        out = torch.zeros(len(ids), len(self.classes_))
        groups = length_buckets([len(r) for r in ids], max(64, self.batch_size), 0, 0, shuffle=False)
        model = self.model_
        device = next(model.parameters()).device
        with evaluating(model):
            for group in groups:
                batch = make_batch([ids[i] for i in group], None, group)
                context = lm_context(model, self._lm_inputs([words[i] for i in group])) if self.lm_chars_ else None
                logits = model(batch.ids.to(device), batch.lengths.to(device), context=context)
                out[group] = torch.softmax(logits, dim=1).cpu()
        return out

    # ----- checkpoints -----

    def save(self, path: str | Path) -> None:
        """Write a checkpoint directory (weights in safetensors, vocabularies and settings in JSON)."""
        self._fitted()
        save_model(path, self.model_, self._meta())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Classifier:
        """A fitted Classifier from a checkpoint or run directory (``best/`` preferred)."""
        model, meta = load_model(path, config_builder(path, BiRNNClassifier), resolve_device(device), task=TASK)
        try:
            classifier = cls(**{k: v for k, v in meta.get("settings", {}).items() if k in _SETTINGS})
            classifier.vocab_ = Vocab.from_json(meta["vocabularies"]["words"])
            classifier.classes_ = Vocab.from_json(meta["vocabularies"]["classes"])
            classifier.lm_chars_ = [Vocab.from_json(v) for v in meta["vocabularies"].get("lm_chars", [])]
        except (KeyError, TypeError) as err:
            raise CheckpointError(f"{path}: malformed classifier settings or vocabularies: {err}") from None
        classifier.model_ = model
        return classifier
