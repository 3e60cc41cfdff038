"""The persistent XLA compilation cache: a program compiled once is loaded, not compiled,
by the next process that needs it (a repeated small sweep: 12.9 s -> 5.0 s end to end,
issue #15's measurement; see benchmarks/README.md).

On by default in the CLIs, in a per-user directory: $JAXCUT_CACHE_DIR, else
$XDG_CACHE_HOME/jaxcut/xla, else ~/.cache/jaxcut/xla. `--cache_dir=PATH` moves it,
`--cache_dir=off` (or JAXCUT_CACHE_DIR=off) turns it off; a JAX_COMPILATION_CACHE_DIR the
user set is left as it is. JAX writes cache entries atomically, so processes may share
the directory (multi-process sweeps, concurrent sweeps). The directory is created private
(0700): JAX trusts what it loads from it, so it must not be writable by others.
"""

from __future__ import annotations

import os
from typing import Optional

OFF = ("off", "none", "0", "false", "")


def default_dir() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "jaxcut", "xla")


def enable(path: Optional[str] = None) -> Optional[str]:
  """Turn the cache on (before the first compilation); returns the directory, or None."""
  import jax
  if os.environ.get("JAX_COMPILATION_CACHE_DIR"):  # the user's own choice wins
    return os.environ["JAX_COMPILATION_CACHE_DIR"]
  if path is None:
    path = os.environ.get("JAXCUT_CACHE_DIR", default_dir())
  if path.strip().lower() in OFF:
    return None
  try:
    os.makedirs(path, mode=0o700, exist_ok=True)
  except OSError:
    return None  # an unwritable cache only costs compile time
  jax.config.update("jax_compilation_cache_dir", path)
  # every jaxcut program is worth keeping: the small ones compile in ~1 s on a CPU
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return path
