"""``Translator``: sklearn-style neural machine translation with an RNN encoder–decoder.

    from rnnkit.tasks.translation import Translator, TranslatorSettings
    t = Translator(TranslatorSettings(attention="additive")).fit(train_pairs, dev_pairs, "runs/de-en")
    t.translate(["ein hund rennt ."], beam=5)     # ['a dog runs .']

``fit`` trains tokenisers (sentencepiece for bpe/unigram), vocabularies and the model (through the engine:
one training loop for every task), and saves everything a translation needs in the checkpoint
(weights in safetensors; settings, vocabularies and the subword models in JSON). ``translate`` decodes
with batched greedy or beam search; ``score`` is corpus BLEU and ``evaluate`` BLEU and chrF (sacreBLEU).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sacrebleu
import torch

from rnnkit.analysis.attention_plot import plot_attention
from rnnkit.data.parallel import ParallelText, keep_for_training
from rnnkit.data.tokenizers import make_tokenizer, tokenizer_from_json
from rnnkit.data.vocab import BOS, EOS, PAD, UNK, Vocab
from rnnkit.decode.beam import Hypothesis, beam_search
from rnnkit.engine import TrainConfig, Trainer, config_builder, load_model, read_meta, resolve_device, save_model
from rnnkit.engine.task import evaluating
from rnnkit.errors import CheckpointError, ConfigError, RnnkitError
from rnnkit.models.attention import make_attention
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.tasks.translation_training import TASK, TranslationTask, TranslatorSettings, corpus_bleu

__all__ = ["Translator", "TranslatorSettings"]

log = logging.getLogger(__name__)
SPECIALS = (PAD, UNK, BOS, EOS)


def _pairs(data: ParallelText | Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    if isinstance(data, ParallelText):
        return data.source, data.target
    pairs = [(s.strip(), t.strip()) for s, t in data if s.strip() and t.strip()]
    return [s for s, _ in pairs], [t for _, t in pairs]


class Translator:
    """Train and use a translation model.

    Args:
        settings: data, model and loss settings (TranslatorSettings; default: its defaults).
        training: the engine's TrainConfig (default: ``default_train_config``).

    Attributes set by ``fit`` / ``load``: ``model_`` (Seq2Seq), ``source_tokenizer_``,
    ``target_tokenizer_``, ``source_vocab_``, ``target_vocab_``, ``device_``; ``result_`` after ``fit``.
    """

    def __init__(self, settings: TranslatorSettings | None = None, training: TrainConfig | None = None) -> None:
        self.settings = settings
        self.training = training

    @staticmethod
    def default_train_config(has_dev: bool = True, **overrides: Any) -> TrainConfig:
        """Adam at 1e-3, clipping at 1, and the best checkpoint chosen by dev BLEU when there is dev data."""
        values: dict[str, Any] = {"lr": 1e-3, "epochs": 10, "clip_norm": 1.0}
        values.update({"monitor": "bleu", "monitor_mode": "max"} if has_dev else {})
        values.update(overrides)
        return TrainConfig(**values)

    # ----- training -----

    def _build_tokenizers_and_vocabs(self, source: list[str], target: list[str]) -> None:
        s = self.settings
        self.source_tokenizer_ = make_tokenizer(s.tokenizer, source, s.vocab_size)
        self.target_tokenizer_ = make_tokenizer(s.tokenizer, target, s.vocab_size)
        vocabs = []
        for tokenizer, texts in ((self.source_tokenizer_, source), (self.target_tokenizer_, target)):
            if tokenizer.inventory is not None:  # subwords: every piece of the model, so nothing is <unk>
                vocabs.append(Vocab([*SPECIALS, *tokenizer.inventory]))
            else:
                vocabs.append(Vocab.build((tokenizer.encode(t) for t in texts), tokenize=list, specials=SPECIALS,
                                          min_freq=s.min_freq, max_size=s.max_vocab))
        self.source_vocab_, self.target_vocab_ = vocabs

    def _restore_preprocessing(self, meta: dict[str, Any]) -> None:
        """Tokenisers and vocabularies from a checkpoint's model.json."""
        try:
            self.source_tokenizer_ = tokenizer_from_json(meta["tokenizers"]["source"])
            self.target_tokenizer_ = tokenizer_from_json(meta["tokenizers"]["target"])
            self.source_vocab_ = Vocab.from_json(meta["vocabularies"]["source"])
            self.target_vocab_ = Vocab.from_json(meta["vocabularies"]["target"])
        except (KeyError, TypeError) as err:
            raise CheckpointError(f"translator checkpoint lacks {err}") from None

    def _encode(self, texts: list[str], side: str) -> list[list[int]]:
        tokenizer = self.source_tokenizer_ if side == "source" else self.target_tokenizer_
        vocab = self.source_vocab_ if side == "source" else self.target_vocab_
        return [vocab.encode(tokenizer.encode(t)) for t in texts]

    def _new_model(self) -> Seq2Seq:
        s = self.settings
        cell, variant = ("gru", "lecture") if s.cell == "gru-lecture" else (s.cell, "cudnn")
        try:
            attention = make_attention(s.attention, s.hidden_size, s.hidden_size)
            return Seq2Seq(len(self.source_vocab_), len(self.target_vocab_), s.embedding_size, s.hidden_size,
                           s.num_layers, cell, variant, s.dropout, attention)
        except ValueError as err:
            raise ConfigError(str(err)) from None

    def _meta(self, config: TrainConfig) -> dict[str, Any]:
        return {
            "task": TASK,
            "model_class": "Seq2Seq",
            "model_config": self.model_.get_config(),
            "vocabularies": {"source": self.source_vocab_.to_json(), "target": self.target_vocab_.to_json()},
            "settings": self.settings.to_dict(),
            "tokenizers": {"source": self.source_tokenizer_.to_json(), "target": self.target_tokenizer_.to_json()},
            "train_config": config.to_dict(),
        }

    def fit(
        self,
        train: ParallelText | Sequence[tuple[str, str]],
        dev: ParallelText | Sequence[tuple[str, str]] | None = None,
        out_dir: str | Path = "runs/translator",
        resume: bool = False,
    ) -> Translator:
        """Train on sentence pairs (source, target); the run (checkpoints, metrics) goes to ``out_dir``.

        With ``resume``, training continues from ``out_dir/last`` with its tokenisers and vocabularies.
        """
        self.settings = self.settings or TranslatorSettings()
        s = self.settings
        source, target = _pairs(train)
        if not source:
            raise RnnkitError("no training pairs (every pair has an empty side)")
        if resume:
            self._restore_preprocessing(read_meta(Path(out_dir) / "last", task=TASK))
        else:
            self._build_tokenizers_and_vocabs(source, target)
        src_ids, tgt_ids = self._encode(source, "source"), self._encode(target, "target")
        kept = keep_for_training([len(x) for x in src_ids], [len(y) for y in tgt_ids], s.max_length, s.max_ratio)
        if len(kept) < len(src_ids):
            log.info("skipped %d of %d training pairs (longer than %d tokens or length ratio over %g)",
                     len(src_ids) - len(kept), len(src_ids), s.max_length, s.max_ratio)
        if not kept:
            raise RnnkitError(
                f"no training pair passes the filters (max_length {s.max_length}, max_ratio {s.max_ratio})"
            )
        train_ids = ([src_ids[i] for i in kept], [tgt_ids[i] for i in kept])
        dev_ids, references = None, []
        if dev is not None:
            dev_source, references = _pairs(dev)
            dev_ids = (self._encode(dev_source, "source"), self._encode(references, "target"))
        config = self.training or self.default_train_config(dev is not None)
        self.model_ = self._new_model()
        log.info("vocabularies: source %d, target %d; %d training pairs; model %s parameters",
                 len(self.source_vocab_), len(self.target_vocab_), len(kept),
                 f"{sum(p.numel() for p in self.model_.parameters()):,}")
        target_vocab = self.target_vocab_
        task = TranslationTask(
            train_ids, dev_ids, references, s, target_vocab[BOS], target_vocab[EOS],
            lambda model, ids: [self._detokenize(h[0].tokens) for h in self._decode(model, ids, beam=1)],
            seed=config.seed,
        )
        self.result_ = Trainer(self.model_, task, config, out_dir, self._meta(config)).fit(resume=resume)
        self.device_ = next(self.model_.parameters()).device
        self.model_.eval()
        return self

    # ----- translation -----

    def _fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RnnkitError("this Translator is not trained yet: call fit() or Translator.load()")

    def _source_ids(self, text: str, where: str = "input") -> list[int]:
        tokens = self.source_tokenizer_.encode(text)
        limit = self.settings.max_input_length
        if len(tokens) > limit:
            log.warning("%s: sentence of %d tokens cut to the first %d (max_input_length)", where, len(tokens), limit)
            tokens = tokens[:limit]
        return self.source_vocab_.encode(tokens)

    def _detokenize(self, ids: list[int]) -> str:
        return self.target_tokenizer_.decode(self.target_vocab_.decode(ids))

    def _decode(
        self, model: Seq2Seq, sources: list[list[int]], beam: int = 5, n_best: int = 1, attention: bool = False,
        batch_size: int | None = None,
    ) -> list[list[Hypothesis]]:
        """The ``n_best`` hypotheses of each source, best first, in input order."""
        if not 1 <= n_best <= beam:
            raise ConfigError(f"need 1 <= n-best <= beam, got n-best {n_best} and beam {beam}")
        s = self.settings
        batch_size = batch_size or max(1, s.batch_size // max(1, beam // 2))
        device = next(model.parameters()).device
        order = sorted((i for i in range(len(sources)) if sources[i]), key=lambda i: len(sources[i]))
        results: dict[int, list[Hypothesis]] = {}
        with evaluating(model):
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                lengths = torch.tensor([len(sources[i]) for i in chunk], device=device)
                src = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long, device=device)
                for row, i in enumerate(chunk):
                    src[row, : len(sources[i])] = torch.tensor(sources[i], device=device)
                found = beam_search(model, src, lengths, self.target_vocab_[BOS], self.target_vocab_[EOS], beam,
                                    n_best, s.length_penalty, s.max_len_a, s.max_len_b, return_attention=attention)
                results.update(zip(chunk, found, strict=True))
        empty = [Hypothesis([], 0.0, 0.0, None)]  # an empty source translates to an empty line
        return [results.get(i, empty) for i in range(len(sources))]

    def translate(self, sentences: Sequence[str], beam: int = 5) -> list[str]:
        """The best translation of each sentence (beam 1: greedy). An empty sentence gives ""."""
        self._fitted()
        hyps = self._decode(self.model_, [self._source_ids(t) for t in sentences], beam=beam)
        return [self._detokenize(h[0].tokens) for h in hyps]

    def stream(
        self, lines: Iterable[tuple[int, str]], beam: int = 5, n_best: int = 1, chunk: int = 32, where: str = "input"
    ) -> Iterator[tuple[int, list[tuple[str, float]]]]:
        """Yield (line number, its ``n_best`` (translation, score) pairs) per input line, ``chunk`` lines at a
        time, so output can start before the input ends. An empty line gives [("", 0.0)]."""
        self._fitted()
        buffer: list[tuple[int, str]] = []
        lines = iter(lines)
        while True:
            line = next(lines, None)
            if line is not None:
                buffer.append(line)
            if buffer and (line is None or len(buffer) >= chunk):
                ids = [self._source_ids(text, f"{where}:{number}") for number, text in buffer]
                hyps = self._decode(self.model_, ids, beam=beam, n_best=n_best)
                for (number, _), sentence in zip(buffer, hyps, strict=True):
                    yield number, [(self._detokenize(h.tokens), h.score) for h in sentence]
                buffer = []
            if line is None:
                return

    def attention(self, sentence: str, beam: int = 5) -> tuple[list[str], list[str], torch.Tensor]:
        """Source tokens, output tokens (with <eos>) and the attention weights (T_out, S) of one sentence."""
        self._fitted()
        ids = self._source_ids(sentence)
        if not ids:
            raise RnnkitError("cannot plot the attention of an empty sentence")
        hyp = self._decode(self.model_, [ids], beam=beam, attention=True)[0][0]
        source = self.source_vocab_.decode(ids)
        return source, [*self.target_vocab_.decode(hyp.tokens), EOS], hyp.attention

    def has_attention(self) -> bool:
        return self.settings.attention != "none"

    def plot_attention(self, sentence: str, path: str | Path, beam: int = 5) -> None:
        """Draw the attention matrix of ``sentence``'s translation, words on the axes, into ``path``."""
        if not self.has_attention():
            raise ConfigError("this model has no attention (attention='none'): nothing to plot")
        source, target, weights = self.attention(sentence, beam)
        plot_attention(weights, source, target, path, title=f"beam {beam}")

    def evaluate(self, sources: Sequence[str], references: Sequence[str], beam: int = 5) -> dict[str, float]:
        """Corpus BLEU and chrF of the translations of ``sources`` against ``references`` (sacreBLEU)."""
        if len(sources) != len(references):
            raise RnnkitError(f"{len(sources)} source sentences but {len(references)} references")
        started = time.perf_counter()
        hypotheses = self.translate(sources, beam=beam)
        seconds = time.perf_counter() - started
        bleu = corpus_bleu(hypotheses, references, self.settings.bleu_tokenize)
        chrf = sacrebleu.corpus_chrf(hypotheses, [list(references)])
        return {"bleu": bleu, "chrf": chrf.score, "sentences": len(sources),
                "sentences_per_s": len(sources) / max(seconds, 1e-9)}

    def score(self, sources: Sequence[str], references: Sequence[str], beam: int = 5) -> float:
        """Corpus BLEU of the translations of ``sources``."""
        return self.evaluate(sources, references, beam)["bleu"]

    # ----- checkpoints -----

    def save(self, path: str | Path) -> None:
        self._fitted()
        save_model(path, self.model_, self._meta(self.training or self.default_train_config()))

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Translator:
        """A Translator from a checkpoint or run directory (best/ first)."""
        meta = read_meta(path, task=TASK)
        translator = cls(TranslatorSettings.from_dict(meta.get("settings", {}), f"{path}: settings"))
        translator._restore_preprocessing(meta)
        translator.device_ = resolve_device(device)
        translator.model_, _ = load_model(path, config_builder(path, Seq2Seq), translator.device_, task=TASK)
        translator.model_.eval()
        return translator

