"""Process-wide JAX settings the CLIs apply before the first compilation.

* The persistent compilation cache (`jaxcut.cache`).
* jaxcut's compiler options (`jaxcut.compiler`; JAXCUT_XLA_OPTIONS checked here, before
  any compute).
* float32 matmuls at full precision: on recent NVIDIA GPUs JAX's default lets XLA use
  TF32 (about 3 significant digits) for float32 matrix products; jaxcut asks for
  "highest" so that accelerator results equal CPU results within float32 rounding (the
  tolerances the tests state). A JAX_DEFAULT_MATMUL_PRECISION the user set wins. On CPU
  this changes nothing.
* Determinism: XLA's GPU reductions are not bitwise reproducible by default; set
  XLA_FLAGS=--xla_gpu_deterministic_ops=true for identical bits run to run (slower).
"""

from __future__ import annotations

import os
from typing import Optional


def configure(cache_dir: Optional[str] = None, xla_options: Optional[str] = None) -> dict:
  """Apply the settings; returns what is in use (for logs and result files).
  `xla_options` (the CLIs' --xla_options) sets JAXCUT_XLA_OPTIONS for this process and
  the processes it starts."""
  import jax
  from jaxcut import cache, compiler
  if xla_options:
    os.environ[compiler.ENV] = xla_options
  xla = compiler.choice()  # a bad JAXCUT_XLA_OPTIONS is refused here, before any compute
  if not os.environ.get("JAX_DEFAULT_MATMUL_PRECISION"):
    jax.config.update("jax_default_matmul_precision", "highest")
  return {"compilation_cache": cache.enable(cache_dir),
          "matmul_precision": str(jax.config.jax_default_matmul_precision),
          "xla_flags": os.environ.get("XLA_FLAGS", ""),
          "compiler_options": xla}  # the choice, not the options: no backend is up yet
