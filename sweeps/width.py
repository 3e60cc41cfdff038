"""Width: does the three-way separation survive more filters and other activations?

The analysis uses m = 2 filters per class and a smoothed leaky ReLU. Here m in {1, 2, 4,
8, 16} (cpu size: {1, 2, 4, 8}) x the four activations (smoothed leaky ReLU, ReLU, leaky
ReLU, GELU) x ERM / Cutout / CutMix, at the `regime` setting (where the separation holds
with m = 2) and at the reference setting (at the cpu size its `small` version: n = 100,
d = 1000, T = 1000, sigma^2 d kept). Every cell is tested with the three-way separation
claim; `width_separation_everywhere` asks whether it holds in every cell of a setting.
Deeper networks are the `depth` study's.
"""

from __future__ import annotations

from typing import Optional

from jaxcut.analysis.claims import Claim, Ctx, result
from jaxcut.analysis.figures import (COLORS, STANDARD, Drawn, axes_text, errorbar, pyplot,
                                     save, title)
from jaxcut.analysis.sweepdata import Sweep, col, extreme_of, rare_of
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph, setting_fields
from jaxcut.stats import interval
from sweeps.paper import THREE_WAY_SEPARATION, separation_per_cell

SIZES = ("cpu", "paper")
# the four activations this study was run with (relu_q and polyrelu came later)
ACTIVATIONS = ("smoothed_leaky_relu", "leaky_relu", "relu", "gelu")


def width_separation_everywhere(c: Ctx) -> dict:
  """The three-way separation in every (m, activation) cell of one setting."""
  parts, q, held = separation_per_cell(c, ("m", "activation"),
                                       lambda cell: "m={}, {}".format(*cell),
                                       lambda cell: "m{}_{}".format(*cell))
  return result(f"The three-way separation holds for every width and activation tried "
              f"({len(held)} of {len(parts)} cells supported)",
              "the three_way_separation test in every (m, activation) cell", parts, q, list(q))


WIDTH_SEPARATION_EVERYWHERE = Claim(
    "width_separation_everywhere", "The three-way separation holds for every width m and "
    "activation tried", width_separation_everywhere, over=("m", "activation"))


def fig_width(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per setting (rows) and activation (columns): rare- and extreme-group test accuracy of
  each method against the width m, with 95% intervals over seeds."""
  if not {"m", "activation"} <= set(sweep.labels):
    return None
  plt = pyplot()
  groups = sweep.groups()
  rare = rare_of(groups)
  ext = extreme_of(groups)
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  acts = list(dict.fromkeys(r["activation"] for r in sweep.rows))
  fig, axes = plt.subplots(len(settings), len(acts), figsize=(4.2 * len(acts),
                           3.6 * len(settings)), squeeze=False, sharey=True)
  for row, setting in zip(axes, settings):
    for ax, act in zip(row, acts):
      rows = [r for r in sweep.rows if r.get("setting", "") == setting and r["activation"] == act]
      ms = sorted({int(r["m"]) for r in rows})
      for m_name in sweep.methods(rows):
        for group, ls in ((rare, "-"), (ext, "--")):
          qs = [interval(col([r for r in rows if r["method"] == m_name and int(r["m"]) == m],
                             f"test_acc_{group}")) for m in ms]
          errorbar(ax, ms, qs, color=COLORS[m_name], ls=ls, label=f"{m_name}, {group}")
      ax.set_xscale("log", base=2)
      ax.set_xticks(ms, [str(m) for m in ms])
      axes_text(ax, f"{setting}: {act}", "filters per class m", "test accuracy",
                 legend=(act == acts[0] and setting == settings[0]))
  title(fig, f"Width and activation: rare (solid) and extremely rare (dashed) group test "
         f"accuracy per method, 95% intervals over {sweep.seeds()} seeds")
  return save(fig, out, "width.png")


def settings(size):
  ref = PRESETS["reference" if size == "paper" else "small"]
  return {"regime": {}, "reference": setting_fields(ref)}


def get_grid(size):
  SETTINGS = settings(size)
  widths = (1, 2, 4, 8) if size == "cpu" else (1, 2, 4, 8, 16)
  claims = [THREE_WAY_SEPARATION.at(setting=s, m=m, activation=a)
            for s in SETTINGS for m in widths for a in ACTIVATIONS]
  claims += [WIDTH_SEPARATION_EVERYWHERE.at(setting=s) for s in SETTINGS]
  base = PRESETS["regime"].replace(log_every=300 if size == "cpu" else 30)
  return Grid(name="width", base=base, seeds=16 if size == "cpu" else 32,
              axes=(Axis("setting", tuple(SETTINGS), fields=SETTINGS.__getitem__),
                    Axis("activation", ACTIVATIONS), Axis("m", widths),
                    Axis("method", ("erm", "cutout", "cutmix"))),
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims), figures=STANDARD + (fig_width,),
              description=first_paragraph(__doc__))
