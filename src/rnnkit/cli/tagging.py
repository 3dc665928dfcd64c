"""Tagging and classification commands: ``rnnkit train tagger``, ``rnnkit tag``, ``rnnkit train classifier``,
``rnnkit classify``, and ``rnnkit evaluate`` for tagger and classifier checkpoints.

Examples:
    rnnkit train tagger --train en_ewt-ud-train.conllu --dev en_ewt-ud-dev.conllu --out runs/pos
    rnnkit tag runs/pos sentences.txt                   # one sentence a line → token/TAG pairs
    rnnkit tag runs/pos test.conllu > tagged.conllu     # CoNLL-U in, CoNLL-U out (UPOS filled)
    rnnkit train tagger --train train.txt --dev valid.txt --format conll --column ner --head crf --out runs/ner
    rnnkit evaluate runs/ner test.txt --plot confusion.png
    rnnkit evaluate runs/ner test.txt --ensemble runs/ner-seed1   # two taggers' averaged scores
    rnnkit train lm --data corpus.txt --out runs/clm-fw && rnnkit train lm --data corpus.txt --reverse --out runs/clm-bw
    rnnkit train tagger --train train.conllu --dev dev.conllu --lm-features runs/clm-fw runs/clm-bw --out runs/pos-lm
    rnnkit train classifier --train stsa.binary.train --dev stsa.binary.dev --out runs/sst
    rnnkit train lm --level word --data sentences.txt --embedding 100 --hidden 150 --layers 1 --out runs/lm-words
    rnnkit train classifier --train stsa.binary.train --embedding-dim 100 --init-from runs/lm-words --out runs/sst-lm
    rnnkit train classifier --train stsa.binary.train --lm-features runs/clm-fw runs/clm-bw --out runs/sst-clm
    echo "a gorgeous , witty film" | rnnkit classify runs/sst
    rnnkit classify runs/sst texts.txt --ensemble runs/sst-seed1   # the two classifiers' mean probabilities
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import deque
from collections.abc import Iterator, Sequence

from rnnkit.cli.common import (
    add_run_arguments,
    add_setting_flags,
    chunk_size,
    given_settings,
    log_training_end,
    signature_defaults,
)
from rnnkit.data.labelled_text import FORMATS as TEXT_FORMATS
from rnnkit.data.labelled_text import TOKENIZERS, read_labelled
from rnnkit.data.tagged_sentence import FORMATS as TAG_FORMATS
from rnnkit.data.tagged_sentence import TaggedSentence
from rnnkit.engine.config import TrainConfig, train_config_from_args
from rnnkit.engine.settings import read_settings_file, split_settings
from rnnkit.errors import ConfigError
from rnnkit.metrics.confusion import ConfusionMatrix, scores_table
from rnnkit.tasks.classification import Classifier, LabelPredictor
from rnnkit.tasks.ensembles import ClassifierEnsemble, TaggerEnsemble
from rnnkit.tasks.tagging import DEFAULT_COLUMNS, Tagger, TagPredictor, read_tagged, resolve_format

log = logging.getLogger("rnnkit.cli")

LM_PROJECTION_FLAG = ("lm_projection", int, "map the --lm-features states to this many features first, a learned "
                      "linear layer: with large LMs a smaller Bi-RNN input and faster steps")
# flag -> (constructor argument, type, help); defaults are read from the constructors' signatures.
TAGGER_FLAGS = {
    "cell": ("cell", str, "recurrent cell: lstm, gru (the lecture's), gru-cudnn (torch's fused form) or elman"),
    "word-dim": ("word_dim", int, "word embedding size E"),
    "char-dim": ("char_dim", int, "character embedding size; 0 switches the character Bi-RNN off"),
    "char-hidden": ("char_hidden", int, "character Bi-RNN hidden size per direction"),
    "hidden": ("hidden_size", int, "sentence Bi-RNN hidden size H per direction"),
    "layers": ("num_layers", int, "stacked Bi-RNN layers L"),
    "dropout": ("dropout", float, "dropout rate"),
    "head": ("head", str, "output layer: softmax (per token) or crf (Viterbi over tag transitions)"),
    "min-freq": ("min_freq", int, "words seen fewer times in training become <unk>"),
    "word-dropout": ("word_dropout", float, "probability of replacing a training word by <unk>"),
    "embeddings": ("embeddings", str, "pretrained word vectors, word2vec/GloVe text format, size --word-dim"),
    "init-from": ("init_from", str, "word-level language model (checkpoint or run directory of 'rnnkit train lm "
                  "--level word') whose embeddings and RNN layers start the tagger; same --cell, sizes E, H"),
    "lm-projection": LM_PROJECTION_FLAG,
    "aux-weight": ("aux_weight", float, "weight of the --aux-columns losses against the tags' loss"),
    "batch-size": ("batch_size", int, "sentences per batch"),
}
CLASSIFIER_FLAGS = {
    "cell": ("cell", str, "recurrent cell: lstm, gru (the lecture's), gru-cudnn (torch's fused form) or elman"),
    "embedding-dim": ("embedding_dim", int, "word embedding size E"),
    "hidden": ("hidden_size", int, "Bi-RNN hidden size H per direction"),
    "layers": ("num_layers", int, "stacked Bi-RNN layers L"),
    "dropout": ("dropout", float, "dropout rate"),
    "pooling": ("pooling", str, "read-out: final (the two final states, the lecture's), mean, max or attention"),
    "min-freq": ("min_freq", int, "words seen fewer times in training become <unk>"),
    "word-dropout": ("word_dropout", float, "probability of replacing a training word by <unk>"),
    "max-length": ("max_length", int, "keep only the first N tokens of each text"),
    "embeddings": ("embeddings", str, "pretrained word vectors, word2vec/GloVe text format, size --embedding-dim"),
    "init-from": ("init_from", str, "word-level language model (checkpoint or run directory of 'rnnkit train lm "
                  "--level word') whose embeddings and RNN layers start the classifier; same --cell, sizes E, H"),
    "lm-projection": LM_PROJECTION_FLAG,
    "batch-size": ("batch_size", int, "texts per batch"),
    "tokenizer": ("tokenizer", str, f"how texts are split: {' or '.join(TOKENIZERS)} (words and punctuation)"),
    "label-field": ("label_field", str, "the label's field in TSV/CSV/JSONL files"),
    "text-field": ("text_field", str, "the text's field in TSV/CSV/JSONL files"),
}


# on/off flags of both (--lowercase / --no-lowercase): flag -> (constructor argument, help)
SWITCHES = {
    "lowercase": ("lowercase", "look words up in lower case"),
    "freeze-embeddings": ("freeze_embeddings", "keep the word embeddings fixed in training (e.g. those of "
                          "--init-from or --embeddings; words without a pretrained vector keep their random one)"),
}


def _add_flags(parser: argparse.ArgumentParser, flags: dict, cls: type, out: str) -> None:
    """The model group (``flags`` and the switches, defaults from ``cls``), then the run flags."""
    defaults = signature_defaults(cls)
    group = parser.add_argument_group("model")
    add_setting_flags(group, flags, defaults)
    for flag, (name, text) in SWITCHES.items():
        group.add_argument(f"--{flag}", dest=name, action=argparse.BooleanOptionalAction, default=None,
                           help=f"{text} (default: {'yes' if defaults[name] else 'no'})")
    add_run_arguments(parser, out, "JSON file of model and training settings")


def _settings(args: argparse.Namespace, flags: dict, cls: type) -> tuple[dict, TrainConfig]:
    """Model settings and TrainConfig from --config (its keys split by owner), then the flags."""
    values = read_settings_file(args.config, cls) if args.config else {}
    settings, training = split_settings(values, cls, args.config or "<config>")
    base = TrainConfig.from_dict(training, args.config or "<config>")
    settings.update(given_settings(args, [n for n, _, _ in flags.values()] + [n for n, _ in SWITCHES.values()]))
    return settings, train_config_from_args(args, base)


def _model_error(err: ValueError) -> ConfigError:
    return ConfigError(f"bad setting: {err}")


# ----- tagger -----


def _add_train_tagger(train: argparse._SubParsersAction) -> None:
    parser = train.add_parser("tagger", help="train a Bi-RNN sequence tagger (POS, NER)",
                              description="Train a word + character Bi-RNN tagger with a softmax or CRF head.")
    data = parser.add_argument_group("data")
    data.add_argument("--train", required=True, help="training file (CoNLL-U or CoNLL-2003 columns)")
    data.add_argument("--dev", default=None, help="development file for early stopping (default: none)")
    data.add_argument("--format", default="auto", choices=("auto", "conllu", "conll"),
                      help="file format; auto: conllu for *.conllu files (default: auto)")
    data.add_argument("--column", default=None,
                      help="tag column: upos, xpos or feats (CoNLL-U); ner, pos, chunk or a number (CoNLL) "
                           "(default: upos / ner)")
    data.add_argument("--aux-columns", nargs="+", metavar="COLUMN", default=None,
                      help="more columns of --train to learn beside the tags, never predicted (multi-task "
                           "learning), e.g. xpos feats for a UPOS tagger; CoNLL-U: upos, xpos, feats; CoNLL: pos, "
                           "chunk, ner or a number (default: none)")
    _add_flags(parser, TAGGER_FLAGS, Tagger, "runs/tagger")
    _add_lm_features(parser)
    parser.set_defaults(run=run_train_tagger)


def _add_lm_features(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lm-features", nargs="+", metavar="LM", default=None,
                        help="character-level language models (checkpoints or run directories of 'rnnkit train lm', "
                             "a backward one with --reverse) whose states join each word's vector, frozen "
                             "(Flair's contextual string embeddings; default: none)")


def _train_format(args: argparse.Namespace, configured: str | None) -> str:
    """--format, else a --config file's data_format, else what the training file's name says."""
    fmt = configured if args.format == "auto" else args.format
    if fmt is None:
        if str(args.train).endswith(".conllu"):
            return "conllu"
        raise ConfigError(f"{args.train}: give --format conllu or --format conll (the file name does not say)")
    if fmt not in DEFAULT_COLUMNS:
        raise ConfigError(f"{args.config}: data_format must be one of {', '.join(DEFAULT_COLUMNS)}, got {fmt!r}")
    return fmt


def _read_tagged(
    path: str, fmt: str, column: str | None, labelled: bool = True, aux: Sequence[str] = ()
) -> Iterator[TaggedSentence]:
    """``read_tagged``, a bad column name a one-line error."""
    try:
        return read_tagged(path, fmt, column, labelled, aux)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None


def run_train_tagger(args: argparse.Namespace) -> int:
    settings, config = _settings(args, TAGGER_FLAGS, Tagger)
    fmt = _train_format(args, settings.pop("data_format", None))  # the data flags win over a --config file
    configured_column = settings.pop("column", None)
    column = args.column or configured_column or DEFAULT_COLUMNS[fmt]
    if args.lm_features:  # else a --config file's lm_features stands
        settings["lm_features"] = args.lm_features
    if args.aux_columns:  # the same for aux_columns
        settings["aux_columns"] = args.aux_columns
    train = list(_read_tagged(args.train, fmt, column, aux=settings.get("aux_columns") or ()))
    dev = None if args.dev is None else list(_read_tagged(args.dev, fmt, column))
    log.info("%s: %d sentences; dev: %s", args.train, len(train), "-" if dev is None else f"{len(dev)} sentences")
    tagger = Tagger(**settings, train_config=config, out_dir=args.out, data_format=fmt, column=column)
    try:
        tagger.fit(train, dev, resume=args.resume)
    except ValueError as err:
        raise _model_error(err) from None
    log_training_end(tagger.result_, "training loss" if dev is None else f"dev {tagger.headline_}", args.out)
    return 0


def _add_tag(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("tag", help="tag sentences with a tagger checkpoint",
                                 description="Tag raw text (one sentence a line, tokens separated by spaces; "
                                             "printed as token/TAG) or CoNLL-U/CoNLL files (printed in the same "
                                             "format with the tag column filled). Output is streamed.")
    parser.add_argument("checkpoint", help="checkpoint or run directory")
    parser.add_argument("file", nargs="?", default="-", help="input file ('-': standard input, default)")
    parser.add_argument("--format", default="auto", choices=("auto", *TAG_FORMATS),
                        help="input and output format; auto: conllu for *.conllu files, else text (default: auto)")
    parser.add_argument("--column", default=None,
                        help="the column to fill (default: the trained column if the format has it, else upos/ner)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="sentences tagged together (default: 64 from a file, 1 from a terminal)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    _add_ensemble(parser, "tagger")
    parser.set_defaults(run=run_tag)


def _add_ensemble(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--ensemble", action="append", default=[], metavar="CHECKPOINT",
                        help=f"a further {what} checkpoint that predicts together with CHECKPOINT (repeat for more; "
                             "see rnnkit.tasks.ensembles)")


def _load_tagger(args: argparse.Namespace) -> TagPredictor:
    """The checkpoint's Tagger, or with ``--ensemble`` the ensemble of it and the further checkpoints."""
    if not args.ensemble:
        return Tagger.load(args.checkpoint, device=args.device)
    return TaggerEnsemble.load([args.checkpoint, *args.ensemble], device=args.device)


def _load_classifier(args: argparse.Namespace) -> LabelPredictor:
    """The checkpoint's Classifier, or with ``--ensemble`` the ensemble of it and the further checkpoints."""
    if not args.ensemble:
        return Classifier.load(args.checkpoint, device=args.device)
    return ClassifierEnsemble.load([args.checkpoint, *args.ensemble], device=args.device)


def _column_for(tagger: TagPredictor, fmt: str, given: str | None) -> str | None:
    if given or fmt == "text":
        return given
    return tagger.column if tagger.data_format == fmt else DEFAULT_COLUMNS[fmt]


def run_tag(args: argparse.Namespace) -> int:
    tagger = _load_tagger(args)
    fmt = resolve_format(args.file, args.format)
    sentences = _read_tagged(args.file, fmt, _column_for(tagger, fmt, args.column), labelled=False)
    ending = "\n" if fmt == "text" else "\n\n"
    waiting: deque = deque()  # sentences read but not yet written, in order

    def tokens():
        for sentence in sentences:
            waiting.append(sentence)
            yield sentence.tokens

    for tags in tagger.predict_stream(tokens(), chunk=chunk_size(args.chunk, args.file, from_file=64)):
        sys.stdout.write(waiting.popleft().render(tags) + ending)
        if not waiting:  # the end of a chunk: let a pipe see it now
            sys.stdout.flush()
    return 0


# ----- classifier -----


def _add_train_classifier(train: argparse._SubParsersAction) -> None:
    parser = train.add_parser("classifier", help="train a Bi-RNN sequence classifier (sentiment)",
                              description="Train a Bi-RNN text classifier; read-out: final states or pooling.")
    data = parser.add_argument_group("data")
    data.add_argument("--train", required=True, help="training file: 'label sentence' lines, TSV, CSV or JSONL")
    data.add_argument("--dev", default=None, help="development file for early stopping (default: none)")
    data.add_argument("--format", default="auto", choices=[f for f in TEXT_FORMATS if f != "text"],
                      help="file format; auto: by suffix (.jsonl, .tsv, .csv), else 'label sentence' (default: auto)")
    _add_flags(parser, CLASSIFIER_FLAGS, Classifier, "runs/classifier")
    _add_lm_features(parser)
    parser.set_defaults(run=run_train_classifier)


def _read_examples(path: str, classifier: Classifier | ClassifierEnsemble, fmt: str):
    return read_labelled(path, fmt, classifier.label_field, classifier.text_field, classifier.tokenizer)


def run_train_classifier(args: argparse.Namespace) -> int:
    settings, config = _settings(args, CLASSIFIER_FLAGS, Classifier)
    configured = settings.pop("data_format", None)  # --format wins over a --config file
    fmt = configured if args.format == "auto" and configured is not None else args.format
    if args.lm_features:  # else a --config file's lm_features stands
        settings["lm_features"] = args.lm_features
    classifier = Classifier(**settings, train_config=config, out_dir=args.out, data_format=fmt)
    try:
        train = list(_read_examples(args.train, classifier, fmt))
        dev = None if args.dev is None else list(_read_examples(args.dev, classifier, fmt))
        log.info("%s: %d examples; dev: %s", args.train, len(train), "-" if dev is None else f"{len(dev)} examples")
        classifier.fit(train, dev, resume=args.resume)
    except ValueError as err:
        raise _model_error(err) from None
    log_training_end(classifier.result_, "training loss" if dev is None else "dev accuracy", args.out)
    return 0


def _add_classify(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("classify", help="classify texts with a classifier checkpoint",
                                 description="Print 'LABEL<TAB>PROBABILITY' for every input text, streamed.")
    parser.add_argument("checkpoint", help="checkpoint or run directory")
    parser.add_argument("file", nargs="?", default="-", help="input file ('-': standard input, default)")
    parser.add_argument("--format", default="text", choices=TEXT_FORMATS,
                        help="input format: text (one text a line) or a labelled format whose labels are "
                             "ignored (default: text)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="texts classified together (default: 64 from a file, 1 from a terminal)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    _add_ensemble(parser, "classifier")
    parser.set_defaults(run=run_classify)


def run_classify(args: argparse.Namespace) -> int:
    classifier = _load_classifier(args)
    texts = (example.tokens for example in _read_examples(args.file, classifier, args.format))
    for label, probability in classifier.predict_stream(texts, chunk=chunk_size(args.chunk, args.file, from_file=64)):
        sys.stdout.write(f"{label}\t{probability:.4f}\n")
        sys.stdout.flush()
    return 0


# ----- evaluation -----


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate CHECKPOINT FILE [--format F] [--plot PNG]`` for a tagger or a classifier."""
    from rnnkit.engine.checkpoint import read_task

    if not args.file:
        raise ConfigError("give the labelled FILE to evaluate on")
    if read_task(args.checkpoint) == "tagger":
        return _evaluate_tagger(args)
    return _evaluate_classifier(args)


def _evaluate_tagger(args: argparse.Namespace) -> int:
    tagger = _load_tagger(args)
    fmt = args.format or tagger.data_format
    report = tagger.evaluate(_read_tagged(args.file, fmt, _column_for(tagger, fmt, None)))
    print(f"{args.file}: {report.sentences} sentences, {report.tokens} tokens")
    print(f"token accuracy {100 * report.accuracy:.2f}")
    if report.spans is not None:
        s = report.spans
        print(f"spans: precision {100 * s.precision:.2f}  recall {100 * s.recall:.2f}  F1 {100 * s.f1:.2f}")
        print(scores_table(s.per_type))
    print("per tag (tokens):")
    return _report_confusion(report.confusion, args, "tag confusion")


def _evaluate_classifier(args: argparse.Namespace) -> int:
    classifier = _load_classifier(args)
    fmt = args.format or classifier.data_format or "auto"
    report = classifier.evaluate(_read_examples(args.file, classifier, fmt))
    print(f"{args.file}: {report.examples} examples")
    print(f"accuracy {100 * report.accuracy:.2f}  macro-F1 {100 * report.macro_f1:.2f}")
    return _report_confusion(report.confusion, args, "confusion")


def _report_confusion(confusion: ConfusionMatrix, args: argparse.Namespace, title: str) -> int:
    """Print per-label scores and the confusion matrix; draw it to ``--plot`` when given."""
    print(scores_table(confusion.scores()))
    print("confusion matrix (rows gold, columns predicted):")
    print(confusion.to_text())
    if args.plot:
        confusion.plot(args.plot, title=f"{args.file}: {title}")
        log.info("confusion matrix written to %s", args.plot)
    return 0


def register(commands: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    _add_train_tagger(train)
    _add_tag(commands)
    _add_train_classifier(train)
    _add_classify(commands)
