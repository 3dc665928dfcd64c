"""Append one benchmark result to BENCHMARKS.md, stamped with the command, the machine and the date
(or, on a dry run, only print it)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def add_note_argument(parser: argparse.ArgumentParser) -> None:
    """``--note``: a remark on how the run was made, for :func:`publish` to end the section with."""
    parser.add_argument("--note", default="", help="a remark appended to the recorded section (default: none)")


def machine() -> str:
    """A one-line description of where the benchmark ran."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def command_line() -> str:
    """The command that ran this benchmark, as a user would type it."""
    script = os.path.relpath(sys.argv[0], BENCHMARKS_MD.parent)
    return shlex.join(["python", script, *sys.argv[1:]])


def record(title: str, command: str, body_markdown: str) -> None:
    """Append a section to BENCHMARKS.md (never overwrite what is there)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"\n## {title}\n\n- command: `{command}`\n- machine: {machine()}\n- date: {stamp}\n\n"
               f"{body_markdown.strip()}\n")
    with open(BENCHMARKS_MD, "a", encoding="utf-8") as f:
        f.write(section)
    print(section)


def publish(title: str, body_markdown: str, dry_run: bool, note: str = "") -> None:
    """Print the section (a dry run: BENCHMARKS.md is left alone) or :func:`record` it with this command;
    ``note``, a remark on how the run was made, ends the section."""
    if note:
        body_markdown = f"{body_markdown.rstrip()}\n\n{note}"
    if dry_run:
        print(f"## {title}\n\n{body_markdown}")
    else:
        record(title, command_line(), body_markdown)
