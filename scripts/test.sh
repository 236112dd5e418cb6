#!/usr/bin/env bash
# Install everything, then run the whole test suite: ruff, mypy, then pytest.
# Usage: bash scripts/test.sh [pytest options]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OPENBLAS_NUM_THREADS=1 MLFLOW_DISABLE_TELEMETRY=true
.venv/bin/ruff check .
.venv/bin/mypy .
bash scripts/install_browser.sh   # chromium + a CJK font for the planner-page browser test
exec .venv/bin/python -m pytest -q -n 2 "$@"
