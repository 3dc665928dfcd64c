#!/usr/bin/env bash
# The main job: install rnnkit, train a small character language model on the default corpus (the
# Python standard library's own source code) for about two minutes, and print a generated sample.
# Usage: bash scripts/demo.sh [SECONDS]    (training budget, default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
budget="${1:-120}"
rnnkit train lm --out runs/stdlib --time-budget "$budget" --hidden 256 --layers 2 --progress lines
echo
echo "=== a sample from runs/stdlib ==="
rnnkit generate runs/stdlib --prime "def " --length 600 --temperature 0.7 --seed 1
