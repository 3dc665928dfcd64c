"""Run the systems of a benchmark (rnnkit variants and the bare loop) as worker processes.

Each system trains in its own process with the same time budget; its figures come back as JSON. With
``parallel=True`` and enough cores, the workers run at the same time, each pinned to its own set of
``cores_per_worker`` CPU cores (``os.sched_setaffinity``), so that every system gets the same 2-core
machine, CI's size, without waiting for the others; otherwise they run one after another.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run_systems(script: str, systems: list[str], argv: list[str], parallel: bool, cores_per_worker: int = 2) -> dict:
    """``{system: result dict}``; each worker is ``python script *argv --worker SYSTEM --result FILE``."""
    cores = sorted(os.sched_getaffinity(0))
    parallel = parallel and len(cores) >= cores_per_worker * len(systems)
    results = {}
    with tempfile.TemporaryDirectory(prefix="rnnkit-bench-") as scratch:
        running = []
        for i, system in enumerate(systems):
            result = Path(scratch) / f"{system}.json"
            command = [sys.executable, script, *argv, "--worker", system, "--result", str(result)]
            pinned = set(cores[i * cores_per_worker : (i + 1) * cores_per_worker]) if parallel else None
            process = subprocess.Popen(
                command, preexec_fn=(lambda c=pinned: os.sched_setaffinity(0, c)) if pinned else None
            )
            running.append((system, process, result, pinned))
            if not parallel:
                process.wait()
        failed = [system for system, process, _, _ in running if process.wait() != 0]
        if failed:
            raise SystemExit(f"worker(s) {', '.join(failed)} failed (see the messages above)")
        for system, _, result, pinned in running:
            results[system] = json.loads(result.read_text(encoding="utf-8"))
            results[system]["cores"] = sorted(pinned) if pinned else "shared"
    return results


def write_result(path: str, result: dict) -> None:
    Path(path).write_text(json.dumps(result), encoding="utf-8")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"
