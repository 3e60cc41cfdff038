"""Benign: Kou et al. (ICML 2023)'s benign-overfitting heatmap, test error over ||mu|| x d.

Their setting exactly (docs/model.md, section 10): x = [y mu, xi] in random patch order
(P = 2), xi ~ N(0, sigma_p^2 I_d) on every coordinate (noise_projected=false), sigma_p = 1,
one antipodal feature of norm ||mu|| (group_norms), 10% label flips in training and test
labels, m = 10 ReLU filters per class with bias, output averaged over the patches
(output_scale=1/P), PyTorch's default uniform init U(-1/sqrt(d), 1/sqrt(d)), full-batch
gradient descent on the cross-entropy (= logistic) loss, lr 0.1, T = 100, n = 20, and
1000 test points scored against their (flipped) labels. The theory: benign (test error
near the 10% floor) when n ||mu||^4 >= c sigma_p^4 d, harmful below; the report fits c and
the exponent of the threshold in d (`benign_threshold_scaling`). paper: their 100 x 100
cells (||mu|| = 0, 0.1, .., 9.9; d = 100, 110, .., 1090), 10 seeds (100,000 runs).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from jaxcut import stats
from jaxcut.analysis import thresholds
from jaxcut.analysis.claims import Claim, Ctx, NotTested, point, result
from jaxcut.analysis.figures import (STANDARD, at, Drawn, axes_text, cell_means, pyplot, save,
                                     shape_text, title)
from jaxcut.analysis.sweepdata import Sweep, col
from jaxcut.config import Config
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, verdict

SIZES = ("cpu", "paper")
N, SIGMA_P, FLIP = 20, 1.0, 0.1


def dimension(d: int) -> dict:
  # PyTorch's Conv1d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = d; std 1/sqrt(3 d)
  return {"d": int(d), "sigma_0": 1 / math.sqrt(3 * d)}


def kou_base(d: int = 100) -> Config:
  return Config(P=2, n=N, group_names=("signal",), group_counts=(1,),
                group_masses=(1.0,), group_norms=(1.0,), features="antipodal",
                noise_projected=False, label_flip=FLIP, alpha=0.0, sigma_d=SIGMA_P,
                sigma_b=SIGMA_P, m=10, activation="relu", output_scale="1/P", bias=True,
                init="uniform", eta=0.1, steps=100, log_every=50, n_test=1000,
                **dimension(d))


SENTENCE = ("Kou et al.: the signal norm needed for benign overfitting grows with d "
            "(theory: n ||mu||^4 = c sigma_p^4 d)")


def benign_threshold_scaling(c: Ctx) -> dict:
  """Kou et al.'s boundary n ||mu||^4 = c sigma_p^4 d: the benign threshold's exponent in d,
  fitted per seed (`thresholds.benign_fits`); claim: it is positive (the threshold grows
  with d). Whether 1 (the theory's) lies in its interval, and c, are the evidence."""
  c.need_label("mu")
  c.need_label("d")
  row = c.rows[0]
  n, sigma_p = int(row["n"]), float(row["sigma_d"])
  fits = thresholds.benign_fits(c.rows, n, sigma_p)
  if len(fits["slope"]) < 2:
    raise NotTested("fewer than 2 seeds with a benign threshold at >= 2 dimensions")
  slope = interval(fits["slope"].values())
  logc = interval(math.log(x) for x in fits["c"].values())
  q = {"threshold_exponent_in_d": slope,
       "threshold_exponent_minus_1": stats.shifted(slope, 1.0),
       "c": {"mean": math.exp(logc["mean"]), "lo": math.exp(logc["lo"]),
             "hi": math.exp(logc["hi"]), "n": logc["n"]},
       "cells_without_threshold": point(fits["missing"], len(c.rows))}
  return result(SENTENCE,
              "exponent b of the benign threshold ||mu||^4 ~ d^b, fitted per seed, > 0 "
              f"(benign: test error <= {thresholds.BENIGN_ERROR})", [verdict(slope)], q,
              ["threshold_exponent_in_d"],
              ["threshold_exponent_minus_1", "c", "cells_without_threshold"])


BENIGN_THRESHOLD_SCALING = Claim("benign_threshold_scaling", SENTENCE,
                                 benign_threshold_scaling,
                                 over=("mu", "d", "sigma_0", "group_norms"))


def fig_benign(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Kou et al.'s heatmap: mean test error (observed labels) over (||mu||, d), with the
  fitted boundary ||mu|| = (c sigma_p^4 d / n)^(1/4) (c and its 95% interval over seeds)
  and each d's mean benign threshold."""
  if not {"mu", "d"} <= set(sweep.labels):
    return None
  plt = pyplot()
  rows = sweep.rows
  mu = np.array([float(r["mu"]) for r in rows])
  d = np.array([float(r["d"]) for r in rows])
  xs, ys, grid = cell_means(mu, d, 1.0 - col(rows, "test_acc"))
  fig, ax = plt.subplots(figsize=(7.2, 5.0), layout="constrained")
  im = ax.pcolormesh(xs, ys, grid, shading="nearest", vmin=0.0, vmax=0.6, cmap="YlGnBu")
  fig.colorbar(im, ax=ax, label="test error (against the flipped test labels)")
  n, sigma_p = int(rows[0]["n"]), float(rows[0]["sigma_d"])
  fits = thresholds.benign_fits(rows, n, sigma_p)
  per_d = fits["thresholds"]
  mean_t = [np.nanmean([per_d[s].get(int(v), np.nan) for s in per_d]) for v in ys]
  ax.plot(mean_t, ys, "o", color="tab:red", ms=3.5,
          label=f"threshold (error <= {thresholds.BENIGN_ERROR}), mean over seeds")
  if len(fits["c"]) >= 2:
    logc = interval(math.log(x) for x in fits["c"].values())
    dd = np.linspace(ys.min(), ys.max(), 100)
    for key, style in (("mean", "-"), ("lo", ":"), ("hi", ":")):
      cc = math.exp(logc[key])
      ax.plot((cc * sigma_p ** 4 * dd / n) ** 0.25, dd, style, color="black", lw=1.4,
              label=(f"n ||mu||^4 = c sigma_p^4 d, c = {math.exp(logc['mean']):.3g} "
                     f"[{math.exp(logc['lo']):.3g}, {math.exp(logc['hi']):.3g}]"
                     if key == "mean" else None))
  axes_text(ax, "", "signal norm ||mu||", "dimension d")
  title(fig, f"Benign overfitting ({len(xs)} x {len(ys)} cells): "
              f"{shape_text(sweep, 'd')}, label flips {rows[0]['label_flip']}", 80)
  return save(fig, out, "benign.png")


def heatmap(mus, ds, seeds: int, name: str = "benign", **grid_kw) -> Grid:
  """Kou et al.'s setting over d x ||mu|| (one compiled program per d)."""
  return Grid(name=name, base=kou_base(), seeds=seeds,
              axes=(Axis("d", tuple(ds), fields=dimension),
                    Axis("mu", tuple(mus), fields=lambda s: {"group_norms": (s,)})),
              **grid_kw)


# the cell the standard figures draw (in both sizes): near the fitted boundary, where the
# feature is learned and noise memorised together (the base cell, d = 100 and ||mu|| = 0,
# has no signal: a flat line)
SHOWN = {"d": 550, "mu": 4.0}


def get_grid(size):
  if size == "cpu":
    mus = tuple(float(x) for x in np.round(np.arange(0, 10, 0.5), 2))
    ds = tuple(range(100, 1100, 90))
    seeds = 16
  else:
    mus = tuple(float(x) for x in np.round(np.arange(100) * 0.1, 2))
    ds = tuple(range(100, 1100, 10))
    seeds = 10
  return heatmap(
      mus, ds, seeds, summary=("test_acc", "test_acc_clean", "train_acc"),
      claims=(BENIGN_THRESHOLD_SCALING,),
      figures=tuple(at(f, SHOWN) for f in STANDARD) + (fig_benign,),
      description=first_paragraph(__doc__))
