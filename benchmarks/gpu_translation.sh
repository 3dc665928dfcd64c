#!/usr/bin/env bash
# Models (b) and (c) of benchmarks/translation.py (additive attention; greedy and beam 5) trained on a
# lent GPU, in about 4 minutes of device time, with the bare PyTorch loop's throughput on the same GPU.
#
# Run from the repository root on the GPU machine:
#     bash benchmarks/gpu_translation.sh
# Data: DATA=<folder with the Multi30k tok/ files>; by default shared/data/multi30k/tok inside the
# checkout, else ../shared/data/multi30k/tok. The result section is appended to BENCHMARKS.md and, when
# $OUT is set (the device tool's output folder), copied to $OUT/gpu_translation.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"  # works without an editable install
DATA="${DATA:-}"
for candidate in shared/data/multi30k/tok ../shared/data/multi30k/tok; do
    if [ -z "$DATA" ] && [ -f "$candidate/train.lc.norm.tok.de" ]; then DATA="$candidate"; fi
done
if [ -z "$DATA" ]; then
    echo "gpu_translation.sh: Multi30k not found; set DATA=<folder with train.lc.norm.tok.de ...>" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
# Throughput: 4 x 15 s (rnnkit and the bare loop alternately); then 2 minutes of training (engine time
# budget) and test BLEU with greedy decoding and beam 5.
timeout 420 python benchmarks/translation.py --device cuda --models b --budget-minutes 2 \
    --throughput-seconds 15 --batch-size 128 --throughput-batch-size 128 --threads 8 --data "$DATA" \
    --out /tmp/rnnkit-translation-runs
if [ -n "${OUT:-}" ]; then
    # the last "## Translation: ..." section of BENCHMARKS.md, up to the next "## " heading
    awk '/^## /{if (cur ~ /^## Translation: /) last = cur; cur = ""} {cur = cur $0 "\n"}
         END{if (cur ~ /^## Translation: /) last = cur; printf "%s", last}' BENCHMARKS.md > "$OUT/gpu_translation.md"
fi
