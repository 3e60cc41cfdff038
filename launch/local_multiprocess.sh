#!/usr/bin/env bash
# Run one sweep as N cooperating CPU processes on this machine (coordinator on 127.0.0.1).
#   launch/local_multiprocess.sh N [jaxcut.sweep flags...]
#   launch/local_multiprocess.sh 2 --grid smoke --out runs/smoke-2proc
# Every process runs the same command; jax.distributed joins them; process 0 prints the
# summary and writes results.csv. If one process dies, the others exit non-zero after the
# heartbeat timeout (--heartbeat_timeout, default 30 s); rerun the same line to resume.
set -uo pipefail
if [ $# -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N [jaxcut.sweep flags...]" >&2
  exit 2
fi
N=$1; shift
# The interpreter: $PYTHON if set, else the python on PATH (say which, so a venv that is
# not activated is noticed).
PY=${PYTHON:-$(command -v python || command -v python3)}
echo "launch: $N processes of $PY" >&2
PORT=${JAXCUT_PORT:-$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
pids=()
for ((i = 0; i < N; i++)); do
  JAXCUT_COORDINATOR="127.0.0.1:$PORT" JAXCUT_NUM_PROCESSES="$N" JAXCUT_PROCESS_ID="$i" \
    "$PY" -m jaxcut.sweep --distributed "$@" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do
  wait "$p" || status=$?
done
exit "$status"
