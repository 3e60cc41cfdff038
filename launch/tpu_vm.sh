#!/usr/bin/env bash
# A jaxcut sweep on a Cloud TPU VM pod slice: the same command on every worker.
#   launch/tpu_vm.sh TPU_NAME ZONE --grid rarity --size paper --out gs-fuse-or-nfs/runs/rarity
# Installs jaxcut and JAX for TPU on every worker (first run), then starts the sweep with
# --distributed (jax.distributed auto-detects the TPU slice: no addresses needed). --out
# must be a directory every worker sees (NFS or a gcsfuse mount). Rerun to resume.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 TPU_NAME ZONE [jaxcut.sweep flags...]" >&2
  exit 2
fi
TPU=$1; ZONE=$2; shift 2
REPO=${JAXCUT_REPO_DIR:-jaxcut}   # the checkout's path on the workers
ARGS=$(printf '%q ' "$@")
gcloud compute tpus tpu-vm scp --recurse --zone="$ZONE" --worker=all . "$TPU:$REPO"
gcloud compute tpus tpu-vm ssh "$TPU" --zone="$ZONE" --worker=all --command="
  set -e
  cd $REPO
  python3 -m pip install -q -e . 'jax[tpu]' -f https://storage.googleapis.com/jax-releases/libtpu_releases.html
  python3 -m jaxcut.sweep --distributed --quiet $ARGS"
