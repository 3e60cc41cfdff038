"""Shared test helpers, and one persistent compilation cache for the whole run.

The suite is compile-bound: a tiny run's program takes ~0.8 s to trace and ~3.3 s to
compile against 0.04 s to run, and the suite compiles ~220 distinct programs. A cache in a
temporary directory, shared by this process and the processes the tests start
(JAXCUT_CACHE_DIR), keeps the tests off the user's own cache (~/.cache/jaxcut/xla, which
made a second run of the suite faster than the first) and starts empty every run, so a run
never depends on what an earlier one left. Measured: test_sweep.py + test_report.py take
395 s with it and without any cache, so few programs repeat across the suite.
JAXCUT_TEST_CACHE_DIR=DIR keeps it in DIR; =off: no cache.

Compile options: unless JAXCUT_XLA_OPTIONS is set, the suite compiles jaxcut's programs
with `quick-compile` (XLA level 0, `jaxcut.compiler`), which halves the compile time of
its tiny programs (compiling was 1260 s of the suite's 2196 test-seconds), and the tests
marked run_bound with jaxcut's default; the tests' own programs (eager references, plain
jax.jit) compile at XLA level 0 too (XLA_FLAGS). tests/test_compiler.py checks that every
option set gives the same results up to rounding.
"""

import os
import shutil
import tempfile

import numpy as np

from jaxcut.store import read_rows
from jaxcut.driver import TIMING_COLUMNS

# Rounding noise itself (~1e-7, see coefficients.span_residual): compared absolutely.
ABSOLUTE = {"span_residual": 1e-5}


def rows_without_timing(path):
  return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in read_rows(path)]


def ci(v):
  """Mean and 95% t-interval, computed here with scipy (independently of jaxcut.stats)."""
  from scipy import stats as st
  v = np.asarray(v, float)
  half = st.t.ppf(0.975, len(v) - 1) * st.sem(v)
  return v.mean(), v.mean() - half, v.mean() + half


def assert_rows_close(a, b, rtol=1e-6):
  """Same columns and text; numbers to rtol (float32 reductions may round differently by
  an ulp when a CPU is split into fake devices or processes with fewer threads each)."""
  assert len(a) == len(b)
  for ra, rb in zip(a, b):
    assert ra.keys() == rb.keys()
    for k in ra:
      try:
        x, y = float(ra[k]), float(rb[k])
      except ValueError:
        assert ra[k] == rb[k], k
      else:
        np.testing.assert_allclose(x, y, rtol=0 if k in ABSOLUTE else rtol,
                                   atol=ABSOLUTE.get(k, 1e-9), err_msg=k)


def assert_float_columns_close(a, b, rtol, atol=1e-7):
  """Two sweeps' result rows (dicts of typed values): every float column but the timing
  and span_residual (rounding noise) to rtol / atol."""
  for ra, rb in zip(a, b):
    for k, v in ra.items():
      if isinstance(v, float) and k not in TIMING_COLUMNS and k != "span_residual":
        np.testing.assert_allclose(rb[k], v, rtol=rtol, atol=atol, err_msg=k)


import jax
import pytest

_CACHE_ENV = "JAXCUT_TEST_CACHE_DIR"
_QUICK_ENV = "JAXCUT_TEST_QUICK_COMPILE"  # the suite chose quick-compile (not the user)


def pytest_configure(config):
  """Before any compilation: the run's cache (made by the first process, inherited by the
  workers and by every process a test starts)."""
  if not os.environ.get(_CACHE_ENV):
    os.environ[_CACHE_ENV] = tempfile.mkdtemp(prefix="jaxcut-test-xla-")
    config._jaxcut_made_cache = True
  os.environ["JAXCUT_CACHE_DIR"] = os.environ[_CACHE_ENV]  # "off": no cache anywhere
  if not os.environ.get("JAXCUT_XLA_OPTIONS"):  # inherited by workers and the processes tests start
    os.environ["JAXCUT_XLA_OPTIONS"] = "quick-compile"
    os.environ[_QUICK_ENV] = "1"
    # and the tests' own programs (eager references, plain jax.jit), unless XLA_FLAGS
    # already sets a level; before any backend starts
    if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
      os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                 " --xla_backend_optimization_level=0").strip()
  from jaxcut import cache
  cache.enable(os.environ[_CACHE_ENV])


def pytest_unconfigure(config):
  if getattr(config, "_jaxcut_made_cache", False):
    shutil.rmtree(os.environ.pop(_CACHE_ENV), ignore_errors=True)


@pytest.fixture(autouse=True, scope="module")
def _fresh_jax_caches():
  """Drop compiled programs between test modules: one pytest process compiles hundreds of
  programs, and holding them all grew the process past 4 GB (an XLA compile once crashed
  late in a full run)."""
  yield
  jax.clear_caches()


@pytest.fixture(autouse=True)
def _run_bound_tests_compile_as_users_do(request, monkeypatch):
  """Tests marked run_bound run reference-size programs, where quick-compile's slower code
  costs more than it saves (measured: 28 s -> 54 s): they compile with jaxcut's default."""
  if request.node.get_closest_marker("run_bound") and os.environ.get(_QUICK_ENV):
    monkeypatch.setenv("JAXCUT_XLA_OPTIONS", "fast-compile")


def cli_here(command, *args):
  """`python -m jaxcut.COMMAND ARGS` (sweep, report, train, realdata) in this process, as
  `run_cli` runs it: where a test is about the command, not about its process (a new
  process costs ~6 s of start-up and tracing)."""
  import importlib
  return run_cli(importlib.import_module(f"jaxcut.commands.{command}").main, *args)


def run_cli(main, *args):
  """A CLI's main run in this process, as `jaxcut.cli.run` runs it: (returncode, stdout,
  stderr) in a SimpleNamespace. For inputs refused before compute (no JAX start-up)."""
  import contextlib
  import io
  import types
  from jaxcut.cli import run
  out, err = io.StringIO(), io.StringIO()
  code = 0
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      run(main, ["prog", *args])
    except SystemExit as e:
      code = e.code or 0
  return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
