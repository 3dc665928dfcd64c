"""``LanguageModel``: train a character- or word-level recurrent language model, generate, score, save.

The object follows scikit-learn's conventions: the constructor only stores settings; ``fit`` builds the
vocabulary ``vocab_`` and the network ``model_`` (:class:`~rnnkit.models.language_model.RNNLanguageModel`)
and trains it through the one engine (:class:`rnnkit.engine.trainer.Trainer`) with truncated BPTT over
parallel token streams (:mod:`rnnkit.tasks.lm_training`). A checkpoint holds the weights, the settings and
the vocabulary, so generating and scoring never read the training text again.

Example:
    >>> lm = LanguageModel(hidden_size=16, num_layers=1, bptt=8, batch_size=2,
    ...                    train_config={"max_steps": 3, "progress": "off"})
    >>> _ = lm.fit("hello world\\n" * 40)
    >>> len(lm.generate("he", length=5, seed=0)[0])
    5
"""

from __future__ import annotations

import inspect
import logging
import math
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data import text as text_data
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.decode.sampling import sample
from rnnkit.engine.checkpoint import config_builder, load_model, read_meta, save_model
from rnnkit.engine.config import TrainConfig, dataclass_from_dict
from rnnkit.engine.settings import split_settings, task_keys
from rnnkit.engine.trainer import Trainer, resolve_device
from rnnkit.errors import CheckpointError, ConfigError, RnnkitError
from rnnkit.models.language_model import RNNLanguageModel
from rnnkit.tasks.lm_generation import check_sampling_options, encode_prime, join_samples, text_pieces
from rnnkit.tasks.lm_training import LMTraining, dynamic_stream_losses, stream_loss, streams_for
from rnnkit.tasks.scheduled_sampling import SCHEDULES, SamplingSchedule

logger = logging.getLogger(__name__)

TASK = "lm"
CELLS = ("elman", "gru", "gru-cudnn", "lstm")
# The engine's defaults, changed where language models want otherwise (char-rnn / nanoGPT practice).
TRAINING_DEFAULTS = {"lr": 2e-3, "clip_norm": 5.0, "eval_every": 500, "log_every": 50}


def _ids(vocab: Vocab, tokens: Sequence[str]) -> torch.Tensor:
    """(N,) LongTensor of token ids (through NumPy: torch.tensor on a list of millions of ints is slow)."""
    return torch.from_numpy(np.array(vocab.encode(tokens), dtype=np.int64))


class LanguageModel:
    """A recurrent language model over characters or whitespace words.

    Args:
        level: "char" or "word" (default "char").
        cell: "elman", "gru" (the lecture's GRU), "gru-cudnn" (torch's GRU form) or "lstm" (default "lstm").
        hidden_size: H (default 256).
        num_layers: L (default 2).
        embedding_size: E; None means 64 for characters and H for words (and H with tied weights).
        dropout: dropout on embeddings, between layers and before the output layer (default 0.1).
        weight_dropout: DropConnect on the recurrent matrices, one mask per window (the weight-dropped LSTM
            of Merity et al. 2018; default 0.0).
        embedding_dropout: the probability of dropping a token type from a window, every occurrence at once
            (AWD-LSTM's embedding dropout; default 0.0).
        locked_dropout: ``dropout`` with one mask per window, the same units dropped at every step
            (variational dropout; AWD-LSTM's locked dropout; default False).
        tie_weights: share the embedding and output matrices (Press & Wolf 2016; default False).
        bptt: T, truncation length of BPTT = window length (default 100).
        batch_size: B, parallel streams (default 32).
        min_freq: word level: words seen fewer times map to ``<unk>`` (default 1).
        max_vocab: word level: keep at most this many symbols, specials included (default None: all).
        valid_fraction: the last fraction of the text used for validation when ``fit`` gets no dev text
            (default 0.05).
        reverse: a backward LM, character level only: training, scoring and generation read the text from
            its end towards its start, and a generated sample is the text that precedes the prime (the
            right-to-left half of :mod:`rnnkit.models.char_lm_features`; default False).
        scheduled_sampling: None (teacher forcing) or "linear", "exponential", "inverse_sigmoid"
            (Bengio et al. 2015; see :mod:`rnnkit.tasks.scheduled_sampling`).
        ss_steps: steps over which the probability of the truth decays (default 5000).
        ss_min_truth: the floor of that probability (default 0.75).
        backend: the recurrent layer's backend (default "auto").
        train_config: engine settings, a :class:`~rnnkit.engine.config.TrainConfig` or a dict of its fields
            applied over :data:`TRAINING_DEFAULTS` (default None: those defaults).
        out_dir: run directory for checkpoints, metrics and curves (default None: a temporary one).

    Attributes (after fit or load):
        vocab_: the :class:`~rnnkit.data.vocab.Vocab`.
        model_: the :class:`~rnnkit.models.language_model.RNNLanguageModel`.
        result_: the engine's TrainResult (after fit).
    """

    def __init__(
        self,
        level: str = "char",
        cell: str = "lstm",
        hidden_size: int = 256,
        num_layers: int = 2,
        embedding_size: int | None = None,
        dropout: float = 0.1,
        weight_dropout: float = 0.0,
        embedding_dropout: float = 0.0,
        locked_dropout: bool = False,
        tie_weights: bool = False,
        bptt: int = 100,
        batch_size: int = 32,
        min_freq: int = 1,
        max_vocab: int | None = None,
        valid_fraction: float = 0.05,
        reverse: bool = False,
        scheduled_sampling: str | None = None,
        ss_steps: int = 5000,
        ss_min_truth: float = 0.75,
        backend: str = "auto",
        train_config: TrainConfig | dict[str, Any] | None = None,
        out_dir: str | Path | None = None,
    ) -> None:
        self.level = level
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding_size = embedding_size
        self.dropout = dropout
        self.weight_dropout = weight_dropout
        self.embedding_dropout = embedding_dropout
        self.locked_dropout = locked_dropout
        self.tie_weights = tie_weights
        self.bptt = bptt
        self.batch_size = batch_size
        self.min_freq = min_freq
        self.max_vocab = max_vocab
        self.valid_fraction = valid_fraction
        self.reverse = reverse
        self.scheduled_sampling = scheduled_sampling
        self.ss_steps = ss_steps
        self.ss_min_truth = ss_min_truth
        self.backend = backend
        self.train_config = train_config
        self.out_dir = out_dir

    # ----- settings -----

    def get_params(self) -> dict[str, Any]:
        """The constructor's settings (``train_config`` as a plain dict), JSON-able."""
        params = {name: getattr(self, name) for name in inspect.signature(type(self)).parameters}
        params["train_config"] = self.engine_config().to_dict()
        params["out_dir"] = None if self.out_dir is None else str(self.out_dir)
        return params

    def engine_config(self) -> TrainConfig:
        """The engine settings: :data:`TRAINING_DEFAULTS` overridden by ``train_config``."""
        if isinstance(self.train_config, TrainConfig):
            return self.train_config
        return dataclass_from_dict(TrainConfig, {**TRAINING_DEFAULTS, **(self.train_config or {})}, "train_config")

    def _check(self) -> None:
        text_data.check_level(self.level)
        if self.reverse and self.level != "char":
            raise ConfigError("reverse (a right-to-left language model) is for character-level models only")
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.scheduled_sampling is not None and self.scheduled_sampling not in SCHEDULES:
            raise ConfigError(f"scheduled_sampling must be one of {', '.join(SCHEDULES)}, got "
                              f"{self.scheduled_sampling!r}")
        for name in ("hidden_size", "num_layers", "bptt", "batch_size", "min_freq", "ss_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("dropout", "weight_dropout", "embedding_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if self.locked_dropout and self.scheduled_sampling is not None:
            raise ConfigError("locked_dropout keeps one mask per window, but scheduled_sampling runs the model one "
                              "step at a time: use one or the other")

    def _tokens(self, text: str) -> list[str]:
        """The text's tokens in reading order: right to left for a reverse model."""
        tokens = text_data.tokenize(text, self.level)
        return tokens[::-1] if self.reverse else tokens

    def _schedule(self) -> SamplingSchedule | None:
        if self.scheduled_sampling is None:
            return None
        return SamplingSchedule(self.scheduled_sampling, self.ss_steps, self.ss_min_truth)

    def _model_config(self, vocab_size: int) -> dict[str, Any]:
        embedding = self.embedding_size
        if embedding is None:
            embedding = self.hidden_size if self.tie_weights or self.level == "word" else 64
        return {
            "vocab_size": vocab_size,
            "embedding_size": embedding,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "cell": "gru" if self.cell == "gru-cudnn" else self.cell,
            "variant": "cudnn" if self.cell == "gru-cudnn" else "lecture",
            "dropout": self.dropout,
            "weight_dropout": self.weight_dropout,
            "embedding_dropout": self.embedding_dropout,
            "locked_dropout": self.locked_dropout,
            "tie_weights": self.tie_weights,
            "backend": self.backend,
        }

    def _meta(self) -> dict[str, Any]:
        return {
            "task": TASK,
            "model_class": type(self.model_).__name__,
            "model_config": self.model_.get_config(),
            "vocabularies": {"tokens": self.vocab_.to_json()},
            "settings": self.get_params(),
            "corpus": getattr(self, "corpus_", {}),
        }

    # ----- training -----

    def fit(
        self,
        train: str | Sequence[str],
        dev: str | None = None,
        resume: bool = False,
        source: dict[str, Any] | None = None,
    ) -> LanguageModel:
        """Build the vocabulary and the model from ``train`` text and train it; returns self.

        Args:
            train: the training text (or several texts, concatenated).
            dev: validation text; None takes the last ``valid_fraction`` of ``train``.
            resume: continue the run in ``out_dir`` from its last checkpoint (same text and settings).
            source: where the text came from (e.g. file names), kept in the checkpoint for ``--resume``.
        """
        self._check()
        text = train if isinstance(train, str) else "".join(train)
        tokens = self._tokens(text)
        if dev is None:  # a reverse model validates on the start of the text, which it reads last
            train_tokens, dev_tokens = text_data.split_tokens(tokens, self.valid_fraction)
        else:
            train_tokens, dev_tokens = tokens, self._tokens(dev)
        self.vocab_ = text_data.build_vocab(train_tokens, self.level, self.min_freq, self.max_vocab)
        self.corpus_ = {**(source or {}), "train_tokens": len(train_tokens), "valid_tokens": len(dev_tokens)}
        train_ids, dev_ids = _ids(self.vocab_, train_tokens), _ids(self.vocab_, dev_tokens)  # (N,), (M,)
        if train_ids.numel() <= self.batch_size:
            raise RnnkitError(f"training text too short: {train_ids.numel()} tokens for {self.batch_size} streams")
        logger.info("%s-level vocabulary of %d symbols; %d training and %d validation tokens",
                    self.level, len(self.vocab_), train_ids.numel(), dev_ids.numel())

        config = self.engine_config()
        torch.manual_seed(config.seed)  # the same initial weights for the same seed
        self.model_ = RNNLanguageModel(**self._model_config(len(self.vocab_)))
        # The streams live where training runs, so that no batch is copied to the device at every step.
        device = resolve_device(config.device)
        task = LMTraining(train_ids.to(device), dev_ids.to(device) if dev_ids.numel() > 1 else None,
                          self.batch_size, self.bptt, self._schedule())
        with tempfile.TemporaryDirectory(prefix="rnnkit-lm-") as tmp:
            out_dir = Path(self.out_dir) if self.out_dir is not None else Path(tmp)
            if resume:
                self._check_resumable(out_dir)
            trainer = Trainer(self.model_, task, config, out_dir, model_meta=self._meta())
            self.result_ = trainer.fit(resume=resume)
        self.model_.cpu()
        return self

    def _check_resumable(self, out_dir: Path) -> None:
        """A resumed run must see the vocabulary it was trained with, i.e. the same text."""
        saved = read_meta(out_dir / "last", task=TASK)
        if Vocab.from_json(saved["vocabularies"]["tokens"]) != self.vocab_:
            raise CheckpointError(f"{out_dir / 'last'}: the run was trained on another text (its vocabulary "
                                  "differs from this text's); pass the same data to resume")

    # ----- generation -----

    def stream(
        self,
        prime: str = "",
        length: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        seed: int | None = None,
        num_samples: int = 1,
    ) -> Iterator[list[str]]:
        """Yield, for each generated token, the text each of the ``num_samples`` samples gains.

        Word level: words are separated by single spaces and ``<eos>`` becomes a line break. The prime and
        the options are checked here, before the first token, so an error never follows partial output.
        A reverse model generates right to left: it yields once, at the end, the text that precedes the prime.
        """
        self._fitted()
        check_sampling_options(length, temperature, top_k, top_p, greedy, num_samples)
        prime_ids = torch.tensor([encode_prime(self.vocab_, self.level, prime[::-1] if self.reverse else prime)]
                                 * num_samples)  # (N, P)
        device = next(self.model_.parameters()).device
        generator = torch.Generator(device=device)
        generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,))))
        self.model_.eval()
        forbidden = [self.vocab_.id(s) for s in (PAD, UNK) if s in self.vocab_]
        tokens = sample(self.model_, prime_ids.to(device), length, temperature, top_k, top_p, greedy,
                        generator, forbidden)
        if self.reverse:
            tokens = iter(list(tokens)[::-1])  # written right to left: read backwards, the text before the prime
        return text_pieces(self.vocab_, self.level, tokens, line_start=not prime or prime.endswith("\n"))

    def generate(self, prime: str = "", length: int = 200, **options: Any) -> list[str]:
        """Continue ``prime`` by ``length`` tokens; one string per sample (options as :meth:`stream`)."""
        return join_samples(self.stream(prime, length, **options))

    # ----- scoring -----

    def evaluate(self, text: str, dynamic_lr: float | None = None, dynamic_decay: float = 0.0) -> dict[str, float]:
        """Loss (nats per token), perplexity and bits per character of ``text`` (its first token is context).

        The text is read as parallel streams with the state carried within each, as in validation
        (:func:`~rnnkit.tasks.lm_training.streams_for`); with ``dynamic_lr``, as one stream under dynamic
        evaluation (a copy of the model learns from each ``bptt`` window once it is scored; η = ``dynamic_lr``,
        λ = ``dynamic_decay``, :mod:`~rnnkit.engine.adaptation`). Bits per character: the total loss
        over the characters of the predicted tokens.
        """
        self._fitted()
        tokens = self._tokens(text)
        if len(tokens) < 2:
            raise RnnkitError("text too short to score: it needs at least two tokens")
        unknown = self.vocab_.unknown(tokens)
        if unknown:
            logger.warning("%d symbol type(s) not in the vocabulary are scored as <unk>", len(unknown))
        ids = _ids(self.vocab_, tokens)  # (N,)
        if dynamic_lr is None:
            streams = streams_for(ids, self.bptt)
            loss, scored = stream_loss(self.model_, streams), streams.num_tokens
        else:
            windows = dynamic_stream_losses(self.model_, ids, self.bptt, dynamic_lr, dynamic_decay)
            scored = sum(n for _, n in windows)
            loss = sum(value * n for value, n in windows) / scored
        chars = len(text_data.detokenize(tokens[1 : scored + 1], self.level))
        return {
            "loss": loss,
            "perplexity": math.exp(min(loss, 700.0)),
            "bits_per_char": loss * scored / max(chars, 1) / math.log(2),
            "tokens": float(scored),
        }

    def score(self, text: str, **dynamic: float) -> float:
        """Perplexity of ``text`` (lower is better; ``dynamic_lr``/``dynamic_decay`` as :meth:`evaluate`)."""
        return self.evaluate(text, **dynamic)["perplexity"]

    # ----- checkpoints -----

    def _fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RnnkitError("this LanguageModel is not trained yet: call fit() or LanguageModel.load()")

    def save(self, path: str | Path) -> None:
        """Write a checkpoint directory (weights, settings, vocabulary)."""
        self._fitted()
        save_model(path, self.model_, self._meta())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> LanguageModel:
        """Load a checkpoint or run directory written by :meth:`save` or by training (device cpu|cuda|auto)."""
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model, meta = load_model(path, config_builder(path, RNNLanguageModel), device, task=TASK)
        settings = dict(meta.get("settings", {}))
        try:
            lm = cls(**settings)
        except TypeError as err:
            raise CheckpointError(f"{path}: corrupt settings in model.json: {err}") from None
        lm.model_ = model.eval()
        lm.vocab_ = Vocab.from_json(meta.get("vocabularies", {}).get("tokens", {}))
        lm.corpus_ = meta.get("corpus", {})
        if len(lm.vocab_) != model.vocab_size:
            raise CheckpointError(f"{path}: vocabulary of {len(lm.vocab_)} symbols for a model of {model.vocab_size}")
        return lm


# ----- module-level shortcuts -----

MODEL_KEYS = task_keys(LanguageModel)  # the settings of a LanguageModel, beside the engine's TrainConfig fields


def train(
    data: str | Path | Sequence[str | Path] | None = None,
    valid: str | Path | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    **settings: Any,
) -> LanguageModel:
    """Train a language model on text files (None: the default corpus, Python's standard library).

    ``settings`` are LanguageModel arguments and TrainConfig fields, flat (``hidden_size=512, lr=1e-3``).
    """
    model_settings, training = split_settings(settings, LanguageModel)
    if data is None or (not isinstance(data, (str, Path)) and not data):
        text, sources = text_data.default_corpus(), None
    else:
        paths = [data] if isinstance(data, (str, Path)) else list(data)
        text, sources = text_data.read_corpus(paths), [str(p) for p in paths]
    dev = None if valid is None else text_data.read_text_file(valid)
    lm = LanguageModel(**model_settings, train_config=training, out_dir=out_dir)
    return lm.fit(text, dev, resume=resume, source={"data": sources, "valid": None if valid is None else str(valid)})


def generate(checkpoint: str | Path, prime: str = "", length: int = 200, **options: Any) -> list[str]:
    """Load a checkpoint and continue ``prime``; options as :meth:`LanguageModel.stream`."""
    return LanguageModel.load(checkpoint).generate(prime, length, **options)
