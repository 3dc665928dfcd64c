"""What a tagger or a classifier takes from pretrained rnnkit language models: its encoder's start from a
word-level LM (``init_from``), and frozen character LMs whose states join a tagger's word vectors
(``lm_features``, :func:`read_char_lms`; see :mod:`rnnkit.models.char_lm_features`).

Initialisation from a word-level LM (``init_from``):

A word LM trained on raw text (``rnnkit train lm --level word``) has learnt an embedding E_w for every
word w of its vocabulary and a left-to-right RNN whose state summarises x^{(1)} … x^{(t)}:

    e^{(t)} = E x^{(t)},   h^{(t)} = RNN_l(h_{l−1}^{(t)}, h^{(t−1)})      (layer l = 1 … L_lm; h_0 = e)

That is what the forward direction →h of a Bi-RNN encoder computes, so it transfers:

- embeddings: the row E_w of every word in both vocabularies (``<unk>`` too, ``<pad>`` never); the
  other words keep their random initialisation. The coverage is logged and kept in :class:`LMTransfer`.
- RNN: the LM's layer l → the forward direction of the encoder's layer l, for l = 1 … min(L_lm, L),
  when the cell and the sizes E and H agree. An encoder's input matrices W (G·H, I) read more than the
  LM's did: [E w_t ; c_t] in the tagger's layer 1 (c_t, the character Bi-RNN's word vector) and
  [→h ; ←h] of the layer below in layers ≥ 2. The columns of the LM's inputs (E w_t, →h) take the LM's
  W; the others start at zero, so that at the start of training →h^{(t)} is exactly the LM's state; they
  learn from the first step (their gradient δ c_tᵀ is not zero). Backward directions, the character
  Bi-RNN and the output layer keep their random initialisation.

A checkpoint that is not a word LM, or whose embedding size differs, is an error; a different cell or
hidden size only skips the RNN (a warning says so). Nothing of the LM is needed after construction:
the trained model's checkpoint holds all its weights, and ``init_from`` is kept as provenance only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rnnkit.data.embeddings import read_vectors
from rnnkit.data.vocab import PAD, UNK, Vocab
from rnnkit.engine import load_checkpoint, resolve
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.layers import Recurrent
from rnnkit.models.char_lm_features import CharLMFeatures
from rnnkit.tasks.language_model import LanguageModel

logger = logging.getLogger(__name__)

LM_TASK, LM_CLASS = "lm", "RNNLanguageModel"


@dataclass
class LMTransfer:
    """What ``init_from`` transferred: from which checkpoint, how many words, how many RNN layers."""

    source: str  # the checkpoint directory read (a run directory's best/, else last/)
    words: int  # words of the model's vocabulary (specials excluded) that got the LM's vector
    vocabulary: int  # words of the model's vocabulary, specials excluded
    layers: int  # encoder layers whose forward direction holds the LM's layer (0: embeddings only)

    @property
    def coverage(self) -> float:
        return self.words / max(self.vocabulary, 1)


def _read_word_lm(path: str | Path) -> tuple[Path, dict, dict[str, torch.Tensor], Vocab]:
    """(checkpoint directory, model config, weights, vocabulary) of a word-level LM checkpoint."""
    directory = resolve(path)
    meta, weights = load_checkpoint(directory, "cpu")
    if meta["task"] != LM_TASK or meta["model_class"] != LM_CLASS:
        raise CheckpointError(f"{directory}: init_from needs a word-level language model (rnnkit train lm "
                              f"--level word); this is a {meta['task']} checkpoint ({meta['model_class']})")
    level = meta.get("settings", {}).get("level")
    if level != "word":
        raise ConfigError(f"{directory}: a {level}-level language model; init_from needs a word-level one "
                          "(rnnkit train lm --level word)")
    try:
        vocab = Vocab.from_json(meta["vocabularies"]["tokens"])
        config = dict(meta["model_config"])
        sizes = [int(config[k]) for k in ("embedding_size", "hidden_size", "num_layers")]
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{directory}: malformed language-model config or vocabulary: {err}") from None
    if weights.get("embedding.weight", torch.empty(0)).shape != (len(vocab), sizes[0]):
        raise CheckpointError(f"{directory}: embedding.weight does not fit the vocabulary and embedding size")
    return directory, config, weights, vocab


def _cell_name(cell: str, variant: str) -> str:
    """The tagger's name of a cell ("gru-cudnn" for the GRU in torch's form)."""
    return f"{cell}-cudnn" if cell == "gru" and variant == "cudnn" else cell


def _copy_leading(target: nn.Parameter, source: torch.Tensor, name: str, directory: Path) -> None:
    """target ← source; a wider W (G·H, I) takes the source in its first columns and zeros in the rest."""
    if target.shape == source.shape:
        target.copy_(source)
        return
    if target.dim() != 2 or source.dim() != 2 or target.shape[0] != source.shape[0] or \
            target.shape[1] < source.shape[1]:
        raise CheckpointError(f"{directory}: {name} has shape {tuple(source.shape)}, which cannot initialise "
                              f"the encoder's {tuple(target.shape)}")
    target.zero_()
    target[:, : source.shape[1]] = source


def _transfer_rnn(rnn: Recurrent, weights: dict[str, torch.Tensor], lm_layers: int, directory: Path) -> int:
    """Copy the LM's layers into the forward directions (cells 0, 2, 4, ... of a Bi-RNN); returns their count."""
    layers = min(lm_layers, rnn.num_layers)
    for layer in range(layers):
        cell = rnn.cells[layer * rnn.num_directions]  # layer-major, forward first (Recurrent's order)
        for name, param in cell.named_parameters():
            key = f"rnn.cells.{layer}.{name}"
            if key not in weights:
                raise CheckpointError(f"{directory}: the language model lacks {key}")
            _copy_leading(param, weights[key], key, directory)
    return layers


def init_from_lm(path: str | Path, model: nn.Module, vocab: Vocab, size_name: str) -> LMTransfer:
    """Initialise ``model.embedding`` and the forward directions of ``model.rnn`` from the word LM at ``path``.

    Args:
        path: an LM checkpoint or run directory (``best/`` preferred, as everywhere).
        model: a :class:`~rnnkit.models.tagger.BiRNNTagger` or
            :class:`~rnnkit.models.classifier.BiRNNClassifier` (``embedding`` (V, E) and a Bi-RNN ``rnn``).
        vocab: the model's word vocabulary (row i of ``model.embedding`` is ``vocab.symbols[i]``).
        size_name: the setting that sets E, named in the size-mismatch error ("word_dim", "embedding_dim").

    Returns:
        an :class:`LMTransfer` (also logged: the vocabulary coverage and the layers initialised).
    """
    directory, config, weights, lm_vocab = _read_word_lm(path)
    size = model.embedding.embedding_dim
    if config["embedding_size"] != size:
        raise ConfigError(f"{directory}: the language model's embeddings have size {config['embedding_size']}, "
                          f"the model's {size_name} is {size}; set {size_name} (--{size_name.replace('_', '-')}) to "
                          f"{config['embedding_size']} or train the LM with --embedding {size}")
    rows = [(i, lm_vocab.index[w]) for i, w in enumerate(vocab.symbols) if w != PAD and w in lm_vocab.index]
    specials = {PAD, UNK}
    with torch.no_grad():
        if rows:
            ids, lm_ids = (torch.tensor(column) for column in zip(*rows, strict=True))
            model.embedding.weight[ids] = weights["embedding.weight"][lm_ids].to(model.embedding.weight)
        rnn: Recurrent = model.rnn
        ours = _cell_name(rnn.cell, rnn.variant)
        theirs = _cell_name(config.get("cell"), config.get("variant", "lecture"))
        layers = 0
        if (theirs, config["hidden_size"]) != (ours, rnn.hidden_size):
            logger.warning("%s: the RNN was not initialised: the language model's cell is %s with hidden size %d, "
                           "the encoder's %s with hidden size %d (only the embeddings were transferred)",
                           directory, theirs, config["hidden_size"], ours, rnn.hidden_size)
        else:
            layers = _transfer_rnn(rnn, weights, config["num_layers"], directory)
    report = LMTransfer(str(directory), sum(1 for i, _ in rows if vocab.symbols[i] not in specials),
                        sum(1 for w in vocab.symbols if w not in specials), layers)
    logger.info("%s: pretrained vectors for %d of %d words (%.1f%%); forward direction of %d of %d RNN layer(s) "
                "from the language model's %d layer(s)", directory, report.words, report.vocabulary,
                100 * report.coverage, layers, rnn.num_layers, config["num_layers"])
    return report


def pretrained_init(
    model: nn.Module, vocab: Vocab, embeddings: str | None, init_from: str | None, size_name: str
) -> LMTransfer | None:
    """The pretrained start of a tagger or classifier: word vectors from a word2vec/GloVe text file
    (``embeddings``), or embeddings and RNN from a word LM (``init_from``); the LM's report, if any."""
    if embeddings and init_from:
        raise ConfigError("give either embeddings (a vectors file) or init_from (a language model), not both")
    if embeddings:
        vectors, found = read_vectors(embeddings, vocab, model.embedding.embedding_dim)
        with torch.no_grad():
            model.embedding.weight[found] = vectors[found]
    return init_from_lm(init_from, model, vocab, size_name) if init_from else None


def read_char_lms(paths: Sequence[str | Path]) -> tuple[CharLMFeatures | None, list[Vocab]]:
    """The character LMs at ``paths`` (checkpoints or run directories) as one frozen
    :class:`~rnnkit.models.char_lm_features.CharLMFeatures`, and their vocabularies; (None, []) for none.

    A reverse LM (``rnnkit train lm --reverse``) reads right to left; any other one left to right.
    """
    if not paths:
        return None, []
    lms = [LanguageModel.load(path) for path in paths]
    for path, lm in zip(paths, lms, strict=True):
        if lm.level != "char":
            raise ConfigError(f"{path}: a {lm.level}-level language model; lm_features needs character-level ones "
                              "(rnnkit train lm --level char, and --reverse for a backward one)")
    directions = ["backward" if lm.reverse else "forward" for lm in lms]
    return CharLMFeatures([lm.model_ for lm in lms], directions), [lm.vocab_ for lm in lms]
