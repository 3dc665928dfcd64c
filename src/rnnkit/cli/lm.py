"""Language-model commands: ``rnnkit train lm``, ``rnnkit generate``, ``rnnkit score`` (and ``evaluate``).

Examples:
    rnnkit train lm --out runs/stdlib --time-budget 120            # default corpus: Python's stdlib
    rnnkit generate runs/stdlib --prime "def " --length 300
    rnnkit train lm --data input.txt --hidden 512 --dropout 0.2 --out runs/shakespeare
    rnnkit score runs/shakespeare held_out.txt
    rnnkit score runs/shakespeare held_out.txt --dynamic-lr 0.3   # the model adapts as it reads
"""

from __future__ import annotations

import argparse
import logging
import sys

from rnnkit.cli.common import (
    add_run_arguments,
    add_setting_flags,
    given_settings,
    log_training_end,
    signature_defaults,
)
from rnnkit.engine.adaptation import check_adaptation
from rnnkit.engine.checkpoint import read_meta
from rnnkit.engine.config import train_config_from_args
from rnnkit.engine.settings import read_settings_file, split_settings
from rnnkit.errors import ConfigError
from rnnkit.tasks import language_model as lm_api
from rnnkit.tasks.lm_generation import join_samples

log = logging.getLogger("rnnkit.cli")

# flag -> LanguageModel argument, with the help text; defaults come from LanguageModel's signature.
MODEL_FLAGS = {
    "level": ("level", str, "token level: char or word"),
    "cell": ("cell", str, "recurrent cell: elman, gru (the lecture's), gru-cudnn (torch's form) or lstm"),
    "hidden": ("hidden_size", int, "hidden state size H"),
    "layers": ("num_layers", int, "number of stacked recurrent layers L"),
    "embedding": ("embedding_size", int, "embedding size E; unset: 64 for char, H for word or tied weights"),
    "dropout": ("dropout", float, "dropout on embeddings, between layers and before the output layer"),
    "weight-dropout": ("weight_dropout", float, "DropConnect on the recurrent matrices, one mask per window"),
    "embedding-dropout": ("embedding_dropout", float, "probability of dropping a token type from a window"),
    "bptt": ("bptt", int, "truncated-BPTT window length T"),
    "batch-size": ("batch_size", int, "number of parallel streams B"),
    "min-freq": ("min_freq", int, "word level: words seen fewer times become <unk>"),
    "max-vocab": ("max_vocab", int, "word level: largest vocabulary, specials included"),
    "valid-fraction": ("valid_fraction", float, "last fraction of the text held out when --valid is absent"),
    "scheduled-sampling": ("scheduled_sampling", str,
                           "feed the model's own samples: linear, exponential or inverse_sigmoid schedule"),
    "ss-steps": ("ss_steps", int, "scheduled sampling: steps over which the truth probability decays"),
    "ss-min-truth": ("ss_min_truth", float, "scheduled sampling: lowest probability of feeding the truth"),
    "backend": ("backend", str, "recurrent layer backend: auto, autograd, bptt or torch"),
}


CHOICES = {"level": ("char", "word"), "cell": lm_api.CELLS, "scheduled_sampling": lm_api.SCHEDULES,
           "backend": ("auto", "autograd", "bptt", "torch")}


def _add_train(train: argparse._SubParsersAction) -> None:
    parser = train.add_parser("lm", help="train a character- or word-level language model",
                              description="Train a recurrent language model with truncated BPTT.")
    parser.add_argument("--data", nargs="+", metavar="PATH", default=None,
                        help="text files or directories (default: Python's standard-library source)")
    parser.add_argument("--valid", metavar="PATH", default=None,
                        help="validation text file (default: the last --valid-fraction of the data)")
    add_setting_flags(parser, MODEL_FLAGS, signature_defaults(lm_api.LanguageModel), CHOICES)
    parser.add_argument("--tie-weights", dest="tie_weights", action=argparse.BooleanOptionalAction,
                        default=None, help="share embedding and output weights, needs E = H (default: no)")
    parser.add_argument("--locked-dropout", dest="locked_dropout", action=argparse.BooleanOptionalAction,
                        default=None, help="--dropout with one mask per window, the same units dropped at every "
                                           "step (variational dropout; default: no, a fresh mask per step)")
    parser.add_argument("--reverse", dest="reverse", action=argparse.BooleanOptionalAction, default=None,
                        help="a backward character LM: read the text right to left, e.g. for a tagger's "
                             "--lm-features (default: no)")
    add_run_arguments(parser, "runs/lm", "JSON file of settings", lm_api.LanguageModel().engine_config())
    parser.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    settings: dict = {}
    data, valid = args.data, args.valid
    if args.resume:
        meta = read_meta(f"{args.out}/last", task=lm_api.TASK)
        saved = meta["settings"]
        settings = {k: v for k, v in saved.items() if k in lm_api.MODEL_KEYS}
        settings.update(saved.get("train_config", {}))
        corpus = meta.get("corpus", {})
        data = data or corpus.get("data")
        valid = valid or corpus.get("valid")
    if args.config:
        settings.update(read_settings_file(args.config, lm_api.LanguageModel))
    switches = ["tie_weights", "locked_dropout", "reverse"]
    given = given_settings(args, [*(name for name, _, _ in MODEL_FLAGS.values()), *switches])
    for name, value in given.items():
        if args.resume and name in settings and settings[name] != value:
            raise ConfigError(f"--resume: the run was trained with {name}={settings[name]!r}; "
                              "model settings cannot change when resuming")
    settings.update(given)
    model_settings, training = split_settings(settings, lm_api.LanguageModel, args.config or "command line")
    base = lm_api.LanguageModel(train_config=training).engine_config()
    training = train_config_from_args(args, base).to_dict()
    lm = lm_api.train(data=data, valid=valid, out_dir=args.out, resume=args.resume,
                      **model_settings, **training)
    log_training_end(lm.result_, "validation loss", args.out)
    log.info("try: rnnkit generate %s%s --length 300", args.out, ' --prime "def "' if data is None else "")
    return 0


def _add_generate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("generate", help="generate text from a language-model checkpoint",
                                 description="Sample text from a trained language model, printed as produced.")
    parser.add_argument("checkpoint", help="checkpoint or run directory")
    parser.add_argument("--prime", default="", help="text to start from (default: a line start)")
    parser.add_argument("--length", type=int, default=500, help="tokens to generate (default: 500)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="softmax temperature; lower is more conservative (default: 1.0)")
    parser.add_argument("--top-k", type=int, default=None, help="sample among the k most likely (default: all)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="sample within the smallest set of probability >= p (default: 1.0, all)")
    parser.add_argument("--greedy", action="store_true", default=False,
                        help="always take the most likely token (default: sample)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--num-samples", type=int, default=1, help="independent samples (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.set_defaults(run=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    if args.length < 1 or args.num_samples < 1:
        raise ConfigError("--length and --num-samples must be >= 1")
    lm = lm_api.LanguageModel.load(args.checkpoint, device=args.device)
    stream = lm.stream(args.prime, args.length, temperature=args.temperature, top_k=args.top_k,
                       top_p=args.top_p, greedy=args.greedy, seed=args.seed, num_samples=args.num_samples)
    if lm.reverse:  # generated right to left: the samples precede the prime, and come out whole
        for i, text in enumerate(join_samples(stream), 1):
            heading = f"----- sample {i} -----\n" if args.num_samples > 1 else ""
            sys.stdout.write(f"{heading}{text}{args.prime}\n")
        return 0
    if args.num_samples == 1:  # print each token as soon as it is chosen
        sys.stdout.write(args.prime)
        for (piece,) in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return 0
    samples = [args.prime + text for text in join_samples(stream)]
    for i, text in enumerate(samples, 1):
        sys.stdout.write(f"----- sample {i} -----\n{text}\n")
    return 0


def _add_score(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("score", help="perplexity and bits per character of a text",
                                 description="Score a text file with a trained language model.")
    parser.add_argument("checkpoint", help="checkpoint or run directory")
    parser.add_argument("file", help="UTF-8 text file ('-' for standard input)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--dynamic-lr", type=float, default=None, metavar="LR",
                        help="dynamic evaluation: read the text as one stream and let a copy of the model learn "
                             "from each window once it is scored, by SGD at this rate (default: off, static)")
    parser.add_argument("--dynamic-decay", type=float, default=0.0, metavar="DECAY",
                        help="dynamic evaluation: pull the adapted weights back towards the trained ones by this "
                             "fraction after each update, in [0, 1) (default: 0)")
    parser.set_defaults(run=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    """Print loss, perplexity and bits per character of ``args.file`` (``rnnkit score`` / ``evaluate``)."""
    if not args.file:
        raise ConfigError("give the text FILE to score")
    dynamic_lr = getattr(args, "dynamic_lr", None)  # `rnnkit evaluate` has no dynamic flags: static
    dynamic_decay = getattr(args, "dynamic_decay", 0.0)
    if dynamic_lr is not None:
        check_adaptation(dynamic_lr, dynamic_decay)  # before the checkpoint and the text are read
    lm = lm_api.LanguageModel.load(args.checkpoint, device=args.device)
    result = lm.evaluate(lm_api.text_data.read_text_file(args.file), dynamic_lr, dynamic_decay)
    how = "" if dynamic_lr is None else f", dynamic evaluation (lr {dynamic_lr:g}, decay {dynamic_decay:g})"
    print(f"{args.file}: perplexity {result['perplexity']:.3f}  bits/char {result['bits_per_char']:.4f}  "
          f"loss {result['loss']:.4f} nats/{lm.level}  ({int(result['tokens'])} {lm.level} tokens scored{how})")
    return 0


def register(commands: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    _add_train(train)
    _add_generate(commands)
    _add_score(commands)
