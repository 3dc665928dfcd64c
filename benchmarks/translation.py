"""Multi30k German→English: rnnkit's translator against a bare PyTorch loop, in the same run.

Models (issue 5), each trained for ``--budget-minutes`` through rnnkit's engine, scored with sacreBLEU
(tokenize='none') on test_2016_flickr of the lower-cased, tokenised files:

    a  no attention (the lecture's plain encoder-decoder), greedy
    b  additive attention, greedy
    c  model b, beam 5
    d  additive attention + scheduled sampling, beam 5 (and greedy)

Baseline: a bare BiGRU encoder + additive-attention GRU decoder written directly in PyTorch (below, in the
style of the usual 100-line tutorials: nn.GRU encoder over padded batches, attention energies recomputed
at every step, a per-step output layer over [s; c; e], shuffled batches without length bucketing). Its
training throughput (target tokens/s) and rnnkit's (model b at the same sizes, trained through the engine)
are measured alternately, twice each, for ``--throughput-seconds``, so that both see the same load.

Run under the shared lock, e.g.:
    flock /tmp/rnnkit-bench.lock python benchmarks/translation.py --budget-minutes 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from _record import publish
from _setup import add_machine_arguments, shared_data, start
from rnnkit.data.parallel import read_lines, read_parallel
from rnnkit.tasks.translation import Translator, TranslatorSettings

MODELS = {
    "a": {"attention": "none"},
    "b": {"attention": "additive"},
    "d": {"attention": "additive", "scheduled_sampling": "inverse_sigmoid"},
}


class BareSeq2Seq(nn.Module):
    """The bare baseline: BiGRU encoder (H per direction), GRU decoder (2H) with additive attention."""

    def __init__(self, src_vocab: int, tgt_vocab: int, emb: int = 256, hid: int = 256) -> None:
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(src_vocab, emb), nn.Embedding(tgt_vocab, emb)
        self.encoder = nn.GRU(emb, hid, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hid, 2 * hid)
        self.attn = nn.Linear(4 * hid, 2 * hid)
        self.v = nn.Linear(2 * hid, 1, bias=False)
        self.decoder = nn.GRUCell(emb + 2 * hid, 2 * hid)
        self.out = nn.Linear(4 * hid + emb, tgt_vocab)
        self.drop = nn.Dropout(0.2)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        enc, h = self.encoder(self.drop(self.src_emb(src)))  # (B, S, 2H); padding is run through
        s = torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=1)))  # (B, 2H)
        pad = src == 0
        outputs = []
        for t in range(tgt_in.size(1)):
            query = s.unsqueeze(1).expand(-1, enc.size(1), -1)  # (B, S, 2H)
            energy = torch.tanh(self.attn(torch.cat([query, enc], dim=2)))  # recomputed at every step
            a = torch.softmax(self.v(energy).squeeze(2).masked_fill(pad, float("-inf")), dim=1)  # (B, S)
            context = torch.bmm(a.unsqueeze(1), enc).squeeze(1)  # (B, 2H)
            e = self.drop(self.tgt_emb(tgt_in[:, t]))  # (B, E)
            s = self.decoder(torch.cat([e, context], dim=1), s)
            outputs.append(self.out(torch.cat([s, context, e], dim=1)))  # (B, V) per step
        return torch.stack(outputs, dim=1)  # (B, T, V)


def bare_throughput(translator: Translator, source: list[str], target: list[str], seconds: float,
                    batch_size: int, device: str) -> float:
    """Target tokens per second of the bare loop (shuffled batches, no bucketing), after 2 warm-up steps."""
    torch.manual_seed(0)
    src_ids = translator._encode(source, "source")
    tgt_ids = translator._encode(target, "target")
    vocab = translator.target_vocab_
    bos, eos = vocab["<bos>"], vocab["<eos>"]
    model = BareSeq2Seq(len(translator.source_vocab_), len(vocab)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(src_ids)).tolist()
    tokens, started, step = 0, None, 0
    while started is None or time.perf_counter() - started < seconds:
        batch = [order[(step * batch_size + i) % len(order)] for i in range(batch_size)]
        src = nn.utils.rnn.pad_sequence([torch.tensor(src_ids[i]) for i in batch], batch_first=True)
        tgt_in = nn.utils.rnn.pad_sequence([torch.tensor([bos, *tgt_ids[i]]) for i in batch], batch_first=True)
        tgt_out = nn.utils.rnn.pad_sequence([torch.tensor([*tgt_ids[i], eos]) for i in batch], batch_first=True)
        src, tgt_in, tgt_out = src.to(device), tgt_in.to(device), tgt_out.to(device)
        logits = model(src, tgt_in)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step == 2:
            started = time.perf_counter()  # warm-up done
        elif step > 2:
            tokens += int((tgt_out != 0).sum())
    return tokens / (time.perf_counter() - started)


def settings_for(name: str, args: argparse.Namespace, hidden_size: int, batch_size: int) -> TranslatorSettings:
    return TranslatorSettings(
        hidden_size=hidden_size, embedding_size=256, batch_size=batch_size, min_freq=2, bleu_tokenize="none",
        eval_sentences=300, ss_steps=args.ss_steps, dropout=args.dropout, **MODELS[name],
    )


def train_one(name: str, train, dev, budget: float, args: argparse.Namespace, out: Path) -> Translator:
    config = Translator.default_train_config(
        True, time_budget=budget, epochs=1000, log_every=20, progress="off", device=args.device, seed=0,
        schedule=args.schedule, lr_patience=0, lr_factor=0.5,
    )
    settings = settings_for(name, args, args.hidden_size, args.batch_size)
    return Translator(settings, config).fit(train, dev, out_dir=out / name)


def our_throughput(train, seconds: float, args: argparse.Namespace, out: Path) -> tuple[float, Translator]:
    """Target tokens/s of rnnkit training model b at the baseline's sizes (decoder 512), through the engine,
    over its logging windows after the first (warm-up)."""
    config = Translator.default_train_config(
        False, time_budget=seconds, epochs=100, log_every=5, progress="off", device=args.device, seed=0
    )
    settings = settings_for("b", args, 512, args.throughput_batch_size)  # the baseline's sizes and batch size
    translator = Translator(settings, config).fit(train, out_dir=out / "throughput")
    records = [json.loads(line) for line in (out / "throughput" / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    tokens = sum(r["items_per_s"] * (r["elapsed"] - p["elapsed"]) for p, r in itertools.pairwise(train_records))
    span = train_records[-1]["elapsed"] - train_records[0]["elapsed"] if len(train_records) > 1 else 0.0
    return (tokens / span if span else float("nan")), translator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, default=5.0, help="training time per model (default 5)")
    parser.add_argument("--throughput-seconds", type=float, default=60.0,
                        help="each of the 2+2 alternating throughput runs (default 60; 0 skips them)")
    parser.add_argument("--models", default="abd", help="which of a, b, d to train (c reuses b; default abd)")
    parser.add_argument("--hidden-size", type=int, default=512,
                        help="rnnkit decoder size H, encoder H/2 per direction (default 512, as the baseline)")
    parser.add_argument("--batch-size", type=int, default=64, help="rnnkit batch size (default 64)")
    parser.add_argument("--throughput-batch-size", type=int, default=128,
                        help="batch size of both throughput runs (default 128)")
    parser.add_argument("--ss-steps", type=int, default=2000, help="scheduled sampling decay steps (default 2000)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout of the BLEU models (default 0.2)")
    parser.add_argument("--schedule", choices=("constant", "plateau"), default="constant",
                        help="learning-rate schedule of the BLEU models; plateau halves it whenever dev BLEU "
                             "does not improve (default constant)")
    add_machine_arguments(parser)
    parser.add_argument("--data", default=str(shared_data() / "multi30k" / "tok"), help="Multi30k tok/ folder")
    parser.add_argument("--out", default=None, help="run directories (default: a temporary folder)")
    parser.add_argument("--test-sentences", type=int, default=None, help="score only the first N (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the section instead of appending it")
    parser.add_argument("--note", default="", help="a remark appended to the recorded section (default: none)")
    args = start(parser)
    data = Path(args.data)
    train = read_parallel(data / "train.lc.norm.tok.de", data / "train.lc.norm.tok.en")
    dev = read_parallel(data / "val.lc.norm.tok.de", data / "val.lc.norm.tok.en")
    test_src = read_lines(data / "test_2016_flickr.lc.norm.tok.de")
    test_ref = read_lines(data / "test_2016_flickr.lc.norm.tok.en")
    test_src, test_ref = test_src[: args.test_sentences], test_ref[: args.test_sentences]
    out = Path(args.out or tempfile.mkdtemp(prefix="rnnkit-mt-"))
    budget = args.budget_minutes * 60

    # Throughput: rnnkit and the bare loop alternately, twice, so that both see the same machine load.
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device.replace("auto", "cpu")
    ours, bare = [], []
    for _ in range(2 if args.throughput_seconds > 0 else 0):
        rate, reference = our_throughput(train, args.throughput_seconds, args, out)
        ours.append(rate)
        bare.append(bare_throughput(reference, train.source, train.target, args.throughput_seconds,
                                    args.throughput_batch_size, device))
        logging.info("throughput: rnnkit %.0f, bare %.0f target tokens/s", ours[-1], bare[-1])

    rows, translator = [], None
    for name in args.models:
        translator = train_one(name, train, dev, budget, args, out)
        steps, epochs = translator.result_.steps, translator.result_.epoch
        for beam in (1, 5) if name != "a" else (1,):
            label = {("a", 1): "a", ("b", 1): "b", ("b", 5): "c", ("d", 5): "d", ("d", 1): "d (greedy)"}[(name, beam)]
            scores = translator.evaluate(test_src, test_ref, beam=beam)
            rows.append(f"| ({label}) | {MODELS[name]['attention']} | "
                        f"{'yes' if 'scheduled_sampling' in MODELS[name] else 'no'} | {beam} | "
                        f"{scores['bleu']:.2f} | {scores['chrf']:.2f} | {scores['sentences_per_s']:.1f} | "
                        f"{steps} ({epochs} full epochs) |")
            logging.info("%s", rows[-1])

    body = (
        (f"Multi30k de→en, {len(train)} training pairs; each model trained {args.budget_minutes:g} min "
        f"(time budget, incl. dev BLEU on 300 val sentences at epoch ends) on {args.device} with "
        f"{args.threads} threads; E=256, encoder {args.hidden_size // 2}×2, decoder {args.hidden_size}, "
        f"batch {args.batch_size}, dropout {args.dropout}, Adam 1e-3 ({args.schedule} schedule), "
        f"label smoothing 0.1, min_freq 2 (source {len(translator.source_vocab_)}, target "
        f"{len(translator.target_vocab_)} words). BLEU: sacreBLEU tokenize='none' on test_2016_flickr "
        f"({len(test_src)} sentences, lower-cased tokenised files). The issue allows each model up to 60 minutes of "
        + ("training; these runs are within it." if args.budget_minutes <= 60 else "training; these runs are over it.")
        + "\n\n"
        "| model | attention | sched. sampling | beam | BLEU | chrF | translation sentences/s | steps |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n" if rows else "")
        + (f"Training throughput (target tokens/s), both with E=256, encoder 256×2, decoder 512, additive "
           f"attention, Adam, clipping 1, measured alternately for {args.throughput_seconds:g} s each, twice: "
           f"rnnkit (through the engine, batch {args.throughput_batch_size}, length-bucketed) "
           f"{' / '.join(f'{x:,.0f}' for x in ours)}; bare PyTorch loop (batch {args.throughput_batch_size}, "
           f"shuffled) {' / '.join(f'{x:,.0f}' for x in bare)}; ratio {sum(ours) / sum(bare):.2f}× (target ≥ 3×). "
           if ours else "Throughput not measured in this run (--throughput-seconds 0). ")
        + f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    title = "Translation: Multi30k de→en, rnnkit vs a bare PyTorch loop"
    publish(title, body, args.dry_run, args.note)


if __name__ == "__main__":
    main()
