"""Process-wide JAX settings the CLIs apply before the first compilation.

* The persistent compilation cache (`jaxcut.cache`).
* jaxcut's compiler options (`jaxcut.compiler`; JAXCUT_XLA_OPTIONS checked here, before
  any compute).
* float32 matmuls at full precision: on recent NVIDIA GPUs JAX's default lets XLA use
  TF32 (about 3 significant digits) for float32 matrix products; jaxcut asks for
  "highest" so that accelerator results equal CPU results within float32 rounding (the
  tolerances the tests state). A JAX_DEFAULT_MATMUL_PRECISION the user set wins. On CPU
  this changes nothing.
* CPU devices (`--cpu_devices N`, JAXCUT_CPU_DEVICES): the host's cores as N JAX devices,
  over which the sweep shards its runs as over any devices. A run's work is mostly single-
  threaded when it is small (the benign grid's: 1.6x on 2 cores, benchmarks/README.md);
  results equal one device's up to float rounding (tests/test_sweep.py). Default: 1.
* Determinism: XLA's GPU reductions are not bitwise reproducible by default; set
  XLA_FLAGS=--xla_gpu_deterministic_ops=true for identical bits run to run (slower).
"""

from __future__ import annotations

import os
from typing import Optional


CPU_DEVICES_ENV = "JAXCUT_CPU_DEVICES"


def configure(cache_dir: Optional[str] = None, xla_options: Optional[str] = None,
              cpu_devices: Optional[int] = None) -> dict:
  """Apply the settings; returns what is in use (for logs and result files).
  `xla_options` (the CLIs' --xla_options) sets JAXCUT_XLA_OPTIONS for this process and
  the processes it starts; `cpu_devices` likewise JAXCUT_CPU_DEVICES."""
  import jax
  from jaxcut import cache, compiler
  from jaxcut.config import InputError
  if xla_options:
    os.environ[compiler.ENV] = xla_options
  xla = compiler.choice()  # a bad JAXCUT_XLA_OPTIONS is refused here, before any compute
  if cpu_devices is not None:
    os.environ[CPU_DEVICES_ENV] = str(cpu_devices)
  raw = os.environ.get(CPU_DEVICES_ENV, "")
  if raw:
    if not (raw.isdigit() and 1 <= int(raw) <= 1024):
      raise InputError(f"cpu_devices={raw!r} is out of range: cpu_devices "
                       f"({CPU_DEVICES_ENV}) must be an integer in 1..1024")
    jax.config.update("jax_num_cpu_devices", int(raw))
  if not os.environ.get("JAX_DEFAULT_MATMUL_PRECISION"):
    jax.config.update("jax_default_matmul_precision", "highest")
  return {"compilation_cache": cache.enable(cache_dir),
          "matmul_precision": str(jax.config.jax_default_matmul_precision),
          "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "compiler_options": xla,  # the choice, not the options: no backend is up yet
          "cpu_devices": int(raw) if raw else 1}
