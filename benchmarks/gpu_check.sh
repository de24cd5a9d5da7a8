#!/usr/bin/env bash
# The GPU check of issue 16 (benchmarks/gpu_check.py): figures as JSON lines on stdout and in
# gpu_check.jsonl (--out FILE). On a GPU box: benchmarks/gpu_check.sh; on the cpu: --smoke --device cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$PY" benchmarks/gpu_check.py "$@"
