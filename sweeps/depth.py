"""Depth: does the three-way separation survive deeper networks, and a layer that mixes patches?

The paper's analysis is for its two-layer network; its open question 2 asks about deeper
ones and its first follow-up names deeper CNNs. Here the network (`jaxcut.networks`) is
the paper's (depth 1), a per-patch MLP of depth 2, 3 or 4 (`cnn`: hidden layers of 8
units shared over patches, 1x1 convolutions), or the same with a trained patch-mixing
matrix in every hidden layer (`patchmix`, depth 2, 3, 4), x ERM / Cutout / CutMix, at the
`regime` setting (where the separation holds at depth 1) and the reference setting (at
the cpu size its `small` version, as in `width`). Deeper networks train with eta = 0.25:
at the paper's eta = 1, 59 of 672 runs diverged, nearly all `patchmix` of depth >= 3
(9 of 16 seeds of its CutMix at the regime setting), which would have left each cell's
claims to the seeds that survived. The paper's network runs at both step sizes (`paper`,
eta = 1; `paper_slow`, eta = 0.25), so that depth is compared at one step size too. T =
3000 for all. Every cell is tested with the paper's three-way separation and with CutMix
> ERM on the rare group; `depth_separation_everywhere` asks whether the separation holds
in every cell of a setting. At the cpu size Cutout and CutMix are sampled (one subset, or
one partner and subset, per example per step): exact CutMix for `patchmix` evaluates the
network on every pair and subset, ~260 s a run at n = 300 on 2 cores. At the paper size
everything is exact.
"""

from __future__ import annotations

from typing import Optional

from jaxcut.analysis.claims import Claim, Ctx, result
from jaxcut.analysis.figures import (COLORS, STANDARD, Drawn, axes_text, errorbar, pyplot,
                                     save, title)
from jaxcut.analysis.sweepdata import Sweep, col, extreme_of, rare_of
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval
from sweeps.paper import RARE_CUTMIX_OVER_ERM, THREE_WAY_SEPARATION, separation_per_cell
from sweeps.width import settings  # the regime and the (small) reference setting

SIZES = ("cpu", "paper")
SLOW = 0.25  # the deeper networks' step size (see the docstring)
# each arm's network and step size: (family, depth, eta); depth 1 is the paper's network
NETS = {"paper": ("cnn", 1, 1.0), "paper_slow": ("cnn", 1, SLOW),
        "cnn2": ("cnn", 2, SLOW), "cnn3": ("cnn", 3, SLOW), "cnn4": ("cnn", 4, SLOW),
        "patchmix2": ("patchmix", 2, SLOW), "patchmix3": ("patchmix", 3, SLOW),
        "patchmix4": ("patchmix", 4, SLOW)}


def net_fields(name: str) -> dict:
  network, depth, eta = NETS[name]
  return {"network": network, "depth": depth, "eta": eta}


def depth_separation_everywhere(c: Ctx) -> dict:
  """The three-way separation in every network cell of one setting."""
  parts, q, held = separation_per_cell(c, ("net",), lambda cell: cell[0],
                                       lambda cell: cell[0])
  return result(f"The three-way separation holds for every network tried ({len(held)} of "
                f"{len(parts)} supported: {', '.join(held) or 'none'})",
                "the three_way_separation test in every network cell", parts, q, list(q))


DEPTH_SEPARATION_EVERYWHERE = Claim(
    "depth_separation_everywhere", "The three-way separation holds for every depth and "
    "network family tried", depth_separation_everywhere, over=("net",))


def fig_depth(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per setting (rows) and family (columns): rare- and extreme-group test accuracy of each
  method against depth at eta = 0.25 (depth 1: `paper_slow`, in both columns), with the
  paper's network at its eta = 1 as open markers at depth 1; 95% intervals over seeds."""
  if "net" not in sweep.labels:
    return None
  plt = pyplot()
  groups = sweep.groups()
  rare, ext = rare_of(groups), extreme_of(groups)
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  fig, axes = plt.subplots(len(settings), 2, figsize=(10, 3.8 * len(settings)), squeeze=False,
                           sharey=True)
  for row, setting in zip(axes, settings):
    here = [r for r in sweep.rows if r.get("setting", "") == setting]
    for ax, family in zip(row, ("cnn", "patchmix")):
      nets = [k for k, (f, d, eta) in NETS.items() if eta == SLOW and (f == family or d == 1)]
      rows = [r for r in here if r["net"] in nets]
      depths = sorted({NETS[r["net"]][1] for r in rows})
      for method in sweep.methods(rows):
        for group, ls in ((rare, "-"), (ext, "--")):
          column = f"test_acc_{group}"
          qs = [interval(col([r for r in rows if r["method"] == method
                              and NETS[r["net"]][1] == d], column)) for d in depths]
          errorbar(ax, depths, qs, color=COLORS[method], ls=ls, label=f"{method}, {group}")
          paper = [r for r in here if r["net"] == "paper" and r["method"] == method]
          if paper:
            q = interval(col(paper, column))
            ax.plot([0.85], [q["mean"]], "o" if group == rare else "s", mfc="none",
                    color=COLORS[method], ms=6)
      ax.set_xticks(depths, [str(d) for d in depths])
      ax.axhline(0.5, color="k", lw=0.5)
      axes_text(ax, f"{setting}: {family}", "depth (trained layers; 1 = the paper's network)",
                "test accuracy", legend=(family == "cnn" and setting == settings[0]))
  title(fig, f"Depth at eta = {SLOW}: rare (solid) and extremely rare (dashed) group test "
        f"accuracy per method, 95% intervals over {sweep.seeds()} seeds; open markers left "
        f"of depth 1: the paper's network at eta = 1 (rare o, extreme square)")
  return save(fig, out, "depth.png")


def get_grid(size):
  SETTINGS = settings(size)
  claims = [claim.at(setting=s, net=n) for s in SETTINGS for n in NETS
            for claim in (THREE_WAY_SEPARATION, RARE_CUTMIX_OVER_ERM)]
  claims += [DEPTH_SEPARATION_EVERYWHERE.at(setting=s) for s in SETTINGS]
  base = PRESETS["regime"].replace(log_every=300 if size == "cpu" else 30,
                                   exact=(size == "paper"))
  return Grid(name="depth", base=base, seeds=16 if size == "cpu" else 32,
              axes=(Axis("setting", tuple(SETTINGS), fields=SETTINGS.__getitem__),
                    Axis("net", tuple(NETS), fields=net_fields),
                    Axis("method", ("erm", "cutout", "cutmix"))),
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims), figures=STANDARD + (fig_depth,),
              description=first_paragraph(__doc__))
