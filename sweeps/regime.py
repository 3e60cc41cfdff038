"""Regime: where the paper's three-way separation shows in test accuracy (16 seeds per setting).

The separation: ERM misses rare features, Cutout learns them but misses extremely rare
ones, CutMix learns all. The theory's scaling says a feature is learned once its count
(training points per signed feature, n rho_k / 2) outgrows the memorisation speed sigma^2 d
of the noise it competes with: sigma_d^2 d for ERM, sigma_b^2 d once Cutout drops the
dominant patch, neither for CutMix. So the search puts the rare count between sigma_b^2 d
and sigma_d^2 d and the extreme count below sigma_b^2 d, with Cutout keeping more than
one patch (C < P - 1), at large d (gram backend) so that memorised noise barely touches
test noise. The base setting (preset `regime`) is where the separation held; the other
settings change one thing from it, to show what it rests on, and `reference` is the
reference setting at the same d. Thresholds measured by the `threshold` grid guided the
numbers.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from jaxcut.analysis.figures import (COLORS, STANDARD, Drawn, axes_text, errorbar, pyplot,
                                     save, title)
from jaxcut.analysis.sweepdata import Sweep, col
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval
from sweeps.paper import PAPER, THREE_WAY_SEPARATION

SIZES = ("cpu", "paper")
D = PRESETS["regime"].d


def noise(sd2d: float, sb2d: float, d: float = D) -> dict:
  """sigma_d, sigma_b giving sigma_d^2 d = sd2d and sigma_b^2 d = sb2d."""
  return {"sigma_d": math.sqrt(sd2d / d), "sigma_b": math.sqrt(sb2d / d)}


REF = PRESETS["reference"]
SETTINGS = {
    "separation": {},
    "C=P-1": {"C": 2},
    "P=4,C=1": {"P": 4, "C": 1},
    "P=4,C=2": {"P": 4, "C": 2},
    "d=2000": {"d": 2000, **noise(1000, 100, 2000)},
    "noise/2": noise(500, 50),
    "noise*2": noise(2000, 200),
    "n=150": {"n": 150},
    "reference": {"group_names": REF.group_names, "group_counts": REF.group_counts,
                  "group_masses": REF.group_masses, "C": REF.C,
                  **noise(REF.sigma_d ** 2 * REF.d, REF.sigma_b ** 2 * REF.d)},
}


def fig_regime(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per-group test accuracy of each method at each candidate setting of a regime search."""
  if "setting" not in sweep.labels:
    return None
  plt = pyplot()
  groups = sweep.groups()
  settings = list(dict.fromkeys(r["setting"] for r in sweep.rows))
  fig, axes = plt.subplots(len(groups), 1, figsize=(max(8, 0.9 * len(settings) + 2),
                                                    2.6 * len(groups)),
                           squeeze=False, sharex=True)
  width = 0.25
  for ax, g in zip(axes[:, 0], groups):
    for i, m in enumerate(sweep.methods()):
      qs = [interval(col([r for r in sweep.rows if r["setting"] == s and r["method"] == m],
                         f"test_acc_{g}")) for s in settings]
      x = np.arange(len(settings)) + (i - 1) * width
      errorbar(ax, x, qs, color=COLORS[m], ls="none", label=m)
    ax.axhline(0.5, color="k", lw=0.5)
    ax.set_ylim(0.45, 1.02)
    axes_text(ax, f"{g} group", "", "test accuracy", legend=False)
  axes[0, 0].legend(fontsize=8, loc="lower left", ncol=3)
  axes[-1, 0].set_xticks(range(len(settings)), settings, rotation=30, ha="right")
  title(fig, f"Regime search: per-group test accuracy of each method at each setting (mean "
         f"and 95% interval over {sweep.seeds()} seeds)", 80)
  return save(fig, out, "regime.png")


def get_grid(size):
  base = PRESETS["regime"].replace(log_every=300 if size == "cpu" else 30)
  claims = [THREE_WAY_SEPARATION.at(setting=s) for s in SETTINGS]
  claims += [c.at(setting="separation") for c in PAPER if c is not THREE_WAY_SEPARATION]
  return Grid(
      name="regime", base=base, seeds=16 if size == "cpu" else 32,
      axes=(Axis("setting", tuple(SETTINGS), fields=SETTINGS.__getitem__),
            Axis("method", ("erm", "cutout", "cutmix"))),
      summary=("test_acc_common", "test_acc_rare", "test_acc_extreme", "test_acc"),
      contrasts=(("cutout", "erm", "test_acc_rare"), ("cutmix", "cutout", "test_acc_extreme")),
      claims=tuple(claims), figures=STANDARD + (fig_regime,),
      description=first_paragraph(__doc__))
