"""Cut size: which C is best? Cutout with every C in 1..P-1, over P x sigma_d / sigma_b x
the rare group's mass.

The paper leaves open which cut size to use. Here every C in 1..P-1 for P in {3, 4, 6}
(paper size: {3, 4, 6, 8}), the noise ratio sigma_d / sigma_b in {2.5, 5, 10, 20} (sigma_d
kept, sigma_b = sigma_d / ratio; the reference ratio is 5) and the rare group's mass in
{0.1, 0.2, 0.3} (the common group takes the rest, the extreme group keeps its mass). The
cpu size runs the reference setting's `small` version (n = 100, d = 1000, T = 1000); the
paper size the reference setting and the `regime` setting. In each cell (P, ratio, mass)
the report names the C with the best rare-group and overall test accuracy, with the
paired interval of best minus runner-up; `cutsize_rule` fits the best cut share C/P
against log2(sigma_d / sigma_b) and asks whether it grows.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from jaxcut import stats
from jaxcut.analysis.claims import Claim, Ctx, NotTested, result
from jaxcut.analysis.figures import (STANDARD, Drawn, axes_text, pyplot, save, shape_text,
                                     title)
from jaxcut.analysis.sweepdata import Sweep, col, rare_of
from jaxcut.config import PRESETS
from jaxcut.grid import Grid, first_paragraph, setting_fields
from jaxcut.stats import interval, paired, verdict

SIZES = ("cpu", "paper")
RATIOS = (2.5, 5.0, 10.0, 20.0)
RARE_MASSES = (0.1, 0.2, 0.3)
# what each point takes from its setting (P, C, sigma_b and the masses are the point's own)
PER_SETTING = ("n", "d", "sigma_d", "group_names", "group_counts", "backend", "steps",
               "log_every", "n_test")


def cutsize_cells(rows: list[dict], column: str) -> dict:
  """{(P, ratio, rare_mass): {C: {seed: column}}} of the Cutout runs of a cut-size surface."""
  out: dict = {}
  for r in rows:
    if r["method"] != "cutout" or r.get(column, "") == "":
      continue
    key = (int(r["P"]), float(r["ratio"]), float(r["rare_mass"]))
    out.setdefault(key, {}).setdefault(int(r["C"]), {})[r["seed"]] = float(r[column])
  return out


def best_cut(by_c: dict) -> tuple[int, Optional[int], dict]:
  """(best C by mean, runner-up C, interval of the paired best - runner-up)."""
  order = sorted(by_c, key=lambda C: -np.mean(list(by_c[C].values())))
  if len(order) < 2:
    return order[0], None, interval([])
  return order[0], order[1], interval(paired(by_c[order[0]], by_c[order[1]]))


def _seed_best_share(by_c: dict, P: int, seed) -> float:
  vals = {C: v[seed] for C, v in by_c.items() if seed in v}
  top = max(vals.values())
  return float(np.mean([C for C, v in vals.items() if v == top])) / P


def cutsize_rule(c: Ctx) -> dict:
  """Across a cut-size surface: does the best cut share C/P grow with sigma_d / sigma_b?"""
  c.need_label("ratio")
  c.need_label("rare_mass")
  c.need_methods("cutout")
  rare = f"test_acc_{c.rare}"
  cells = cutsize_cells(c.rows, rare)
  if len({k[1] for k in cells}) < 2:
    raise NotTested("needs >= 2 noise ratios")
  seeds = sorted(set.intersection(*[set(v) for by_c in cells.values() for v in by_c.values()]))
  slope_r, slope_m = {}, {}
  keys = sorted(cells)
  for s in seeds:
    share = [_seed_best_share(cells[k], k[0], s) for k in keys]
    slope_r[s] = stats.fit_line([math.log2(k[1]) for k in keys], share)[0]
    slope_m[s] = stats.fit_line([k[2] for k in keys], share)[0]
  q = {"slope_best_share_on_log2_ratio": interval(slope_r.values()),
       "slope_best_share_on_rare_mass": interval(slope_m.values())}
  overall = cutsize_cells(c.rows, "test_acc")
  for key in sorted(cells):
    P, ratio, mass = key
    for name, table in ((c.rare, cells), ("overall", overall)):
      b, ru, d = best_cut(table[key])
      q[f"P{P}_ratio{ratio:g}_mass{mass:g}_{name}_best_C{b}_minus_C{ru}"] = d
  return result("The best cut share C/P for the rare group grows with sigma_d / sigma_b",
              f"per-seed least-squares slope of the best C/P (argmax over C of {c.rare}-group "
              f"test accuracy, ties averaged) on log2(sigma_d / sigma_b), across every "
              f"(P, rare mass) cell, > 0",
              [verdict(q["slope_best_share_on_log2_ratio"])], q, list(q)[:1], list(q)[1:])


CUTSIZE_RULE = Claim(
    "cutsize_rule", "The best cut share C/P for the rare group grows with sigma_d / sigma_b",
    cutsize_rule,
    # a cut-size surface: the cell's labels and the fields each point fixes
    over=("P", "C", "ratio", "rare_mass", "sigma_b", "group_masses", "n", "d", "sigma_d",
          "group_names", "group_counts", "backend", "steps", "log_every", "n_test"))


def fig_cutsize(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per P: each rarity group's test accuracy against Cutout's cut size C, with ERM and
  CutMix as lines; on a cut-size surface (ratio and rare_mass labels) the surface figure."""
  if not {"C", "P"} <= set(sweep.labels):
    return None
  if {"ratio", "rare_mass"} <= set(sweep.labels):
    return fig_cutsize_surface(sweep, out)
  plt = pyplot()
  Ps = sorted({int(r["P"]) for r in sweep.rows})
  groups = sweep.groups()
  fig, axes = plt.subplots(1, len(Ps), figsize=(4.2 * len(Ps), 3.8), squeeze=False)
  cmap = plt.get_cmap("tab10")
  for ax, P in zip(axes[0], Ps):
    rows = [r for r in sweep.rows if int(r["P"]) == P]
    cut = [r for r in rows if r["method"] == "cutout"]
    Cs = sorted({int(r["C"]) for r in cut})
    for gi, g in enumerate(groups):
      acc = [col([r for r in cut if int(r["C"]) == C], f"test_acc_{g}").mean() for C in Cs]
      ax.plot(Cs, acc, marker="o", color=cmap(gi), label=f"Cutout, {g}")
      for m, ls in (("erm", ":"), ("cutmix", "--")):
        ref = [r for r in rows if r["method"] == m]
        if ref:
          ax.axhline(col(ref, f"test_acc_{g}").mean(), color=cmap(gi), ls=ls, lw=1)
    ax.set_xticks(Cs)
    axes_text(ax, f"P={P} (dotted: ERM, dashed: CutMix)", "cut size C", "test accuracy")
  title(fig, f"Test accuracy per rarity group vs cut size (mean over seeds): "
         f"{shape_text(sweep, 'P')}")
  return save(fig, out, "cutsize.png")


def fig_cutsize_surface(sweep: Sweep, out: Optional[str] = None) -> Drawn:
  """Per setting and P: the best cut size C over (sigma_d / sigma_b) x rare mass, for the
  rare group's and the overall test accuracy; each cell's colour is the best C/P, its text
  the best C and best - runner-up (paired, 95% interval; * when it excludes 0)."""
  plt = pyplot()
  groups = sweep.groups()
  rare = rare_of(groups)
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  Ps = sorted({int(r["P"]) for r in sweep.rows})
  targets = ((f"{rare}-group", f"test_acc_{rare}"), ("overall", "test_acc"))
  nrow = len(settings) * len(targets)
  fig, axes = plt.subplots(nrow, len(Ps), figsize=(4.0 * len(Ps), 3.3 * nrow), squeeze=False,
                           layout="constrained")
  for si, setting in enumerate(settings):
    rows = [r for r in sweep.rows if r.get("setting", "") == setting]
    for ti, (name, column) in enumerate(targets):
      cells = cutsize_cells(rows, column)
      ratios = sorted({k[1] for k in cells})
      masses = sorted({k[2] for k in cells})
      for ax, P in zip(axes[si * len(targets) + ti], Ps):
        share = np.full((len(masses), len(ratios)), np.nan)
        for i, q in enumerate(masses):
          for j, r in enumerate(ratios):
            if (P, r, q) not in cells:
              continue
            b, ru, d = best_cut(cells[(P, r, q)])
            share[i, j] = b / P
            star = "*" if d["n"] >= 2 and d["lo"] > 0 else ""
            ax.text(j, i, f"C={b}\n+{d['mean']:.3f}{star}", ha="center", va="center",
                    fontsize=7, color="white" if b / P < 0.5 else "black")
        im = ax.imshow(share, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(ratios)), [f"{r:g}" for r in ratios])
        ax.set_yticks(range(len(masses)), [f"{q:g}" for q in masses])
        axes_text(ax, f"{setting + ': ' if setting else ''}P={P}, best C for {name} accuracy",
                   "sigma_d / sigma_b", f"{rare} group mass", legend=False)
  fig.colorbar(im, ax=axes, shrink=0.6, label="best C / P")
  title(fig, f"Best Cutout cut size per cell (text: best C and its mean lead over the "
         f"runner-up C, * = 95% interval above 0; {sweep.seeds()} seeds)")
  return save(fig, out, "cutsize.png")


def settings(size):
  names = ("small",) if size == "cpu" else ("reference", "regime")
  return {s: PRESETS[s] for s in names}


def get_grid(size):
  SETTINGS = settings(size)
  Ps = (3, 4, 6) if size == "cpu" else (3, 4, 6, 8)

  def masses(setting, q):
    ext = SETTINGS[setting].group_masses[-1]
    return (round(1.0 - q - ext, 6), q, ext)

  # each axis value fixes its fields for the setting it meets: ratio and mass depend on it
  points = [{"P": P, "C": C, "method": "cutout", "setting": s, "ratio": r, "rare_mass": q,
             "sigma_b": SETTINGS[s].sigma_d / r, "group_masses": masses(s, q),
             **setting_fields(SETTINGS[s], PER_SETTING)}
            for s in SETTINGS for P in Ps for C in range(1, P) for r in RATIOS
            for q in RARE_MASSES]
  claims = [CUTSIZE_RULE.at(setting=s) for s in SETTINGS]
  base = PRESETS["small" if size == "cpu" else "reference"]
  return Grid(name="cutsize", base=base, points=tuple(points),
              labels=("setting", "ratio", "rare_mass"), seeds=16 if size == "cpu" else 32,
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims), figures=STANDARD + (fig_cutsize,),
              description=first_paragraph(__doc__))

