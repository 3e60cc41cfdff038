"""Dimension: d from 10^3 to 10^6 with sigma^2 d held fixed, 3 methods, gram backend.

The paper's regime needs d >> n (sigma_d / sigma_b)^2 (README, Findings): at the reference
d = 2000 memorised weak noise costs CutMix overall test accuracy. Scaling sigma_d and
sigma_b by sqrt(2000 / d) keeps every noise norm ||xi|| = sigma sqrt(d) as at the
reference while the noise vectors grow more orthogonal. The gram backend makes every d
cost the same, and one compiled program serves the whole d axis per method. Test accuracy
uses 20,000 points per run (cheap here: test noise is drawn from its exact Gaussian law).
"""

from __future__ import annotations

import math
from typing import Optional

from jaxcut.analysis.claims import Claim, Ctx, point, result
from jaxcut.analysis.figures import (COLORS, STANDARD, Drawn, axes_text, errorbar, pyplot,
                                     save, shape_text, title)
from jaxcut.analysis.sweepdata import Sweep, by_seed, col, rare_of
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict
from sweeps.paper import PAPER

SIZES = ("cpu", "paper")
DIMS = {"cpu": (1000, 2000, 5000, 10_000, 20_000, 100_000, 1_000_000),
        "paper": (1000, 2000, 3000, 5000, 7000, 10_000, 20_000, 50_000, 100_000, 300_000,
                  1_000_000)}


def noise_at(d):
  """sigma_d, sigma_b of the reference (0.25, 0.05 at d = 2000) with sigma^2 d fixed."""
  s = math.sqrt(2000 / d)
  return {"d": d, "sigma_d": 0.25 * s, "sigma_b": 0.05 * s}


def cutmix_overtakes_erm_with_d(c: Ctx) -> dict:
  c.need_label("d")
  c.need_methods("erm", "cutmix")
  curve = []
  for d in sorted({float(r["d"]) for r in c.rows}):
    rows = [r for r in c.rows if float(r["d"]) == d]
    curve.append((d, interval(paired(by_seed(rows, "test_acc", "cutmix"),
                                     by_seed(rows, "test_acc", "erm")))))
  cross = crossover(curve)
  q = {f"test_acc_cutmix_minus_erm_at_d={d:g}": iv for d, iv in curve}
  last = list(q)[-1]
  q["crossover_d"] = point(cross)
  return result("CutMix's overall test accuracy exceeds ERM's once d is large (the paper's "
              "regime, d >> n (sigma_d / sigma_b)^2)",
              "paired (CutMix - ERM) overall test accuracy > 0 at the largest d; crossover_d: "
              "the smallest d from which it stays > 0", [verdict(curve[-1][1])], q, [last],
              [k for k in q if k != last])


def crossover(curve) -> float:
  """The smallest x from which every interval lies above 0 (nan if none)."""
  for i, (x, _) in enumerate(curve):
    if all(q["n"] > 1 and q["lo"] > 0 for _, q in curve[i:]):
      return x
  return float("nan")


CUTMIX_OVERTAKES_ERM_WITH_D = Claim(
    "cutmix_overtakes_erm_with_d", "CutMix's overall test accuracy exceeds ERM's once d is large",
    cutmix_overtakes_erm_with_d, over=("d",))


def dimension_curve(sweep: Sweep, a: str, b: str, column: str) -> list[tuple[float, dict]]:
  """[(d, interval of the paired a - b difference of column)] over the grid's d values."""
  out = []
  for d in sorted({float(r["d"]) for r in sweep.rows}):
    rows = [r for r in sweep.rows if float(r["d"]) == d]
    out.append((d, interval(paired(by_seed(rows, column, a), by_seed(rows, column, b)))))
  return out


def fig_dimension(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if "d" not in sweep.labels:
    return None
  plt = pyplot()
  groups = sweep.groups()
  rare = rare_of(groups)
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    dims = sorted({float(r["d"]) for r in rows})
    for ax, name in zip(axes[:2], ("test_acc", f"test_acc_{rare}")):
      qs = [interval(col([r for r in rows if float(r["d"]) == d], name)) for d in dims]
      errorbar(ax, dims, qs, color=COLORS[m], label=m)
  for other in ("erm", "cutout"):
    if {"cutmix", other} <= set(sweep.methods()):
      curve = dimension_curve(sweep, "cutmix", other, "test_acc")
      errorbar(axes[2], [d for d, _ in curve], [q for _, q in curve], color=COLORS[other],
                label=f"cutmix - {other}")
  axes[2].axhline(0, color="k", lw=0.5)
  for ax, name in zip(axes, ("overall test accuracy", f"{rare}-group test accuracy",
                             "paired difference in overall test accuracy")):
    ax.set_xscale("log")
    axes_text(ax, "", "dimension d (sigma^2 d fixed)", name)
  title(fig, f"Dimension (95% intervals over seeds): {shape_text(sweep, 'd')}, "
         f"backend={sweep.rows[0].get('backend', 'direct')}")
  return save(fig, out, "dimension.png")


def get_grid(size):
  base = PRESETS["reference"].replace(backend="gram", n_test=20000,
                                      log_every=100 if size == "cpu" else 30)
  return Grid(
      name="dimension", base=base, seeds=16 if size == "cpu" else 32,
      axes=(Axis("method", ("erm", "cutout", "cutmix")),
            Axis("d", DIMS[size], fields=noise_at)),
      summary=("test_acc", "test_acc_rare", "test_acc_extreme", "output_rare"),
      contrasts=(("cutmix", "erm", "test_acc"), ("cutmix", "cutout", "test_acc")),
      # the paper's claims where its regime is: the largest d
      claims=tuple(c.at(d=DIMS[size][-1]) for c in PAPER) + (CUTMIX_OVERTAKES_ERM_WITH_D,),
      figures=STANDARD + (fig_dimension,),
      description=first_paragraph(__doc__))
