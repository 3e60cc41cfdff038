"""d is data: a run's arrays are padded to `compiled_d(d)` and its numbers do not change.

Padding coordinates carry no data, no filter weight and no gradient, and every draw is
made per coordinate block (`data.blocked`), so a run computes the same whatever width it
is compiled at: tested at float64, rtol 1e-9, against its own unpadded width and a wider
one, alone and inside a sweep that pads it; and a grid's program count follows the
ladder, not the number of distinct d.
"""

import collections
import dataclasses

import jax
import numpy as np
import pytest

from jaxcut.config import PRESETS, Spec, compiled_d
from jaxcut.driver import run_sweep
from jaxcut.grid import Axis, Grid
from jaxcut.store import load_run, read_results
from jaxcut.training import train

RTOL, ATOL = 1e-9, 1e-12


def test_compiled_d_is_the_ladder():
  ladder = sorted({compiled_d(d) for d in range(1, 5000)})
  assert ladder[:8] == [16, 24, 32, 48, 64, 96, 128, 192]
  for d in range(1, 5000):
    assert d <= compiled_d(d) and (d <= 16 or compiled_d(d) <= 1.5 * d)
    assert compiled_d(compiled_d(d)) == compiled_d(d)


def _run(cfg, width, seed=5):
  spec = Spec(static=dataclasses.replace(cfg.static(), d=width), hypers=cfg.hypers())
  _, traj, metrics = jax.jit(train)(jax.random.key(seed), spec)
  return jax.tree.map(np.asarray, (traj, metrics))


def _assert_same(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(x.astype(float), y.astype(float), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fields", [
    {"method": "cutmix"},  # exact CutMix, projected noise, normal init
    {"bias": True, "noise_projected": False, "init": "uniform", "optimizer": "adam"},
    {"backend": "gram", "method": "cutout", "d": 40},  # explicit Gram (singular Wishart)
], ids=["cutmix", "kou-knobs-adam", "gram-explicit"])
def test_padded_equals_unpadded(fields):
  with jax.enable_x64(True):
    cfg = PRESETS["tiny"].replace(**{"d": 100, "steps": 6, "log_every": 3, "n_test": 60,
                                     "dtype": "float64", **fields}).validate()
    assert cfg.static().d == compiled_d(cfg.d) > cfg.d
    own = _run(cfg, cfg.d)
    _assert_same(own, _run(cfg, 3 * compiled_d(cfg.d) + 5))  # several blocks more
    assert np.isfinite(own[1]["test_acc"]) and not own[1]["diverged"]


def test_a_run_is_the_same_alone_and_in_a_padded_sweep(tmp_path):
  """Three dimensions of one ladder step share one program per method; the d = 70 run
  (compiled at 96) equals that run trained alone at width 70."""
  base = PRESETS["tiny"].replace(steps=6, log_every=3, n_test=60, dtype="float64")
  grid = Grid(name="pad", base=base, seeds=2,
              axes=(Axis("method", ("erm", "cutout")), Axis("d", (70, 80, 96))))
  assert len({compiled_d(d) for d in (70, 80, 96)}) == 1
  with jax.enable_x64(True):
    result = run_sweep(grid, str(tmp_path), quiet=True)
    rows = read_results(str(tmp_path))
    assert len({(r["method"], r["compiled_group"]) for r in rows}) == 2  # one per method
    run = next(r for r in grid.runs() if r.config.d == 70 and r.config.method == "cutout")
    traj, metrics = _run(run.config, 70, run.seed)
  row = result.rows[run.run_id]
  np.testing.assert_allclose(float(row["test_acc"]), metrics["test_acc"], rtol=RTOL)
  np.testing.assert_allclose(float(row["margin_rare"]), metrics["margin_group"][1], rtol=RTOL,
                             atol=ATOL)
  saved = load_run(str(tmp_path), run.run_id)
  np.testing.assert_allclose(saved["trajectories"]["gamma"], traj["gamma"], rtol=RTOL, atol=ATOL)
  scale = np.abs(metrics["rho_final"]).max()  # a Gram solve: compared to its scale
  np.testing.assert_allclose(saved["rho_final"], metrics["rho_final"], rtol=0, atol=RTOL * scale)


def test_benign_paper_grid_compiles_a_handful_of_programs():
  """Kou et al.'s 100 x 100 x 10 heatmap: 100 dimensions, 8 programs (was 100)."""
  from sweeps import benign
  runs = benign.get_grid("paper").runs()
  assert len(runs) == 100_000
  programs = collections.defaultdict(set)
  for r in runs:
    programs[r.config.method].add(r.config.static())
  assert len({r.config.d for r in runs}) == 100
  assert all(len(p) <= 8 for p in programs.values()), {k: len(v) for k, v in programs.items()}
