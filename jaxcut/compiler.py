"""The XLA options jaxcut compiles its programs with (simulations and image models).

On a CPU a jaxcut program takes longer to compile than to run at the sizes of tests and
small grids, and a grid pays one compile per static group. XLA's CPU defaults optimise
each program hard (LLVM at -O2 and its newer fusion emitters). For jaxcut's programs,
`xla_backend_optimization_level=1` with the classic fusion emitters
(`xla_cpu_use_fusion_emitters=false`) halves compile time (a tiny run's program 5.6 s ->
2.8 s on this 2-core machine) and leaves run time at the reference setting as it was,
except Cutout on the gram backend (+20% per run; measured side by side:
`python -m benchmarks.sweep_throughput --only xla`, figures in benchmarks/README.md). Results move by rounding only (some sums are ordered differently:
float64 within 1e-12, float32 within 1e-5, tests/test_compiler.py).

`quick-compile` goes one step further, for programs that run once at tiny size (smoke
runs, the test suite, which sets it): optimisation level 0 compiles a tiny run's program
in ~1.1-1.3 s against ~2.0-2.5 s, and runs it 1.5-3x slower (`benchmarks/sweep_throughput.py
--only xla`); not for real grids.

These are per-program `compiler_options`, so they do not touch programs that are not
jaxcut's, and XLA_FLAGS still sets everything else. Other backends keep XLA's defaults
(not measured there). JAXCUT_XLA_OPTIONS=default compiles with XLA's defaults everywhere;
which set was used is written into every result file (`io.provenance`).
"""

from __future__ import annotations

import os
from typing import Optional

import jax

from jaxcut.config import InputError

CPU = {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": False}
QUICK = {**CPU, "xla_backend_optimization_level": 0}
ENV = "JAXCUT_XLA_OPTIONS"
CHOICES = ("fast-compile", "default", "quick-compile")


def choice() -> str:
  """'fast-compile' (jaxcut's options where measured), 'default' (XLA's own) or
  'quick-compile' (least compile time, slower runs)."""
  v = os.environ.get(ENV, "").strip().lower() or CHOICES[0]
  if v not in CHOICES:
    raise InputError(f"{ENV}={v!r}: allowed values are {', '.join(CHOICES)}")
  return v


def options() -> Optional[dict]:
  """The compiler options for the backend in use (None: XLA's defaults). Call only once
  the backend may be initialised (inside a CLI, not at import)."""
  c = choice()
  if c == "default" or jax.default_backend() != "cpu":
    return None
  return dict(QUICK if c == "quick-compile" else CPU)


def jit(fun, **kw):
  """jax.jit with `options()`."""
  return jax.jit(fun, compiler_options=options(), **kw)


def describe() -> str:
  """What was used, for result files: the options, or 'xla defaults'."""
  opts = options()
  return ",".join(f"{k}={v}" for k, v in sorted(opts.items())) if opts else "xla defaults"
