"""What the engine trains for translation: settings, length-bucketed batches, the loss and dev BLEU.

The loss is the token-level cross-entropy of the target given the source, with label smoothing
(Szegedy et al. 2016): the gold distribution puts 1 − ε on the gold token and spreads ε over the
vocabulary,

    loss = −(1 / N) Σ_{b,t} Σ_w q(w) log softmax(logits_b^{(t)})_w,   q = (1 − ε)·onehot(y_b^{(t)}) + ε / V

over the N real (non-padding) target tokens. Training feeds the gold previous token (teacher forcing),
or, with a sampling schedule, the model's own sampled prediction with a probability that grows with the
step (scheduled sampling, Bengio et al. 2015; the shared :mod:`rnnkit.tasks.scheduled_sampling`).
Validation scores gold-fed cross-entropy without smoothing, and ``evaluate`` the BLEU of greedy
translations of (at most ``eval_sentences``) dev sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sacrebleu
import torch
import torch.nn.functional as F

from rnnkit.data.batching import length_buckets, pad
from rnnkit.engine.config import dataclass_from_dict
from rnnkit.engine.task import StepResult
from rnnkit.errors import ConfigError
from rnnkit.tasks.scheduled_sampling import SCHEDULES, SamplingSchedule, unroll

TASK = "translator"


@dataclass
class TranslatorSettings:
    """Everything but the training loop's settings (those are a TrainConfig): data, model, loss.

    Example:
        >>> TranslatorSettings(attention="dot").attention
        'dot'
        >>> TranslatorSettings(attention="luong")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rnnkit.errors.ConfigError: attention must be one of ...
    """

    tokenizer: str = "whitespace"  # whitespace | regex | bpe | unigram
    vocab_size: int = 8000  # bpe/unigram: pieces per side (an upper bound)
    min_freq: int = 2  # whitespace/regex: rarer words become <unk>
    max_vocab: int = 50000  # whitespace/regex: largest vocabulary per side, specials included
    attention: str = "additive"  # additive | dot | general | none
    cell: str = "gru"  # elman | gru | gru-lecture | lstm
    embedding_size: int = 256
    hidden_size: int = 512  # decoder state and memory size; each encoder direction has half
    num_layers: int = 1
    dropout: float = 0.2
    label_smoothing: float = 0.1
    scheduled_sampling: str | None = None  # None (teacher forcing) | linear | exponential | inverse_sigmoid
    ss_steps: int = 5000  # steps over which the probability of feeding the truth decays
    ss_min_truth: float = 0.75  # its floor
    batch_size: int = 64  # sentence pairs per batch
    max_length: int = 80  # training pairs with a longer side (in tokens) are skipped
    max_ratio: float = 3.0  # ... and those whose longer side is over max_ratio times the shorter
    max_input_length: int = 250  # translation inputs are cut to this many tokens (with a warning)
    max_len_a: float = 1.5  # a translation has at most a · S + b tokens (S: source length)
    max_len_b: float = 5.0
    length_penalty: float = 1.0  # α of beam search's length normalisation
    eval_sentences: int = 500  # dev BLEU during training on at most this many sentences
    bleu_tokenize: str = "13a"  # sacreBLEU tokenizer (use "none" for pre-tokenised text)

    def __post_init__(self) -> None:
        choices = {
            "tokenizer": ("whitespace", "regex", "bpe", "unigram"),
            "attention": ("additive", "dot", "general", "none"),
            "cell": ("elman", "gru", "gru-lecture", "lstm"),
            "scheduled_sampling": (None, *SCHEDULES),
            "bleu_tokenize": tuple(sacrebleu.BLEU.TOKENIZERS),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                shown = ", ".join(str(a) for a in allowed)
                raise ConfigError(f"{key} must be one of {shown}, got {getattr(self, key)!r}")
        for key in ("embedding_size", "num_layers", "batch_size", "max_length", "max_input_length",
                    "min_freq", "ss_steps", "eval_sentences"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.hidden_size < 2 or self.hidden_size % 2:
            raise ConfigError(f"hidden_size must be even (two encoder directions), got {self.hidden_size}")
        if not 0 <= self.dropout < 1 or not 0 <= self.label_smoothing < 1 or not 0 <= self.ss_min_truth <= 1:
            raise ConfigError("dropout and label_smoothing must be in [0, 1), ss_min_truth in [0, 1]")
        if self.max_ratio < 1:
            raise ConfigError(f"max_ratio must be >= 1, got {self.max_ratio}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "settings") -> TranslatorSettings:
        """Build from a dict (a JSON file, a checkpoint); unknown keys and wrong types are ConfigErrors."""
        return dataclass_from_dict(cls, data, source)

    def schedule(self) -> SamplingSchedule | None:
        if self.scheduled_sampling is None:
            return None
        return SamplingSchedule(self.scheduled_sampling, self.ss_steps, self.ss_min_truth)


class PairBatches(Sequence):
    """Padded batches of id sequences: ``(src (B, S), src_lengths (B,), tgt_in (B, T), tgt_out (B, T))``.

    ``tgt_in`` is <bos> y^{(1)} … y^{(n)} and ``tgt_out`` is y^{(1)} … y^{(n)} <eos>; padding id is 0.
    """

    def __init__(self, src: list[list[int]], tgt: list[list[int]], groups: list[list[int]], bos: int, eos: int):
        self.src, self.tgt, self.groups, self.bos, self.eos = src, tgt, groups, bos, eos

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int):
        group = self.groups[i]
        src, src_lengths = pad([self.src[j] for j in group])  # (B, S), (B,)
        tgt_in, _ = pad([[self.bos, *self.tgt[j]] for j in group])  # (B, T)
        tgt_out, _ = pad([[*self.tgt[j], self.eos] for j in group])  # (B, T)
        return src, src_lengths, tgt_in, tgt_out


class TranslationTask:
    """A :class:`rnnkit.engine.TrainingTask` over encoded sentence pairs.

    Args:
        train: (source ids, target ids) lists of the training pairs (no <bos>/<eos>).
        dev: the same for the dev pairs, or None.
        dev_references: the dev target sentences as text, for BLEU.
        settings: the TranslatorSettings.
        bos, eos: target <bos> and <eos> ids.
        translate: ``translate(model, source id lists) -> list of strings``, greedy (for dev BLEU).
        seed: the run's seed (batch order).
    """

    def __init__(
        self,
        train: tuple[list[list[int]], list[list[int]]],
        dev: tuple[list[list[int]], list[list[int]]] | None,
        dev_references: list[str],
        settings: TranslatorSettings,
        bos: int,
        eos: int,
        translate: Callable[[torch.nn.Module, list[list[int]]], list[str]],
        seed: int = 0,
    ) -> None:
        self.train, self.dev, self.dev_references = train, dev, dev_references
        self.settings, self.bos, self.eos = settings, bos, eos
        self.translate, self.seed = translate, seed
        self.schedule = settings.schedule()
        # Bucket by the longer side, so both the encoder's and the decoder's padding stay small.
        self.train_lengths = [max(len(s), len(t)) for s, t in zip(*train, strict=True)]

    def train_batches(self, epoch: int) -> PairBatches:
        groups = length_buckets(self.train_lengths, self.settings.batch_size, self.seed, epoch)
        return PairBatches(*self.train, groups, self.bos, self.eos)

    def eval_batches(self) -> PairBatches | list:
        if self.dev is None:
            return []
        lengths = [max(len(s), len(t)) for s, t in zip(*self.dev, strict=True)]
        groups = length_buckets(lengths, self.settings.batch_size, self.seed, 0, shuffle=False)
        return PairBatches(*self.dev, groups, self.bos, self.eos)

    def loss(self, model: torch.nn.Module, batch: Any, state: Any, step: int) -> StepResult:
        src, src_lengths, tgt_in, tgt_out = batch
        probability = self.schedule.sample_probability(step) if self.schedule and model.training else 0.0
        if probability > 0:
            memory, initial = model.encode(src, src_lengths)
            logits, _ = unroll(lambda ids, st: model.step(ids, st, memory)[:2], tgt_in, probability, initial)
        else:
            logits = model(src, src_lengths, tgt_in)  # (B, T, V)
        smoothing = self.settings.label_smoothing if model.training else 0.0
        flat_logits, flat_targets = logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1)  # (B·T, V), (B·T,)
        loss = F.cross_entropy(flat_logits, flat_targets, ignore_index=0, label_smoothing=smoothing)
        metrics = {"sample_probability": probability} if self.schedule else {}
        return StepResult(loss, int((tgt_out != 0).sum()), None, metrics)

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]:
        """Dev BLEU of greedy translations of the first ``eval_sentences`` dev sentences."""
        if self.dev is None:
            return {}
        n = min(self.settings.eval_sentences, len(self.dev[0]))
        hypotheses = self.translate(model, self.dev[0][:n])
        return {"bleu": corpus_bleu(hypotheses, self.dev_references[:n], self.settings.bleu_tokenize)}


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str) -> float:
    """sacreBLEU's corpus BLEU. With ``tokenize="none"`` the text is declared pre-tokenised, so sacreBLEU's
    warning about tokenised periods is switched off (``force``)."""
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize,
                                 force=tokenize == "none").score

