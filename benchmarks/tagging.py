"""POS tagging (UD English EWT, UPOS accuracy) and NER (CoNLL-2003, span F1): rnnkit against a bare loop.

Systems, each trained for the same ``--budget`` seconds of wall-clock time (validation included), with
early stopping on dev every ``--eval-every`` steps, then scored on test:

    rnnkit          rnnkit's Tagger: word + character Bi-LSTM, softmax head
    rnnkit-crf      the same with a CRF head (Viterbi decoding)
    rnnkit-nochars  CRF head, no character Bi-RNN (the "with vs without character features" row)
    rnnkit-lm, rnnkit-lm-crf   rnnkit / rnnkit-crf started from a rnnkit word LM pretrained first
                    (``--pretrained-lm-minutes``; see _pretrained_lm.py), its time reported apart
    rnnkit-clm, rnnkit-clm-crf  rnnkit / rnnkit-crf whose word vectors also hold the states of a forward and
                    a backward character LM trained first (``--char-lm-minutes``; see _pretrained_char_lm.py)
    bare            a bare PyTorch word + char BiLSTM with softmax (below: nn.LSTM over packed sequences,
                    every token's characters encoded, shuffled batches, the same sizes and optimiser)

With ``--ensemble N`` each rnnkit system trains N members, seeds --seed … --seed+N−1 (rows SYSTEM.sSEED; with
--parallel they train at once, a core group each), and a row SYSTEM ×N scores their TaggerEnsemble (the
members' scores averaged, decoded once).

With ``--embeddings FILE`` the rnnkit rows start their word embeddings (size 100) from FILE's vectors, e.g.
count_vectors.py's, fitted to ../shared/data text without labels.

Speed: training sentences/s (incl. validation) and tagging sentences/s on the test set. No external
embeddings or corpora anywhere. Run under the shared lock, e.g.:

    flock /tmp/rnnkit-bench.lock python benchmarks/tagging.py --dataset ud_ewt --budget 300
    python benchmarks/tagging.py --dataset conll2003 --systems rnnkit,rnnkit-crf,rnnkit-nochars,bare --parallel
    flock /tmp/rnnkit-bench.lock python benchmarks/tagging.py --dataset ud_ewt --budget 1500 \
        --systems rnnkit,rnnkit-lm,bare --pretrained-lm-minutes 10 --lm-text train,imdb
    python benchmarks/tagging.py --dataset ud_ewt --budget 1500 --systems rnnkit-clm,bare --char-lm-minutes 25 \
        --char-lm-out runs/clm-ewt --parallel --cores-per-worker 1 --threads 1
    python benchmarks/tagging.py --dataset conll2003 --budget 1500 --systems rnnkit-crf --ensemble 2 --parallel \
        --cores-per-worker 1 --threads 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import _pretrained_char_lm as pretrained_char_lm
import _pretrained_lm as pretrained_lm
from _record import publish
from _setup import start
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
from _tagging_data import DATASETS, read_sentences, read_split
from _workers import ensemble_text, how_run, member_of, pct, run_with_ensembles, serve_worker
from rnnkit.metrics.tagging import span_scores, token_accuracy
from rnnkit.tasks.ensembles import TaggerEnsemble
from rnnkit.tasks.tagging import Tagger

RNNKIT = {"rnnkit": ("softmax", 30), "rnnkit-crf": ("crf", 30), "rnnkit-nochars": ("crf", 0),
          "rnnkit-lm": ("softmax", 30), "rnnkit-lm-crf": ("crf", 30), "rnnkit-clm": ("softmax", 30),
          "rnnkit-clm-crf": ("crf", 30)}
WORD, CHAR_DIM, CHAR_HIDDEN, DROPOUT = 100, 30, 50, 0.33


def load(args: argparse.Namespace):
    train, dev, test = (read_split(args.data, args.dataset, split) for split in range(3))
    return train[: args.limit_train] if args.limit_train else train, dev, test


def headline(args: argparse.Namespace, gold, predicted) -> float:
    return token_accuracy(gold, predicted) if args.dataset == "ud_ewt" else span_scores(gold, predicted).f1


# ----- rnnkit -----


def run_rnnkit(worker: str, args: argparse.Namespace, train, dev, test) -> dict:
    system, args = member_of(worker, args)
    head, char_dim = RNNKIT[system]
    from_lm = system.startswith(pretrained_lm.PREFIX)
    tagger = Tagger(word_dim=args.word_dim, char_dim=char_dim, char_hidden=args.char_hidden, hidden_size=args.hidden,
                    num_layers=args.layers, dropout=args.dropout, word_dropout=args.word_dropout,
                    lowercase=args.lowercase, head=head, init_from=args.lm_checkpoint if from_lm else None,
                    embeddings=args.embeddings, aux_columns=args.aux_columns and args.aux_columns.split(","),
                    batch_size=args.batch_size, train_config=rnnkit_config(args),
                    **pretrained_char_lm.lm_settings(args, system))
    if args.aux_columns:  # the same training sentences, with their auxiliary columns
        train = read_sentences(args.data, args.dataset, 0, args.aux_columns.split(","))[: args.limit_train or None]
    seconds = fit_timed(tagger, train, dev)
    if args.keep:  # the driver scores the ensemble of the members
        tagger.save(Path(args.keep) / worker)
    return {"dev": tagger.result_.best_metric, **tag_test(args, tagger, test), "steps": tagger.result_.steps,
            "train_sps": tagger.result_.steps * args.batch_size / seconds,
            "epochs": tagger.result_.steps * args.batch_size / len(train),
            "coverage": tagger.transfer_.coverage if from_lm else None}


def tag_test(args: argparse.Namespace, tagger: Tagger | TaggerEnsemble, test) -> dict:
    """The test score of ``tagger`` and its tagging speed (sentences/s)."""
    tokens = [t for t, _ in test]
    start = time.perf_counter()
    predicted = tagger.predict(tokens)
    tag_seconds = time.perf_counter() - start
    return {"test": headline(args, [g for _, g in test], predicted), "tag_sps": len(tokens) / tag_seconds}


def score_ensemble(paths: list[Path], args: argparse.Namespace, dev, test) -> dict:
    """Dev and test scores and tagging speed of the TaggerEnsemble of the members saved at ``paths``."""
    ensemble = TaggerEnsemble.load(paths)
    return {"dev": headline(args, [g for _, g in dev], ensemble.predict([t for t, _ in dev])),
            **tag_test(args, ensemble, test)}


# ----- the bare loop (what a user writes in an afternoon) -----


class BareTagger(nn.Module):
    def __init__(self, n_words: int, n_chars: int, n_tags: int, hidden: int) -> None:
        super().__init__()
        self.words = nn.Embedding(n_words, WORD, padding_idx=0)
        self.chars = nn.Embedding(n_chars, CHAR_DIM, padding_idx=0)
        self.char_lstm = nn.LSTM(CHAR_DIM, CHAR_HIDDEN, batch_first=True, bidirectional=True)
        self.lstm = nn.LSTM(WORD + 2 * CHAR_HIDDEN, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(DROPOUT)
        self.out = nn.Linear(2 * hidden, n_tags)

    def forward(self, words, chars, lengths):
        B, T, C = chars.shape
        flat = chars.view(B * T, C)  # (B·T, C)
        char_lengths = (flat != 0).sum(1)
        real = char_lengths > 0
        packed = pack_padded_sequence(self.chars(flat[real]), char_lengths[real].cpu(), batch_first=True,
                                      enforce_sorted=False)
        _, (h, _) = self.char_lstm(packed)
        spelled = torch.zeros(B * T, 2 * CHAR_HIDDEN, device=words.device)
        spelled[real] = torch.cat([h[0], h[1]], dim=1)
        x = self.drop(torch.cat([self.words(words), spelled.view(B, T, -1)], dim=2))  # (B, T, E + 2·Hc)
        out, _ = self.lstm(pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, 2H)
        return self.out(self.drop(out))


def bare_batch(batch, words, chars, tags, device):
    T, C = max(len(s) for s, _ in batch), max(len(w) for s, _ in batch for w in s)
    w = torch.zeros(len(batch), T, dtype=torch.long)
    c = torch.zeros(len(batch), T, C, dtype=torch.long)
    y = torch.zeros(len(batch), T, dtype=torch.long)
    for i, (sentence, gold) in enumerate(batch):
        w[i, : len(sentence)] = torch.tensor([words.get(x, 1) for x in sentence])
        y[i, : len(sentence)] = torch.tensor([tags.get(t, 0) for t in gold])
        for j, x in enumerate(sentence):
            c[i, j, : len(x)] = torch.tensor([chars.get(ch, 1) for ch in x])
    lengths = torch.tensor([len(s) for s, _ in batch])
    return w.to(device), c.to(device), lengths, y.to(device)


def bare_predict(model, data, words, chars, tag_list, device):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(data), 64):
            w, c, lengths, _ = bare_batch(data[i : i + 64], words, chars, {}, device)
            best = model(w, c, lengths).argmax(2).tolist()
            out += [[tag_list[k] for k in row[:n]] for row, n in zip(best, lengths.tolist(), strict=True)]
    model.train()
    return out


def run_bare(args: argparse.Namespace, train, dev, test) -> dict:
    torch.manual_seed(args.seed)
    words = {w: i + 2 for i, w in enumerate(sorted({w for s, _ in train for w in s}))}
    chars = {c: i + 2 for i, c in enumerate(sorted({c for s, _ in train for w in s for c in w}))}
    tag_list = sorted({t for _, g in train for t in g})
    tags = {t: i for i, t in enumerate(tag_list)}
    model = BareTagger(len(words) + 2, len(chars) + 2, len(tags), args.hidden).to(args.device)
    loss_fn = nn.CrossEntropyLoss(reduction="none")

    def loss(model, batch):
        w, c, lengths, y = bare_batch(batch, words, chars, tags, args.device)
        mask = (torch.arange(w.size(1)) < lengths[:, None]).to(args.device)
        return (loss_fn(model(w, c, lengths).transpose(1, 2), y) * mask).sum() / mask.sum()

    def dev_score(model):
        return headline(args, [g for _, g in dev], bare_predict(model, dev, words, chars, tag_list, args.device))

    best, steps, seconds = train_bare(model, train, args, loss, dev_score)
    start = time.perf_counter()
    predicted = bare_predict(model, test, words, chars, tag_list, args.device)
    tag_seconds = time.perf_counter() - start
    return {"dev": best, "test": headline(args, [g for _, g in test], predicted), "steps": steps,
            "train_sps": steps * args.batch_size / seconds, "tag_sps": len(test) / tag_seconds,
            "epochs": steps * args.batch_size / len(train)}


# ----- driver -----


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="ud_ewt", help="default ud_ewt")
    parser.add_argument("--systems", default=None, help=f"comma-separated, of {', '.join(RNNKIT)}, bare (default: "
                        "rnnkit,bare for ud_ewt; rnnkit,rnnkit-crf,rnnkit-nochars,bare for conll2003; plus rnnkit-lm "
                        "with --pretrained-lm-minutes)")
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per system (default 300)")
    parser.add_argument("--eval-every", type=int, default=200, help="validate every N steps (default 200)")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per batch (default 32)")
    parser.add_argument("--hidden", type=int, default=200, help="sentence Bi-LSTM size per direction (default 200)")
    parser.add_argument("--layers", type=int, default=1, help="the rnnkit rows' sentence Bi-LSTM layers (default 1)")
    parser.add_argument("--word-dim", type=int, default=WORD,
                        help=f"the rnnkit rows' word embedding size (default {WORD}, the bare loop's)")
    parser.add_argument("--char-hidden", type=int, default=CHAR_HIDDEN,
                        help=f"the rnnkit rows' character Bi-LSTM size per direction (default {CHAR_HIDDEN}, the bare "
                             "loop's)")
    parser.add_argument("--dropout", type=float, default=DROPOUT,
                        help=f"the rnnkit rows' dropout (default {DROPOUT}, the bare loop's)")
    add_word_dropout_argument(parser, 0.05)
    parser.add_argument("--aux-columns", default=None, metavar="COLUMNS",
                        help="comma-separated columns of the training file that the rnnkit rows also learn to "
                             "predict (multi-task; e.g. xpos,feats for UD EWT, pos,chunk for CoNLL-2003; default: "
                             "none)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate, all systems (default 2e-3)")
    parser.add_argument("--lowercase", action="store_true",
                        help="rnnkit rows look words up in lower case, characters keep theirs (the bare loop: as "
                             "written; a pretrained LM's text is lower-cased too)")
    add_shared_arguments(parser, "sentences")
    pretrained_char_lm.add_arguments(parser)
    args = start(parser)
    check_shared_arguments(parser, args)
    if serve_worker(args, load, run_rnnkit, run_bare):
        return
    default = "rnnkit,bare" if args.dataset == "ud_ewt" else "rnnkit,rnnkit-crf,rnnkit-nochars,bare"
    if pretrained_lm.requested(args):
        default += ",rnnkit-lm"
    if pretrained_char_lm.requested(args):
        default += ",rnnkit-clm"
    systems = (args.systems or default).split(",")
    pretrained_lm.check(parser, args, systems)
    pretrained_char_lm.check(parser, args, systems)
    with pretrained_lm.Pretrained(args, systems) as lm, pretrained_char_lm.Pretrained(args, systems) as char_lms:
        sentences = [" ".join(tokens) for tokens, _ in load(args)[0]] if lm.trains or char_lms.trains else []
        lines = [line.lower() for line in sentences] if args.lowercase else sentences
        extra = lm.worker_argv(lines, args.lowercase, args.word_dim, args.hidden) + char_lms.worker_argv(sentences)
        dev_test = load(args)[1:] if args.ensemble > 1 else None  # read once, for every ensemble row
        results = run_with_ensembles(__file__, systems, args, extra,
                                     lambda paths: score_ensemble(paths, args, *dev_test))
    metric = "UPOS accuracy" if args.dataset == "ud_ewt" else "span F1"
    bare = results.get("bare")
    rows = [f"| system | dev {metric} | test {metric} | Δ test vs bare | steps (epochs) | train sent/s | "
            "tag sent/s | tag speed vs bare | LM coverage | cores |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        delta = f"{100 * (r['test'] - bare['test']):+.2f}" if bare else "–"
        speed = f"{r['tag_sps'] / bare['tag_sps']:.2f}×" if bare else "–"
        rows.append(f"| {name} | {pct(r['dev'])} | {pct(r['test'])} | {delta} | {r['steps']} ({r['epochs']:.1f}) | "
                    f"{r['train_sps']:.0f} | {r['tag_sps']:.0f} | {speed} | {pct(r.get('coverage'))} | {r['cores']} |")
    layers = f" (rnnkit rows: {args.layers} layers)" if args.layers != 1 else ""
    word = f"word {WORD}" + (f" (rnnkit rows: {args.word_dim})" if args.word_dim != WORD else "")
    chars = f"char Bi-LSTM {CHAR_HIDDEN}×2" + (f" (rnnkit rows: {args.char_hidden}×2)"
                                               if args.char_hidden != CHAR_HIDDEN else "")
    dropout = "" if args.dropout == DROPOUT else f" (rnnkit rows: {args.dropout})"
    dropout += f", rnnkit rows' word dropout {args.word_dropout}"
    if args.aux_columns:
        dropout += f", rnnkit rows' auxiliary columns {args.aux_columns} (loss weight 1)"
    body = (f"Budget: {args.budget:.0f} s of training (wall clock, validation every {args.eval_every} steps "
            f"included) per system, {args.threads} torch threads each, batch {args.batch_size}, "
            f"{optimiser_text(args)}, {word}{' (rnnkit rows: lower-cased)' if args.lowercase else ''} "
            f"+ {chars} → Bi-LSTM {args.hidden}×2{layers}, dropout {DROPOUT}{dropout}, "
            f"{how_run(results)}. "
            f"Test scores use the best dev checkpoint. {vectors_text(args.embeddings)}"
            f"{ensemble_text(args.ensemble)}"
            f"{lm.section('the rnnkit-lm rows', 'the backward direction, the character Bi-LSTM and the output layer')}"
            f"{char_lms.section()}"
            "\n\n" + "\n".join(rows))
    title = f"Tagging: {args.dataset} ({metric}), {args.budget / 60:.1f} min per system"
    publish(title, body, args.dry_run, args.note)


if __name__ == "__main__":
    main()
