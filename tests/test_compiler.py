"""jaxcut's CPU compile options (jaxcut/compiler.py): what is used, how it is chosen and
recorded, and what it does to results: rounding only (float64 to 1e-12, float32 to 1e-5;
neither is bit for bit: XLA orders some sums differently at level 1)."""

import jax
import numpy as np
import pytest

from conftest import run_cli
from jaxcut import compiler, engine, io
from jaxcut.config import Config, InputError

TINY = Config(P=3, d=60, n=12, group_counts=(1, 2, 2), steps=30, log_every=10, n_test=100)


def test_the_choice_comes_from_the_environment(monkeypatch):
  monkeypatch.delenv(compiler.ENV, raising=False)
  assert compiler.choice() == "fast-compile"
  assert compiler.options() == (compiler.CPU if jax.default_backend() == "cpu" else None)
  monkeypatch.setenv(compiler.ENV, "quick-compile")
  assert compiler.options() == (compiler.QUICK if jax.default_backend() == "cpu" else None)
  monkeypatch.setenv(compiler.ENV, "default")
  assert compiler.options() is None and compiler.describe() == "xla defaults"
  assert io.provenance()["compiler_options"] == "xla defaults"
  monkeypatch.setenv(compiler.ENV, "fastest")
  with pytest.raises(InputError, match="JAXCUT_XLA_OPTIONS='fastest': allowed values"):
    compiler.choice()


def test_a_bad_choice_is_one_line_before_any_compute(tmp_path, monkeypatch):
  from jaxcut.commands.sweep import main
  monkeypatch.setenv(compiler.ENV, "fastest")
  r = run_cli(main, "--grid=smoke", f"--out={tmp_path / 'o'}")
  assert r.returncode == 2 and r.stderr.count("\n") == 1 and "JAXCUT_XLA_OPTIONS" in r.stderr
  assert not (tmp_path / "o").exists()
  r = run_cli(main, "--grid=smoke", "--xla_options=fastest", f"--out={tmp_path / 'o'}")
  assert r.returncode == 2 and "xla_options" in r.stderr and not (tmp_path / "o").exists()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the options are CPU-only")
@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-15),
                                              ("float32", 1e-5, 1e-6)])
def test_options_change_results_by_rounding_only(dtype, rtol, atol):
  cfg = TINY.replace(method="cutmix", dtype=dtype)
  with jax.enable_x64(dtype == "float64"):
    spec = cfg.spec()
    outs = [jax.jit(engine.one_run(spec.static), compiler_options=opts)(np.uint32(3), spec.hypers)
            for opts in (None, compiler.CPU, compiler.QUICK)]
  for other in outs[1:]:
    for a, b in zip(jax.tree.leaves(outs[0]), jax.tree.leaves(other)):
      # atol: span_residual is rounding noise itself (~1e-7 at float32)
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
