"""Files: JSON records, orbax array trees, provenance. Writes are atomic (tmp + rename).

Array trees (trajectories, final rho, weights) go through orbax's StandardCheckpointer as
a few large stacked numpy arrays; keys never contain '/'; every save is waited on.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
from typing import Any

import jax
import numpy as np

import jaxcut
from jaxcut import compiler


def provenance() -> dict:
  """Versions and devices, written into every result file."""
  import jaxlib
  return {"jaxcut_version": jaxcut.__version__, "jax_version": jax.__version__,
          "jaxlib_version": jaxlib.__version__, "python": platform.python_version(),
          "backend": jax.default_backend(),
          "matmul_precision": str(jax.config.jax_default_matmul_precision),
          "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "compiler_options": compiler.describe(),
          "devices": [str(d) for d in jax.devices()],
          "process_count": jax.process_count()}


def to_jsonable(x: Any) -> Any:
  if isinstance(x, (str, bool, int)) or x is None:  # fast path: result rows are plain Python
    return x
  if isinstance(x, float):
    return x if math.isfinite(x) else str(x)
  if isinstance(x, dict):
    return {k: to_jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [to_jsonable(v) for v in x]
  if isinstance(x, (np.ndarray, jax.Array)) or np.isscalar(x):
    a = np.asarray(x)
    if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
      return a.tolist()
    if np.issubdtype(a.dtype, np.floating):
      return _floats(a)
  return x


def _floats(a: np.ndarray):
  # JSON has no NaN/inf: write them as strings ("nan", "inf") so no reader mistakes them.
  if a.ndim:
    return [_floats(v) for v in a]
  return float(a) if np.isfinite(a) else str(float(a))


def write_json(path: str, obj: Any) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(to_jsonable(obj), f, indent=1, sort_keys=False)
      f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are for everyone to read
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_npz(path: str, **arrays) -> None:
  """np.savez to `path`, atomically (a temporary file, then a rename)."""
  tmp = path + ".tmp.npz"  # np.savez appends .npz to names without it
  try:
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def read_json(path: str) -> Any:
  with open(path) as f:
    return json.load(f)


def save_tree(path: str, tree: Any) -> None:
  """Save a pytree of arrays with orbax at `path` (replaced atomically if it exists)."""
  import orbax.checkpoint as ocp
  path = os.path.abspath(path)
  tmp = path + ".partial"
  shutil.rmtree(tmp, ignore_errors=True)
  tree = jax.tree.map(np.asarray, tree)
  # Synchronous save: the async checkpointer's background threads raced with a restart
  # of the same part after a killed process (seen in the 2-process resume test).
  ckpt = ocp.Checkpointer(ocp.StandardCheckpointHandler(),
                          multiprocessing_options=_this_process_only(ocp))
  ckpt.save(tmp, args=ocp.args.StandardSave(tree))
  ckpt.close()
  if os.path.exists(path):
    shutil.rmtree(path)
  os.replace(tmp, path)


def _this_process_only(ocp):
  """Each process saves and loads its own host-local numpy trees: no cross-process
  barriers (by default orbax waits for every process, which deadlocks when processes
  save different parts)."""
  me = jax.process_index()
  return ocp.options.MultiprocessingOptions(primary_host=me, active_processes={me},
                                            barrier_sync_key_prefix=f"jaxcut-p{me}")


def load_tree(path: str) -> Any:
  """Restore a pytree of numpy arrays saved by `save_tree`."""
  import orbax.checkpoint as ocp
  ckpt = ocp.StandardCheckpointer(multiprocessing_options=_this_process_only(ocp))
  try:
    return ckpt.restore(os.path.abspath(path))
  finally:
    ckpt.close()
