#!/usr/bin/env bash
# Install rnnkit and its dependencies. torch is pinned to the CPU wheel first: an open range would
# make pip fetch a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[dev]"
