#!/usr/bin/env bash
# Install, lint and run the whole test suite (the README's test command; CI calls this).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python3 -m ruff check src tests benchmarks
python3 -m pytest src tests
