"""The ``rnnkit`` command: builds the parser from each area's CLI module and runs the chosen command.

Each area module (``rnnkit.cli.<area>``) defines ``register(commands, train)``, adding its sub-commands
to ``commands`` (``rnnkit <command>``) and its trainers to ``train`` (``rnnkit train <task>``), each with
``set_defaults(run=function)``. ``rnnkit evaluate`` is shared: it reads the checkpoint's task and hands
the arguments to that area's ``evaluate(args)``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rnnkit.errors import RnnkitError

# The areas, in the order their commands appear in --help.
AREAS = ("lm", "tagging", "translation", "vectors", "gradients")
# Which area evaluates a checkpoint of each task.
EVALUATORS = {"tagger": "tagging", "classifier": "tagging", "translator": "translation", "lm": "lm"}


def _evaluate(args: argparse.Namespace) -> int:
    from rnnkit.engine.checkpoint import read_task

    task = read_task(args.checkpoint)
    area = EVALUATORS.get(task)
    if area is None:
        raise RnnkitError(f"{args.checkpoint}: no evaluation for a checkpoint of task {task!r}")
    if args.ensemble and task not in ("tagger", "classifier"):
        raise RnnkitError(f"{args.checkpoint}: --ensemble combines tagger or classifier checkpoints, not a {task}")
    return importlib.import_module(f"rnnkit.cli.{area}").evaluate(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks for language engineering."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train_parser = commands.add_parser("train", help="train a model (lm, tagger, classifier, translator) "
                                                     "or word vectors")
    train = train_parser.add_subparsers(dest="task", metavar="TASK", required=True)

    evaluate = commands.add_parser("evaluate", help="evaluate a tagger, classifier or translator checkpoint")
    evaluate.add_argument("checkpoint", help="checkpoint or run directory")
    evaluate.add_argument("file", nargs="?", help="labelled data (tagger, classifier, language model)")
    evaluate.add_argument("--format", default=None, help="input format; default: as trained")
    evaluate.add_argument("--src", help="source sentences (translator)")
    evaluate.add_argument("--ref", help="reference translations (translator)")
    evaluate.add_argument("--beam", type=int, default=5, help="beam size for the translator (default 5)")
    evaluate.add_argument("--plot", help="write the confusion matrix as a PNG here")
    evaluate.add_argument("--ensemble", action="append", default=[], metavar="CHECKPOINT",
                          help="a further tagger or classifier checkpoint that predicts together with CHECKPOINT "
                               "(repeat for more; see rnnkit.tasks.ensembles)")
    evaluate.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    evaluate.set_defaults(run=_evaluate)

    for area in AREAS:
        try:
            module = importlib.import_module(f"rnnkit.cli.{area}")
        except ModuleNotFoundError as err:
            if err.name != f"rnnkit.cli.{area}":
                raise
            continue  # an area still being built
        module.register(commands, train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    try:
        return int(args.run(args) or 0)
    except RnnkitError as err:
        print(f"rnnkit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rnnkit generate ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
