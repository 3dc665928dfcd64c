"""Ensembles: several trained taggers, or classifiers, over the same tags or labels that predict together.

``TaggerEnsemble`` averages as a product of experts (:mod:`rnnkit.tasks.tagging_training`): the mean of
the members' per-token scores and of their CRFs' transition scores, decoded by argmax or Viterbi as one
tagger's would be, so that it finds argmax_y Π_m p_m(y | x)^{1/M}. ``ClassifierEnsemble`` averages the
members' class probabilities, p(c | x) = (1/M) Σ_m p_m(c | x), which stay probabilities for ``rnnkit
classify`` to print. Members may differ in anything but their tags or labels: seeds, sizes, heads,
read-outs, vocabularies (each reads the text with its own), character-LM features. A few members trained
with different seeds are a standard way to a better model at the cost of prediction time: seeds alone move
a BiLSTM-CRF's CoNLL-2003 F1 by about a point (Reimers & Gurevych 2017), and an ensemble averages that out.

    >>> ensemble = TaggerEnsemble.load(["runs/ner-seed0", "runs/ner-seed1"])  # doctest: +SKIP
    >>> ensemble.predict([["EU", "rejects", "German", "call"]])  # doctest: +SKIP
    [['B-ORG', 'O', 'B-MISC', 'O']]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.classification import Classifier, LabelPredictor
from rnnkit.tasks.tagging import Tagger, TagPredictor
from rnnkit.tasks.tagging_training import Member


def _check_members(members: Sequence, names: Sequence[str] | None, symbols, what: str) -> None:
    """ConfigError for no member, or for a member whose ``symbols(member)`` differ from the first's (members
    named by ``names``, default member 1, 2, ...)."""
    if not members:
        raise ConfigError(f"an ensemble needs at least one {what}")
    names = list(names) if names is not None else [f"member {i + 1}" for i in range(len(members))]
    first = symbols(members[0])
    for member, name in zip(members[1:], names[1:], strict=True):
        if symbols(member) != first:
            raise ConfigError(f"{name} predicts {', '.join(symbols(member)[:20])}, but {names[0]} predicts "
                              f"{', '.join(first[:20])}: an ensemble's members must share their tags or labels")


class TaggerEnsemble(TagPredictor):
    """Fitted :class:`~rnnkit.tasks.tagging.Tagger` s that tag together; the first one's tags, headline
    metric, batch size, format and column stand for the ensemble.

    Args:
        taggers: one or more fitted taggers with the same tags in the same order (on the same device).
        names: what to call each member in messages (default: member 1, 2, ...).

    Raises:
        ConfigError: no tagger, or a member whose tags differ from the first's.
    """

    def __init__(self, taggers: Sequence[Tagger], names: Sequence[str] | None = None) -> None:
        _check_members(taggers, names, lambda tagger: tagger.encoder_.tags.symbols, "tagger")
        self.taggers = list(taggers)
        first = taggers[0]
        self.encoder_, self.headline_, self.batch_size = first.encoder_, first.headline_, first.batch_size
        self.data_format, self.column = first.data_format, first.column

    @classmethod
    def load(cls, paths: Sequence[str | Path], device: str = "cpu") -> TaggerEnsemble:
        """The ensemble of the tagger checkpoints (or run directories) at ``paths``."""
        return cls([Tagger.load(path, device=device) for path in paths], [str(path) for path in paths])

    def _members(self) -> list[Member]:
        return [member for tagger in self.taggers for member in tagger._members()]


class ClassifierEnsemble(LabelPredictor):
    """Fitted :class:`~rnnkit.tasks.classification.Classifier` s that classify together; the first one's
    labels and the way it reads files (format, tokenizer, fields) stand for the ensemble.

    Args:
        classifiers: one or more fitted classifiers with the same labels in the same order.
        names: what to call each member in messages (default: member 1, 2, ...).

    Raises:
        ConfigError: no classifier, or a member whose labels differ from the first's.
    """

    def __init__(self, classifiers: Sequence[Classifier], names: Sequence[str] | None = None) -> None:
        _check_members(classifiers, names, lambda classifier: classifier.classes_.symbols, "classifier")
        self.classifiers = list(classifiers)
        first = classifiers[0]
        self.classes_ = first.classes_
        self.data_format, self.tokenizer = first.data_format, first.tokenizer
        self.label_field, self.text_field = first.label_field, first.text_field

    @classmethod
    def load(cls, paths: Sequence[str | Path], device: str = "cpu") -> ClassifierEnsemble:
        """The ensemble of the classifier checkpoints (or run directories) at ``paths``."""
        return cls([Classifier.load(path, device=device) for path in paths], [str(path) for path in paths])

    def predict_proba(self, texts: Iterable[Sequence[str]]) -> torch.Tensor:
        """(N, C) the members' mean class probabilities, in ``classes_`` order."""
        texts = [list(t) for t in texts]
        return torch.stack([classifier.predict_proba(texts) for classifier in self.classifiers]).mean(0)
