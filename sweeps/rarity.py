"""Rarity: the probe feature's per-sample frequency q on a log scale, x 3 methods.

Two groups: "common" (2 features sharing mass 1 - q) and "probe" (1 feature, mass q).
One run per (method, q, seed) gives the whole rarity curve: at n = 100, q = 1/2 .. 1/256
means about 50 .. 0.4 training points carry the probe feature. The paper size (reference
setting, 384 runs) uses the gram backend: the same runs in law, ~2x faster at d = 2000.
"""

from __future__ import annotations

import math
from typing import Optional

from jaxcut.analysis import thresholds
from jaxcut.analysis.claims import Claim, Ctx, result
from jaxcut.analysis.figures import (COLORS, MARGIN_LABEL, OUTPUT_LABEL, STANDARD, Drawn,
                                     axes_text, errorbar, pyplot, save, shape_text, title)
from jaxcut.analysis.sweepdata import PAPER_METHODS, Sweep, col
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict
from sweeps.paper import PAPER

SIZES = ("cpu", "paper")
FREQS = tuple(2.0 ** -k for k in range(1, 9))  # 0.5 .. 1/256


def rarity_thresholds(c: Ctx) -> dict:
  """Along the probe_freq axis: ERM needs a more frequent probe feature than the others."""
  c.need_label("probe_freq")
  c.need_methods(*PAPER_METHODS)
  th = {m: thresholds.per_seed(c.rows, m, "probe_freq", "test_acc_probe",
                               thresholds.ACC_LEVEL) for m in PAPER_METHODS}
  log = {m: {s: math.log2(x) for s, x in th[m].items() if math.isfinite(x)} for m in th}
  d1, d2 = interval(paired(log["erm"], log["cutout"])), interval(paired(log["erm"], log["cutmix"]))
  q = {"log2_threshold_erm_minus_cutout": d1, "log2_threshold_erm_minus_cutmix": d2,
       **{f"log2_threshold_{m}": interval(log[m].values()) for m in PAPER_METHODS}}
  return result("Cutout and CutMix learn rarer features than ERM: a lower learning threshold on "
              "the rarity curve",
              f"paired log2 threshold (ERM - method) > 0; threshold = the probe frequency "
              f"where its test accuracy falls below {thresholds.ACC_LEVEL} (log-linear "
              "interpolation, clipped to the swept range)",
              [verdict(d1), verdict(d2)], q, list(q)[:2], list(q)[2:])


RARITY_THRESHOLDS = Claim("rarity_thresholds", "Cutout and CutMix learn rarer features than ERM",
                          rarity_thresholds, over=("probe_freq",))


def fig_rarity(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if "probe_freq" not in sweep.labels:
    return None
  plt = pyplot()
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    freqs = sorted({float(r["probe_freq"]) for r in rows})
    for ax, name in zip(axes, ("test_acc_probe", "output_probe", "margin_probe")):
      qs = [interval(col([r for r in rows if float(r["probe_freq"]) == f], name)) for f in freqs]
      errorbar(ax, freqs, qs, color=COLORS[m], label=m)
    th = interval([math.log2(x) for x in thresholds.per_seed(
        sweep.rows, m, "probe_freq", "test_acc_probe").values()])
    if th["n"]:
      for ax in axes:
        ax.axvline(2 ** th["mean"], color=COLORS[m], ls="--", lw=1,
                   label=f"{m} threshold" if ax is axes[0] else None)
  for ax, name in zip(axes, ("test accuracy on probe-feature points",
                             f"probe {OUTPUT_LABEL}", f"probe {MARGIN_LABEL}")):
    ax.set_xscale("log")
    axes_text(ax, "", "probe feature frequency per sample", name)
  axes[0].axhline(thresholds.ACC_LEVEL, color="k", lw=0.5, ls=":")
  axes[0].axhline(0.5, color="k", lw=0.5)
  title(fig, f"Rarity (95% intervals over seeds; dashed: each method's learning threshold, "
         f"where probe test accuracy falls below {thresholds.ACC_LEVEL}): {shape_text(sweep)}")
  return save(fig, out, "rarity.png")


def get_grid(size):
  base = PRESETS["small" if size == "cpu" else "reference"].replace(
      group_names=("common", "probe"), group_counts=(2, 1), group_masses=(0.5, 0.5),
      backend="direct" if size == "cpu" else "gram")
  return Grid(
      name="rarity", base=base, seeds=16,
      axes=(Axis("method", ("erm", "cutout", "cutmix")),
            Axis("probe_freq", FREQS, fields=lambda q: {"group_masses": (1 - q, q)})),
      summary=("test_acc_probe", "output_probe", "margin_probe"),
      # the paper's claims with the probe rare (q = 1/16: ~3 training points per signed
      # feature at n = 100, ~9 at n = 300), and the thresholds along the whole curve
      claims=tuple(c.at(probe_freq=FREQS[3]) for c in PAPER) + (RARITY_THRESHOLDS,),
      figures=STANDARD + (fig_rarity,),
      description=first_paragraph(__doc__))
