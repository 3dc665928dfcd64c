"""Sentence classification (SST-2, IMDB; test accuracy): rnnkit's read-outs against a bare loop.

Systems, each trained for the same ``--budget`` seconds of wall-clock time (validation included), with
early stopping on dev accuracy every ``--eval-every`` steps, then scored on test:

    rnnkit-final      rnnkit's Classifier, Bi-LSTM read out by its two final states (the lecture's)
    rnnkit-mean / rnnkit-max / rnnkit-attention   the same with a pooling read-out
    rnnkit-lm-final (-mean, -max, -attention)   the same started from a rnnkit word LM pretrained first
                      (``--pretrained-lm-minutes``; see _pretrained_lm.py), its time reported apart
    rnnkit-clm-final (-mean, -max, -attention)  the same with the states of a forward and a backward
                      character LM at each word, frozen (``--char-lm-minutes`` or ``--char-lm-from``; see
                      _pretrained_char_lm.py)
    bare              a bare PyTorch Bi-LSTM on the two final states (below: packed sequences, shuffled
                      batches without length bucketing, the same sizes and optimiser)

With ``--imdb-extra N`` (SST-2 only) the rnnkit rows also train on the last N tokens of each of the 25,000
IMDB training reviews, labelled with its review's label, tokenised as SST-2 is; the bare loop and every dev
and test text stay SST-2's own. Both come from the same kind of source (film reviews), so the reviews' endings,
where the verdict usually is, are extra labelled sentiment data from ``../shared/data``, reported apart.

With ``--embeddings FILE`` the rnnkit rows start their word embeddings from FILE's vectors (words it lacks
start random); count_vectors.py fits such vectors, without labels, to IMDB and SST-2 text, so they stay within
``../shared/data``.

With ``--ensemble N`` each rnnkit system trains N members, seeds --seed … --seed+N−1 (rows SYSTEM.sSEED), and
a row SYSTEM ×N scores their ClassifierEnsemble (the members' mean probabilities).

IMDB has no dev split: the last 2,500 of the 25,000 training reviews (after a seeded shuffle) are held
out, leaving 22,500 to train on; reviews are cut at ``--max-length`` tokens. Run under the shared lock:

    flock /tmp/rnnkit-bench.lock python benchmarks/classification.py --dataset sst2 --budget 300
    python benchmarks/classification.py --dataset imdb --systems rnnkit-final,bare --device cuda
    flock /tmp/rnnkit-bench.lock python benchmarks/classification.py --dataset sst2 --budget 420 \
        --systems rnnkit-final,rnnkit-lm-final,bare --pretrained-lm-minutes 10 --lm-text train,imdb
    flock /tmp/rnnkit-bench.lock python benchmarks/classification.py --dataset sst2 --budget 600 \
        --systems rnnkit-clm-final,rnnkit-clm-attention,bare --char-lm-from runs/clm
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import _pretrained_char_lm as pretrained_char_lm
import _pretrained_lm as pretrained_lm
from _record import publish
from _setup import imdb_reviews, start
from _supervised_common import (
    add_shared_arguments,
    add_word_dropout_argument,
    check_shared_arguments,
    fit_timed,
    optimiser_text,
    rnnkit_config,
    train_bare,
    vectors_text,
)
from _workers import ensemble_text, how_run, member_of, pct, run_with_ensembles, serve_worker
from rnnkit.data.labelled_text import read_labelled
from rnnkit.tasks.classification import Classifier
from rnnkit.tasks.ensembles import ClassifierEnsemble

DROPOUT = 0.5


SYSTEMS = "rnnkit-final,rnnkit-mean,rnnkit-max,rnnkit-attention,bare"


def read_splits(args: argparse.Namespace):
    """(train, dev, test) lists of (tokens, label), texts whole."""
    def read(path, **kw):
        return [(e.tokens, e.label) for e in read_labelled(path, **kw)]

    if args.dataset == "sst2":
        folder = Path(args.data) / "sst2"
        train, dev, test = (read(folder / f"stsa.binary.{s}") for s in ("train", "dev", "test"))
    else:
        folder = Path(args.data) / "imdb"
        train, test = (read(folder / f"{s}.jsonl", tokenizer="words", lowercase=True) for s in ("train", "test"))
        random.Random(0).shuffle(train)
        train, dev = train[:-2500], train[-2500:]
    return train[: args.limit_train] if args.limit_train else train, dev, test


_SST_TOKEN = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]")


def sst_style(text: str) -> list[str]:
    """A raw IMDB review in SST-2's tokens: lower case, words and punctuation apart, no ``<br />``, and the
    Penn Treebank's clitics as SST-2 writes them (``are n't``, ``she 's``)."""
    text = re.sub(r"(\w)n't\b", r"\1 n't", re.sub(r"<br\s*/?>", " ", text.lower()))
    return _SST_TOKEN.findall(text)


def imdb_in_sst_style(data: str | Path, split: str = "train", limit: int | None = None) -> list[tuple[list[str], str]]:
    """The first ``limit`` (all: None) IMDB reviews of ``split`` (train, test) in SST-2's tokens, with SST-2's
    labels (1 positive)."""
    return [(sst_style(text), "1" if label == "pos" else "0") for text, label in imdb_reviews(data, split, limit)]


def imdb_endings(args: argparse.Namespace) -> list[tuple[list[str], str]]:
    """``--imdb-extra``: the last N tokens of each IMDB training review, with SST-2's labels;
    ``--limit-train`` caps the reviews too, as it caps every LM text source."""
    reviews = imdb_in_sst_style(args.data, "train", args.limit_train)
    return [(tokens[-args.imdb_extra:], label) for tokens, label in reviews]


def load(args: argparse.Namespace):
    """(train, dev, test), texts cut at --max-length tokens."""
    return tuple([(tokens[: args.max_length], label) for tokens, label in split] for split in read_splits(args))


# ----- rnnkit -----


def run_rnnkit(worker: str, args: argparse.Namespace, train, dev, test) -> dict:
    system, args = member_of(worker, args)
    from_lm = system.startswith(pretrained_lm.PREFIX)
    if args.imdb_extra:
        train = train + imdb_endings(args)
    classifier = Classifier(embedding_dim=args.embedding_dim, hidden_size=args.hidden, dropout=DROPOUT,
                            word_dropout=args.word_dropout, pooling=system.rsplit("-", 1)[1],
                            init_from=args.lm_checkpoint if from_lm else None, embeddings=args.embeddings,
                            batch_size=args.batch_size, train_config=rnnkit_config(args),
                            **pretrained_char_lm.lm_settings(args, system))
    seconds = fit_timed(classifier, train, dev)
    if args.keep:  # the driver scores the ensemble of the members
        classifier.save(Path(args.keep) / worker)
    return {"dev": classifier.result_.best_metric, **score_test(classifier, test), "steps": classifier.result_.steps,
            "train_sps": classifier.result_.steps * args.batch_size / seconds,
            "epochs": classifier.result_.steps * args.batch_size / len(train),
            "coverage": classifier.transfer_.coverage if from_lm else None}


def score_test(classifier: Classifier | ClassifierEnsemble, test) -> dict:
    """The test accuracy of ``classifier`` and its speed (texts/s)."""
    start = time.perf_counter()
    accuracy = classifier.score(test)
    return {"test": accuracy, "test_sps": len(test) / (time.perf_counter() - start)}


def score_ensemble(paths: list[Path], dev, test) -> dict:
    """Dev and test accuracy and speed of the ClassifierEnsemble of the members saved at ``paths``."""
    ensemble = ClassifierEnsemble.load(paths)
    return {"dev": ensemble.score(dev), **score_test(ensemble, test)}


# ----- the bare loop (what a user writes in an afternoon) -----


class BareClassifier(nn.Module):
    def __init__(self, n_words: int, n_classes: int, embedding: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_words, embedding, padding_idx=0)
        self.lstm = nn.LSTM(embedding, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(DROPOUT)
        self.out = nn.Linear(2 * hidden, n_classes)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.drop(self.embedding(ids)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (2, B, H)
        return self.out(self.drop(torch.cat([h[0], h[1]], dim=1)))


def bare_batch(batch, words, device):
    ids = torch.zeros(len(batch), max(len(t) for t, _ in batch), dtype=torch.long)
    for i, (tokens, _) in enumerate(batch):
        ids[i, : len(tokens)] = torch.tensor([words.get(w, 1) for w in tokens])
    return ids.to(device), torch.tensor([len(t) for t, _ in batch])


def bare_accuracy(model, data, words, labels, device) -> float:
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(data), 64):
            ids, lengths = bare_batch(data[i : i + 64], words, device)
            predicted = model(ids, lengths).argmax(1).tolist()
            right += sum(p == labels[y] for p, (_, y) in zip(predicted, data[i : i + 64], strict=True))
    model.train()
    return right / len(data)


def run_bare(args: argparse.Namespace, train, dev, test) -> dict:
    torch.manual_seed(args.seed)
    words = {w: i + 2 for i, w in enumerate(sorted({w for t, _ in train for w in t}))}
    labels = {y: i for i, y in enumerate(sorted({y for _, y in train}))}
    model = BareClassifier(len(words) + 2, len(labels), args.embedding_dim, args.hidden).to(args.device)

    def loss(model, batch):
        ids, lengths = bare_batch(batch, words, args.device)
        gold = torch.tensor([labels[y] for _, y in batch], device=args.device)
        return nn.functional.cross_entropy(model(ids, lengths), gold)

    def dev_score(model):
        return bare_accuracy(model, dev, words, labels, args.device)

    best, steps, seconds = train_bare(model, train, args, loss, dev_score)
    start = time.perf_counter()
    accuracy = bare_accuracy(model, test, words, labels, args.device)
    return {"dev": best, "test": accuracy, "steps": steps, "train_sps": steps * args.batch_size / seconds,
            "test_sps": len(test) / (time.perf_counter() - start), "epochs": steps * args.batch_size / len(train)}


# ----- driver -----


def imdb_text(args: argparse.Namespace) -> str:
    if not args.imdb_extra:
        return ""
    return (f" The rnnkit rows also trained on the last {args.imdb_extra} tokens of each of the 25,000 IMDB "
            "training reviews, labelled with its review's label (`--imdb-extra`); their epochs count those "
            "texts too. The bare loop trained on SST-2 alone.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("sst2", "imdb"), default="sst2", help="default sst2")
    parser.add_argument("--systems", default=None, help=f"comma-separated, of {SYSTEMS}, rnnkit-lm-<read-out> and "
                        "rnnkit-clm-<read-out> (default: all four read-outs and bare, plus rnnkit-lm-final with "
                        "--pretrained-lm-minutes and rnnkit-clm-final with character LMs)")
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per system (default 300)")
    parser.add_argument("--eval-every", type=int, default=100, help="validate every N steps (default 100)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per batch (default 32)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, all systems (default 1e-3)")
    parser.add_argument("--embedding-dim", type=int, default=300, help="embedding size, all systems (default 300)")
    parser.add_argument("--hidden", type=int, default=150, help="hidden size per direction (default 150)")
    parser.add_argument("--max-length", type=int, default=400, help="keep the first N tokens (default 400)")
    parser.add_argument("--imdb-extra", type=int, default=None, metavar="N",
                        help="SST-2: the rnnkit rows also train on the last N tokens of each IMDB training review")
    add_word_dropout_argument(parser, 0.1)
    add_shared_arguments(parser, "texts")
    pretrained_char_lm.add_arguments(parser)
    args = start(parser)
    check_shared_arguments(parser, args)
    if args.imdb_extra is not None and (args.dataset != "sst2" or args.imdb_extra < 1):
        parser.error("--imdb-extra N needs --dataset sst2 and N >= 1")
    if serve_worker(args, load, run_rnnkit, run_bare):
        return
    default = SYSTEMS + (",rnnkit-lm-final" if pretrained_lm.requested(args) else "") + (
        ",rnnkit-clm-final" if pretrained_char_lm.requested(args) else "")
    systems = (args.systems or default).split(",")
    pretrained_lm.check(parser, args, systems)
    pretrained_char_lm.check(parser, args, systems)
    with pretrained_lm.Pretrained(args, systems) as lm, pretrained_char_lm.Pretrained(args, systems) as char_lms:
        lines = [" ".join(tokens) for tokens, _ in read_splits(args)[0]] if lm.trains or char_lms.trains else []
        extra = lm.worker_argv(lines, True, args.embedding_dim, args.hidden) + char_lms.worker_argv(lines)
        dev_test = load(args)[1:] if args.ensemble > 1 else None  # read once, for every ensemble row
        results = run_with_ensembles(__file__, systems, args, extra, lambda paths: score_ensemble(paths, *dev_test))
    bare = results.get("bare")
    rows = ["| system | dev accuracy | test accuracy | Δ test vs bare | steps (epochs) | train texts/s | "
            "test texts/s | LM coverage | cores |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        delta = f"{100 * (r['test'] - bare['test']):+.2f}" if bare else "–"
        rows.append(f"| {name} | {pct(r['dev'])} | {pct(r['test'])} | {delta} | {r['steps']} ({r['epochs']:.1f}) | "
                    f"{r['train_sps']:.0f} | {r['test_sps']:.0f} | {pct(r.get('coverage'))} | {r['cores']} |")
    body = (f"Budget: {args.budget:.0f} s of training (wall clock, validation every {args.eval_every} steps "
            f"included) per system on {args.device}, {args.threads} torch threads each, batch {args.batch_size}, "
            f"{optimiser_text(args)}, embeddings {args.embedding_dim}, hidden {args.hidden} per direction, "
            f"dropout {DROPOUT}, rnnkit rows' word dropout {args.word_dropout}, texts cut at {args.max_length} tokens, "
            f"{how_run(results)}. "
            f"Test scores use the best dev checkpoint. {vectors_text(args.embeddings)}"
            f"{ensemble_text(args.ensemble)}{imdb_text(args)}"
            f"{lm.section('the rnnkit-lm rows', 'the backward direction and the output layer')}"
            f"{char_lms.section()}\n\n" + "\n".join(rows))
    title = f"Classification: {args.dataset} (accuracy), {args.budget / 60:.1f} min per system"
    publish(title, body, args.dry_run, args.note)


if __name__ == "__main__":
    main()
