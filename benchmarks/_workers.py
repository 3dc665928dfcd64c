"""Run the systems of a benchmark (rnnkit variants and the bare loop) as worker processes.

Each system trains in its own process with the same time budget; its figures come back as JSON. With
``parallel=True`` and enough cores, the workers run at the same time, each pinned to its own set of
``cores_per_worker`` CPU cores (``os.sched_setaffinity``), so that every system gets the same 2-core
machine, CI's size (or 1 core each on a 2-core machine); systems beyond the number of core groups wait
for a free one. Otherwise they run one after another.

A benchmark gives its parser :func:`add_worker_arguments`' flags, calls :func:`serve_worker` first thing
after parsing (in a worker it runs the system and the script stops there), and :func:`run_systems` in the
driver.

Ensembles (``--ensemble N``): every rnnkit system trains as N members, workers ``SYSTEM.sSEED`` with seeds
``--seed`` … ``--seed``+N−1 (:func:`member_of` gives a worker its system and seed), each saved under the
driver's ``--keep`` folder; :func:`run_with_ensembles` then adds a row ``SYSTEM ×N`` that the benchmark
scores from the saved members.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Splits = tuple[list, list, list]
MEMBER = ".s"  # an ensemble member's worker: SYSTEM.sSEED


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--parallel`` and ``--cores-per-worker`` (read by :func:`run_systems`); ``--worker`` and ``--result``,
    hidden: the driver's command line to a worker."""
    parser.add_argument("--parallel", action="store_true",
                        help="run the systems at once, each pinned to its own --cores-per-worker cores; "
                        "systems beyond the number of core groups wait for a free one")
    parser.add_argument("--cores-per-worker", type=int, default=2,
                        help="with --parallel: CPU cores pinned to each system (default 2)")
    parser.add_argument("--ensemble", type=int, default=1,
                        help="train each rnnkit system N times, seeds --seed on, and add a row for the ensemble of "
                             "the N (rnnkit.tasks.ensembles; default 1: no ensemble)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", default=None, help=argparse.SUPPRESS)  # where ensemble members are saved


def check_worker_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.ensemble < 1:
        parser.error("--ensemble must be >= 1")


def serve_worker(args: argparse.Namespace, load: Callable[[argparse.Namespace], Splits],
                 run_rnnkit: Callable[..., dict], run_bare: Callable[..., dict]) -> bool:
    """In a worker (``--worker SYSTEM``): load (train, dev, test), run ``run_bare(args, *splits)`` for "bare",
    else ``run_rnnkit(SYSTEM, args, *splits)``, write its result to ``--result``; True. In the driver: False.

    A worker logs warnings only: its figures go back in the result, and its INFO lines (every validation)
    would reach the driver's terminal unnamed, interleaved with the other workers' under ``--parallel``.
    """
    if not args.worker:
        return False
    logging.getLogger().setLevel(logging.WARNING)
    train, dev, test = load(args)
    if args.worker == "bare":
        result = run_bare(args, train, dev, test)
    else:
        result = run_rnnkit(args.worker, args, train, dev, test)
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    return True


def members(system: str, args: argparse.Namespace) -> list[str]:
    """The workers that train ``system``: itself, or with ``--ensemble N`` its N members."""
    if args.ensemble == 1 or system == "bare":
        return [system]
    return [f"{system}{MEMBER}{args.seed + k}" for k in range(args.ensemble)]


def member_of(worker: str, args: argparse.Namespace) -> tuple[str, argparse.Namespace]:
    """A worker's system, and ``args`` with its seed (a member's own)."""
    system, _, seed = worker.partition(MEMBER)
    return system, argparse.Namespace(**{**vars(args), "seed": int(seed)}) if seed else args


def run_with_ensembles(script: str, systems: list[str], args: argparse.Namespace, extra_argv: list[str],
                       score: Callable[[list[Path]], dict]) -> dict:
    """:func:`run_systems` over the members of ``systems``; with ``--ensemble N`` also a row ``SYSTEM ×N`` per
    rnnkit system: ``score(saved members)`` (its dev, test and prediction speed) with the members' steps, epochs
    and training speed summed and their cores joined."""
    with tempfile.TemporaryDirectory(prefix="rnnkit-ensemble-") as keep:
        workers = [name for system in systems for name in members(system, args)]
        results = run_systems(script, workers, args, extra_argv + (["--keep", keep] if args.ensemble > 1 else []))
        for system in systems:
            names = members(system, args)
            if len(names) > 1:
                row = {key: sum(results[name][key] for name in names) for key in ("steps", "epochs", "train_sps")}
                pinned = [results[name]["cores"] for name in names]
                cores = "shared" if "shared" in pinned else sorted({c for group in pinned for c in group})
                results[f"{system} ×{args.ensemble}"] = {**row, "coverage": None, "cores": cores,
                                                         **score([Path(keep) / name for name in names])}
    return results


def ensemble_text(n: int) -> str:
    """What a section says of its ensemble rows."""
    if n == 1:
        return ""
    return (f" Each rnnkit system trained {n} members, one per seed (rows SYSTEM.sSEED); the row SYSTEM ×{n} is "
            "their ensemble (rnnkit.tasks.ensembles), its steps, epochs and training speed the members' sums.")


def run_systems(script: str, systems: list[str], args: argparse.Namespace, extra_argv: list[str]) -> dict:
    """``{system: result dict}``; each worker is ``python script ARGV --worker SYSTEM --result FILE``, ARGV
    this command line less ``--parallel``, then ``extra_argv``.

    With ``--parallel`` the available cores are cut into groups of ``--cores-per-worker``; each worker is
    pinned to a free group, and when there are more systems than groups the rest wait for a group to free
    up, so that every system sees the same number of cores and the same kind of neighbours.
    """
    argv = [a for a in sys.argv[1:] if a != "--parallel"] + extra_argv
    cores = sorted(os.sched_getaffinity(0))
    size = args.cores_per_worker
    groups = [set(cores[i : i + size]) for i in range(0, len(cores) - size + 1, size)]
    parallel = args.parallel and len(groups) >= 2
    free: list[set[int] | None] = groups if parallel else [None]
    waiting, running, results = list(systems), [], {}
    with tempfile.TemporaryDirectory(prefix="rnnkit-bench-") as scratch:
        while waiting or running:
            while waiting and free:
                system, pinned = waiting.pop(0), free.pop(0)
                result = Path(scratch) / f"{system}.json"
                command = [sys.executable, script, *argv, "--worker", system, "--result", str(result)]
                process = subprocess.Popen(
                    command, preexec_fn=(lambda c=pinned: os.sched_setaffinity(0, c)) if pinned else None
                )
                running.append((system, process, result, pinned))
            time.sleep(1)  # workers run for minutes: polling costs nothing
            for entry in [e for e in running if e[1].poll() is not None]:
                system, process, result, pinned = entry
                running.remove(entry)
                free.append(pinned)
                if process.returncode != 0:
                    for _, other, _, _ in running:
                        other.terminate()
                    raise SystemExit(f"worker {system} failed (see the messages above)")
                results[system] = json.loads(result.read_text(encoding="utf-8"))
                results[system]["cores"] = sorted(pinned) if pinned else "shared"
    return {system: results[system] for system in systems}


def how_run(results: dict) -> str:
    """How :func:`run_systems` ran them, for the section (``--parallel`` falls back when cores are short)."""
    if any(r["cores"] != "shared" for r in results.values()):
        return "systems run at once, each pinned to its own cores"
    return "systems one after another"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"
