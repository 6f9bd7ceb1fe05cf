#!/usr/bin/env bash
# Device-call wrapper of seed_tables_gpu.py (docs/experiments.md): the image's python3, src/ on the path, the log also in $OUT.
set -o pipefail; mkdir -p "${OUT:-/tmp}" && cd "$(dirname "$0")/.." && PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 "${PYTHON:-python3}" benchmarks/seed_tables_gpu.py "$@" 2>&1 | tee -a "${OUT:-/tmp}/seed_tables.log"
