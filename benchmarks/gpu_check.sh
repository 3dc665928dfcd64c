#!/usr/bin/env bash
# GPU checks of the recurrent layer, in under ~3 minutes on one GPU:
#   1. correctness of every path on CUDA (bptt vs autograd in float64; torch/cuDNN and bptt in float32
#      vs a float64 CPU reference), benchmarks/gpu_correctness.py;
#   2. train-step speed on CUDA, benchmarks/recurrent_speed.py --device cuda (90 s budget).
# The speed section is appended to BENCHMARKS.md and, when $OUT is set (the device runner's output
# folder; /tmp otherwise), also copied to $OUT/gpu_benchmarks.md with the full log $OUT/gpu_check.log.
# Usage: bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"  # works without pip install -e .
before=$(wc -l < BENCHMARKS.md)
{
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
    python benchmarks/gpu_correctness.py --device cuda
    python benchmarks/recurrent_speed.py --device cuda --budget 90 --rounds 10
} 2>&1 | tee "$out/gpu_check.log"
tail -n +"$((before + 1))" BENCHMARKS.md > "$out/gpu_benchmarks.md"
