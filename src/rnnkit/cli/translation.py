"""Translation commands: ``rnnkit train translator``, ``rnnkit translate`` (and ``evaluate`` for translators).

Examples:
    rnnkit train translator --train-src train.de --train-tgt train.en --dev-src val.de --dev-tgt val.en \\
        --out runs/de-en --time-budget 600
    rnnkit train translator --train-tsv deu.txt --reverse --tokenizer bpe --vocab-size 8000 --out runs/de-en
    echo "ein hund rennt ." | rnnkit translate runs/de-en - --beam 5
    rnnkit translate runs/de-en test.de --n-best 3 --plot-attention attention.png
    rnnkit evaluate runs/de-en --src test.de --ref test.en --beam 5
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import typing

from rnnkit.cli.common import add_run_arguments, add_setting_flags, chunk_size, given_settings, log_training_end
from rnnkit.data.lines import display_name
from rnnkit.data.parallel import aligned_lines, iter_lines, read_parallel, read_tsv
from rnnkit.engine.config import TrainConfig, train_config_from_args
from rnnkit.engine.settings import read_settings_file, split_settings, task_keys
from rnnkit.errors import ConfigError
from rnnkit.tasks.translation import Translator
from rnnkit.tasks.translation_training import TranslatorSettings

log = logging.getLogger("rnnkit.cli")

# TranslatorSettings field -> help text; the flag is --field-name, the default the dataclass's.
SETTING_HELP = {
    "tokenizer": "whitespace (pre-tokenised text), regex (word splitter), bpe or unigram (sentencepiece)",
    "vocab_size": "bpe/unigram: subword pieces per language (an upper bound)",
    "min_freq": "whitespace/regex: words seen fewer times become <unk>",
    "max_vocab": "whitespace/regex: largest vocabulary per language, specials included",
    "attention": "additive (Bahdanau), dot or general (Luong), or none (plain encoder-decoder)",
    "cell": "recurrent cell: elman, gru (torch's fused form), gru-lecture (the lecture's form) or lstm",
    "embedding_size": "embedding size E",
    "hidden_size": "decoder state size H (each encoder direction has H/2)",
    "num_layers": "encoder and decoder layers L",
    "dropout": "dropout on embeddings, between layers and before the output layer",
    "label_smoothing": "label smoothing ε of the training loss",
    "scheduled_sampling": "feed the model's own samples: linear, exponential or inverse_sigmoid schedule",
    "ss_steps": "scheduled sampling: steps over which the probability of feeding the truth decays",
    "ss_min_truth": "scheduled sampling: lowest probability of feeding the truth",
    "batch_size": "sentence pairs per batch",
    "max_length": "skip training pairs with a side longer than this (tokens)",
    "max_ratio": "skip training pairs whose longer side is over this many times the shorter",
    "max_input_length": "cut sentences to translate to this many tokens (with a warning)",
    "max_len_a": "a translation has at most a*S+b tokens (S: source length): a",
    "max_len_b": "... and b",
    "length_penalty": "beam search length normalisation alpha (0: raw log-probabilities)",
    "eval_sentences": "dev BLEU during training on at most this many dev sentences",
    "bleu_tokenize": "sacreBLEU tokenizer: 13a, none (pre-tokenised text), intl, char, ...",
}


def _setting_flags() -> dict[str, tuple[str, type, str]]:
    """The flag table of TranslatorSettings: --field-name, typed as the field (None aside)."""
    hints = typing.get_type_hints(TranslatorSettings)
    flags = {}
    for field in dataclasses.fields(TranslatorSettings):
        kind = next(t for t in typing.get_args(hints[field.name]) or (hints[field.name],) if t is not type(None))
        flags[field.name.replace("_", "-")] = (field.name, kind, SETTING_HELP[field.name])
    return flags


def _add_train(train: argparse._SubParsersAction) -> None:
    parser = train.add_parser("translator", help="train an encoder-decoder translation model",
                              description="Train an RNN encoder-decoder (with attention) on parallel text. "
                              "With dev data, the best checkpoint is the one of highest dev BLEU (--monitor bleu "
                              "--monitor-mode max are then the defaults).")
    data = parser.add_argument_group("data")
    data.add_argument("--train-src", default=None, help="training source sentences, one a line (.gz allowed)")
    data.add_argument("--train-tgt", default=None, help="training target sentences, line-aligned with --train-src")
    data.add_argument("--train-tsv", default=None, help="training pairs as 'source<TAB>target[<TAB>...]' lines")
    data.add_argument("--dev-src", default=None, help="dev source sentences (default: none)")
    data.add_argument("--dev-tgt", default=None, help="dev target sentences (default: none)")
    data.add_argument("--dev-tsv", default=None, help="dev pairs as tab-separated lines (default: none)")
    data.add_argument("--reverse", action="store_true", default=False,
                      help="with --train-tsv/--dev-tsv: translate the second column into the first (default: no)")
    add_setting_flags(parser.add_argument_group("translator"), _setting_flags(),
                      dataclasses.asdict(TranslatorSettings()))
    add_run_arguments(parser, "runs/translator", "JSON file of translator settings")
    parser.set_defaults(run=run_train)


def _read_pairs(src: str | None, tgt: str | None, tsv: str | None, reverse: bool, what: str):
    if tsv is not None and (src or tgt):
        raise ConfigError(f"give either --{what}-tsv or --{what}-src/--{what}-tgt, not both")
    if tsv is not None:
        pairs = read_tsv(tsv, reverse=reverse)
    elif src and tgt:
        pairs = read_parallel(src, tgt)
    elif src or tgt:
        raise ConfigError(f"--{what}-src and --{what}-tgt go together")
    else:
        return None
    pairs.log_dropped(tsv or f"{src} / {tgt}")
    return pairs


def run_train(args: argparse.Namespace) -> int:
    train = _read_pairs(args.train_src, args.train_tgt, args.train_tsv, args.reverse, "train")
    if train is None:
        raise ConfigError("training data needed: --train-src F --train-tgt F, or --train-tsv F")
    dev = _read_pairs(args.dev_src, args.dev_tgt, args.dev_tsv, args.reverse, "dev")
    source = args.config or "command line"
    values = read_settings_file(args.config, TranslatorSettings) if args.config else {}
    values, training = split_settings(values, TranslatorSettings, source)
    values.update(given_settings(args, task_keys(TranslatorSettings)))
    settings = TranslatorSettings.from_dict(values, source)
    base = TrainConfig.from_dict({**Translator.default_train_config(dev is not None).to_dict(), **training}, source)
    config = train_config_from_args(args, base)
    translator = Translator(settings, config).fit(train, dev, out_dir=args.out, resume=args.resume)
    log_training_end(translator.result_, config.monitor, args.out, digits=2)
    return 0


def _add_translate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("translate", help="translate sentences with a translator checkpoint",
                                 description="Translate one sentence a line; prints one translation a line.")
    parser.add_argument("checkpoint", help="checkpoint or run directory")
    parser.add_argument("file", nargs="?", default="-", help="sentences, one a line ('-': standard input, default)")
    parser.add_argument("--beam", type=int, default=5, help="beam size; 1 is greedy decoding (default: 5)")
    parser.add_argument("--n-best", type=int, default=1,
                        help="print the N best translations as 'LINE<TAB>RANK<TAB>SCORE<TAB>TEXT' (default: 1)")
    parser.add_argument("--plot-attention", metavar="OUT.png", default=None,
                        help="draw the attention matrix of the first non-empty sentence here (default: none)")
    parser.add_argument("--batch", type=int, default=None,
                        help="sentences translated together (default: 32 from a file, 1 from a terminal)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.set_defaults(run=run_translate)


def run_translate(args: argparse.Namespace) -> int:
    translator = Translator.load(args.checkpoint, device=args.device)
    if args.plot_attention and not translator.has_attention():
        raise ConfigError("this model has no attention (trained with --attention none): nothing to plot")
    chunk = chunk_size(args.batch, args.file, from_file=32)
    first: list[str] = []  # the first non-empty sentence, for --plot-attention

    def lines():
        for number, text in iter_lines(args.file):
            if not first and text.strip():
                first.append(text)
            yield number, text

    for number, results in translator.stream(lines(), args.beam, args.n_best, chunk, display_name(args.file)):
        if args.n_best == 1:
            sys.stdout.write(results[0][0] + "\n")
        else:
            for rank, (text, score) in enumerate(results, 1):
                sys.stdout.write(f"{number}\t{rank}\t{score:.4f}\t{text}\n")
        sys.stdout.flush()
    if args.plot_attention:
        if not first:
            raise ConfigError(f"{display_name(args.file)}: no non-empty sentence to plot the attention of")
        translator.plot_attention(first[0], args.plot_attention, beam=args.beam)
        log.info("attention of %r written to %s", first[0], args.plot_attention)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate CHECKPOINT --src F --ref F [--beam K]`` for a translator: BLEU and chrF."""
    if not args.src or not args.ref:
        raise ConfigError("evaluating a translator needs --src FILE and --ref FILE")
    sources, references = [], []
    for _, src, ref in aligned_lines(args.src, args.ref):
        sources.append(src)
        references.append(ref)
    translator = Translator.load(args.checkpoint, device=args.device)
    scores = translator.evaluate(sources, references, beam=args.beam)
    tokenize = translator.settings.bleu_tokenize
    sys.stdout.write(
        f"BLEU {scores['bleu']:.2f}  chrF {scores['chrf']:.2f}  ({len(sources)} sentences, beam {args.beam}, "
        f"sacreBLEU tokenize={tokenize}, {scores['sentences_per_s']:.1f} sentences/s)\n"
    )
    return 0


def register(commands: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    _add_train(train)
    _add_translate(commands)
