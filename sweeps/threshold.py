"""Threshold: each method's learning threshold (feature count) against sigma_d^2 d and sigma_b^2 d.

Every run holds a rarity ladder: 9 groups of one feature each, masses ~ 2^-g, so one run's
per-group test accuracy is a whole rarity curve; its threshold is the count of training
points per signed feature (n rho_k / 2, from ~75 down to ~0.3 at n = 300) where test
accuracy falls below 0.75 (`jaxcut.analysis.thresholds`). Two arms: sigma_d^2 d over more
than a decade with sigma_b fixed, and sigma_b^2 d over more than a decade with sigma_d fixed
(3 methods, 16 seeds, gram backend, d = 10^5, P = 3, Cutout C = 1, which keeps the
dominant patch with probability 2/3). The report fits log threshold against log sigma^2 d
per seed (the exponent) and overlays the lines count = sigma_d^2 d and count = sigma_b^2 d.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from jaxcut.analysis import thresholds
from jaxcut.analysis.claims import Claim, Ctx, NotTested, point, result
from jaxcut.analysis.figures import (COLORS, STANDARD, Drawn, axes_text, errorbar, pyplot,
                                     save, shape_text, title)
from jaxcut.analysis.sweepdata import Sweep
from jaxcut.config import Config
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict

SIZES = ("cpu", "paper")
RUNGS = 9
D = 100_000
# sigma^2 d values of each arm; the other noise level is held at FIXED.
ARMS = {"cpu": {"sigma_d": (62.5, 125, 250, 500, 1000), "sigma_b": (12.5, 25, 50, 100, 200)},
        "paper": {"sigma_d": (62.5, 88.4, 125, 177, 250, 354, 500, 707, 1000, 1414),
                  "sigma_b": (6.25, 8.84, 12.5, 17.7, 25, 35.4, 50, 70.7, 100, 141, 200)}}
FIXED = {"sigma_d": 1000.0, "sigma_b": 25.0}  # sigma^2 d


def ladder(rungs: int = RUNGS) -> dict:
  w = [2.0 ** -g for g in range(rungs)]
  return {"group_names": tuple(f"g{g}" for g in range(rungs)), "group_counts": (1,) * rungs,
          "group_masses": tuple(x / sum(w) for x in w)}


def arm_points(size: str) -> tuple:
  points = []
  for arm, values in ARMS[size].items():
    for v in values:
      s2d = {**FIXED, arm: v}
      points.append({"arm": arm, "sigma_d": math.sqrt(s2d["sigma_d"] / D),
                     "sigma_b": math.sqrt(s2d["sigma_b"] / D)})
  return tuple(points)


def exponent_claim(c: Ctx, sigma: str, a: str, b: Optional[str], text: str) -> dict:
  """Exponent of a method's learning threshold (training count) against sigma^2 d, fitted
  per seed along the arm where `sigma` varies; claim: exponent(a) - exponent(b) > 0 (b None:
  exponent(a) > 0)."""
  c.need_label("arm")
  need = [a] + ([b] if b else [])
  c.need_methods(*need)
  fits = {m: thresholds.exponents(c.sweep.rows, m, sigma) for m in c.sweep.methods()}
  if any(not fits[m] for m in need):
    raise NotTested(f"no {sigma} arm with >= 2 noise levels")
  main = interval(paired(fits[a], fits[b])) if b else interval(fits[a].values())
  name = f"exponent_{sigma}_{a}" + (f"_minus_{b}" if b else "")
  q = {name: main}
  q.update({f"exponent_{sigma}_{m}": interval(f.values()) for m, f in fits.items()
            if f"exponent_{sigma}_{m}" != name})
  for m in fits:  # thresholds at the end of the ladder are bounds, not crossings
    curve, clipped = thresholds.arm_thresholds(c.sweep.rows, m, sigma)
    total = sum(len(v) for v in curve.values())
    q[f"clipped_fraction_{sigma}_{m}"] = point(clipped / max(total, 1), total)
  test = (f"paired ({a} - {b}) fitted exponent of the threshold count in {sigma}^2 d > 0" if b
          else f"{a}'s fitted exponent of the threshold count in {sigma}^2 d > 0")
  return result(text, test, [verdict(main)], q, [name], [k for k in q if k != name])


def threshold_erm_follows_sigma_d(c: Ctx) -> dict:
  return exponent_claim(c, "sigma_d", "erm", None,
                         "ERM's learning threshold grows with the dominant noise sigma_d^2 d")


def threshold_cutout_not_sigma_d(c: Ctx) -> dict:
  return exponent_claim(c, "sigma_d", "erm", "cutout",
                         "Cutout's learning threshold depends less on sigma_d than ERM's (Cutout "
                         "drops the dominant-noise patch)")


def threshold_cutout_follows_sigma_b(c: Ctx) -> dict:
  return exponent_claim(c, "sigma_b", "cutout", None,
                         "Cutout's learning threshold grows with the background noise "
                         "sigma_b^2 d")


def threshold_cutmix_not_sigma_b(c: Ctx) -> dict:
  return exponent_claim(c, "sigma_b", "cutout", "cutmix",
                         "CutMix's learning threshold depends less on sigma_b than Cutout's")


def threshold_cutmix_not_sigma_d(c: Ctx) -> dict:
  return exponent_claim(c, "sigma_d", "erm", "cutmix",
                         "CutMix's learning threshold depends less on sigma_d than ERM's")


_ARMS = ("arm", "sigma_d", "sigma_b")
THRESHOLD = (
    Claim("threshold_erm_follows_sigma_d", "ERM's learning threshold grows with sigma_d^2 d",
          threshold_erm_follows_sigma_d, over=_ARMS),
    Claim("threshold_cutout_not_sigma_d",
          "Cutout's learning threshold depends less on sigma_d than ERM's",
          threshold_cutout_not_sigma_d, over=_ARMS),
    Claim("threshold_cutout_follows_sigma_b", "Cutout's learning threshold grows with "
          "sigma_b^2 d", threshold_cutout_follows_sigma_b, over=_ARMS),
    Claim("threshold_cutmix_not_sigma_b",
          "CutMix's learning threshold depends less on sigma_b than Cutout's",
          threshold_cutmix_not_sigma_b, over=_ARMS),
    Claim("threshold_cutmix_not_sigma_d",
          "CutMix's learning threshold depends less on sigma_d than ERM's",
          threshold_cutmix_not_sigma_d, over=_ARMS))


def fig_threshold(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Threshold count against sigma^2 d on each arm, per method, fitted on log-log axes, with
  the lines count = sigma_d^2 d and count = sigma_b^2 d."""
  if "arm" not in sweep.labels:
    return None
  plt = pyplot()
  arms = [a for a in ("sigma_d", "sigma_b") if any(r.get("arm") == a for r in sweep.rows)]
  fig, axes = plt.subplots(1, len(arms), figsize=(6 * len(arms), 4.4), squeeze=False)
  for ax, arm in zip(axes[0], arms):
    arm_rows = [r for r in sweep.rows if r["arm"] == arm]
    xs = []
    for m in sweep.methods():
      fit = thresholds.fitted_line(sweep.rows, m, arm)
      if not fit["x"]:
        continue
      xs = fit["x"]
      qs = [{"mean": a, "lo": lo, "hi": hi, "n": 2} for a, lo, hi in
            zip(fit["mean"], fit["lo"], fit["hi"])]
      errorbar(ax, fit["x"], qs, color=COLORS[m], ls="none",
                label=f"{m}: exponent {fit['slope']:.2f} ({fit['clipped']} of {fit['total']} "
                      f"clipped)")
      if math.isfinite(fit["slope"]):
        x = np.array([min(fit["x"]), max(fit["x"])])
        ax.plot(x, np.exp(fit["icept"]) * x ** fit["slope"], color=COLORS[m], lw=1)
    r0 = arm_rows[0]
    d = float(r0["d"])
    x = np.array([min(xs), max(xs)]) if xs else np.array([1.0, 10.0])
    if arm == "sigma_d":
      ax.plot(x, x, "k--", lw=1, label="count = sigma_d^2 d")
      ax.axhline(float(r0["sigma_b"]) ** 2 * d, color="k", ls=":", lw=1,
                 label="count = sigma_b^2 d")
    else:
      ax.plot(x, x, "k:", lw=1, label="count = sigma_b^2 d")
      ax.axhline(float(r0["sigma_d"]) ** 2 * d, color="k", ls="--", lw=1,
                 label="count = sigma_d^2 d")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter
    ax.xaxis.set_minor_formatter(NullFormatter())
    other = "sigma_b" if arm == "sigma_d" else "sigma_d"
    axes_text(ax, f"{arm} varies ({other}^2 d = {float(r0[other]) ** 2 * d:.3g})",
               f"{arm}^2 d", "threshold count (training points per signed feature)")
  title(fig, f"Learning thresholds: the feature count where test accuracy on the feature's "
         f"points falls below {thresholds.ACC_LEVEL} (geometric mean and 95% interval over "
         f"seeds; lines: least-squares fit of the mean, slope = exponent): {shape_text(sweep)}")
  return save(fig, out, "threshold.png")


def get_grid(size):
  base = Config(n=300 if size == "cpu" else 600, d=D, P=3, C=1, backend="gram", steps=3000, log_every=300,
                n_test=RUNGS * 1000, **ladder())
  return Grid(
      name="threshold", base=base, seeds=16, labels=("arm",), points=arm_points(size),
      axes=(Axis("method", ("erm", "cutout", "cutmix")),),
      summary=("test_acc_g0", "test_acc_g2", "test_acc_g4", "test_acc_g6"),
      claims=THRESHOLD, figures=STANDARD + (fig_threshold,),
      description=first_paragraph(__doc__))
