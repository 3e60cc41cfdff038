#!/usr/bin/env bash
# The accelerator check (benchmarks/device_check.py): device, tests on it, engine speed,
# the paper-size rarity grid cold and warm. --dry: the same path at tiny sizes on CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$PY" -m benchmarks.device_check "$@"
