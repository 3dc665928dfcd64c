"""Run the systems of a benchmark (rnnkit variants and the bare loop) as worker processes.

Each system trains in its own process with the same time budget; its figures come back as JSON. With
``parallel=True`` and enough cores, the workers run at the same time, each pinned to its own set of
``cores_per_worker`` CPU cores (``os.sched_setaffinity``), so that every system gets the same 2-core
machine, CI's size (or 1 core each on a 2-core machine); systems beyond the number of core groups wait
for a free one. Otherwise they run one after another.

A benchmark gives its parser :func:`add_worker_arguments`' flags, calls :func:`serve_worker` first thing
after parsing (in a worker it runs the system and the script stops there), and :func:`run_systems` in the
driver.
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


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--parallel`` and ``--cores-per-worker`` (read by :func:`run_systems`); ``--worker`` and ``--result``,
    hidden: the driver's command line to a worker."""
    parser.add_argument("--parallel", action="store_true",
                        help="run the systems at once, each pinned to its own --cores-per-worker cores; "
                        "systems beyond the number of core groups wait for a free one")
    parser.add_argument("--cores-per-worker", type=int, default=2,
                        help="with --parallel: CPU cores pinned to each system (default 2)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", default=None, help=argparse.SUPPRESS)


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
