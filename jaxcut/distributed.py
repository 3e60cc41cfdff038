"""Multi-host sweeps on JAX's own multi-controller runtime.

Every process runs the same `python -m jaxcut.sweep --distributed ...` command. This module
starts `jax.distributed`: from JAXCUT_COORDINATOR / JAXCUT_NUM_PROCESSES / JAXCUT_PROCESS_ID
when set (launch/local_multiprocess.sh), otherwise by JAX's cluster auto-detection (SLURM,
Open MPI, Cloud TPU). After that `jax.devices()` lists every process's devices; the sweep
shards each chunk's run axis over all of them (`jaxcut.engine`), each process commits the
runs its devices computed, and process 0 merges results.csv at the end.

If a process dies, the coordination service notices within the heartbeat timeout and the
other processes exit non-zero instead of waiting forever; rerunning the same command
resumes from the committed chunks.
"""

from __future__ import annotations

import os

import jax


def initialize(heartbeat_timeout_s: int = 30, init_timeout_s: int = 120) -> None:
  """Start jax.distributed; a missing or unreachable coordinator is an InputError."""
  from jaxcut.config import InputError
  kw = dict(initialization_timeout=init_timeout_s, heartbeat_timeout_seconds=heartbeat_timeout_s)
  try:
    if "JAXCUT_COORDINATOR" in os.environ:
      try:
        n, i = int(os.environ["JAXCUT_NUM_PROCESSES"]), int(os.environ["JAXCUT_PROCESS_ID"])
      except (KeyError, ValueError):
        raise InputError("--distributed with JAXCUT_COORDINATOR needs JAXCUT_NUM_PROCESSES "
                         "and JAXCUT_PROCESS_ID (integers)") from None
      jax.distributed.initialize(coordinator_address=os.environ["JAXCUT_COORDINATOR"],
                                 num_processes=n, process_id=i, **kw)
    else:
      jax.distributed.initialize(**kw)
  except (ValueError, RuntimeError) as e:
    raise InputError(f"--distributed could not start jax.distributed ({str(e).splitlines()[0]}); "
                     "set JAXCUT_COORDINATOR=host:port, JAXCUT_NUM_PROCESSES and "
                     "JAXCUT_PROCESS_ID, or launch under SLURM / Open MPI / Cloud TPU "
                     "(launch/README.md)") from None
  if jax.process_index() != 0:  # one voice: orbax/absl chatter only from process 0
    from absl import logging
    logging.set_verbosity(logging.ERROR)


# JAX keeps the coordination client (key-value store, barriers) private; jaxcut reads it
# from jax._src.distributed, present from jax 0.4.35 through 0.11 (pyproject's bounds).
SUPPORTED_JAX = ">=0.4.35,<0.12"


def _client():
  """The coordination client jax.distributed started (None before it started)."""
  try:
    from jax._src.distributed import global_state
    return global_state.client
  except (ImportError, AttributeError):
    raise RuntimeError(f"--distributed needs JAX's coordination client "
                       f"(jax._src.distributed.global_state.client), which jax "
                       f"{jax.__version__} does not have; jaxcut supports jax {SUPPORTED_JAX} "
                       f"(pip install -c constraints.txt -e .)") from None


def barrier(name: str, timeout_s: int = 1800) -> None:
  """All processes wait here (a no-op with one process).

  Uses the coordination service's barrier, not a device collective: on CPU a collective
  barrier first sets up a gloo context, whose 30 s rendezvous timed out when one process
  was still busy (seen in the 2-process test)."""
  if jax.process_count() == 1:
    return
  client = _client()
  if client is not None:
    client.wait_at_barrier(name, timeout_in_ms=timeout_s * 1000)
  else:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)


def decided_by_main(name: str, fn, timeout_s: int = 1800) -> None:
  """Run fn() on process 0 only; every process then raises the InputError it raised.

  For steps that read or write the output directory: run on every process at once, one
  process could read the directory while process 0 creates it (seen: process 1 exited
  with "not empty and holds no sweep" while process 0 waited at a barrier for minutes).
  The outcome travels through the coordination service's key-value store.
  """
  if jax.process_count() == 1:
    fn()
    return
  from jaxcut.config import InputError
  client = _client()
  key = f"jaxcut/{name}"
  if is_main():
    try:
      fn()
    except InputError as e:
      client.key_value_set(key, f"input:{e}")
      raise
    except Exception as e:
      client.key_value_set(key, f"error:{type(e).__name__}: {e}")
      raise
    client.key_value_set(key, "ok")
    return
  status = client.blocking_key_value_get(key, timeout_s * 1000)
  if status.startswith("input:"):
    raise InputError(status[len("input:"):])
  if status != "ok":
    raise RuntimeError(f"process 0 failed: {status[len('error:'):]}")


def is_main() -> bool:
  return jax.process_index() == 0
