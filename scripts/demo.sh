#!/usr/bin/env bash
# Install everything, then run Linli's main job on the embedded default (a synthetic community).
# Usage: bash scripts/demo.sh [linli demo options, e.g. --residents 5000]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OPENBLAS_NUM_THREADS=1 MLFLOW_DISABLE_TELEMETRY=true
exec .venv/bin/linli demo "$@"
