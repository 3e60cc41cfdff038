"""Noise: dominant-noise std sigma_d x background-noise std sigma_b, x 3 methods.

Values are multiples (1/2, 1, 2) of the base setting's sigma_d and sigma_b.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from jaxcut.analysis.figures import STANDARD, Drawn, axes_text, pyplot, save, shape_text, title
from jaxcut.analysis.sweepdata import Sweep, rare_of
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from sweeps.paper import PAPER

SIZES = ("cpu", "paper")
SCALES = (0.5, 1.0, 2.0)


def fig_noise_grid(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if not {"sigma_d", "sigma_b"} <= set(sweep.labels):
    return None
  plt = pyplot()
  groups = sweep.groups()
  rare = rare_of(groups)
  sd = sorted({float(r["sigma_d"]) for r in sweep.rows})
  sb = sorted({float(r["sigma_b"]) for r in sweep.rows})
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.8), squeeze=False,
                           layout="constrained")
  for ax, m in zip(axes[0], methods):
    grid = np.full((len(sd), len(sb)), np.nan)
    for i, a in enumerate(sd):
      for j, b in enumerate(sb):
        v = [float(r[f"test_acc_{rare}"]) for r in sweep.rows if r["method"] == m
             and float(r["sigma_d"]) == a and float(r["sigma_b"]) == b]
        grid[i, j] = np.mean(v) if v else np.nan
    im = ax.imshow(grid, origin="lower", vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    for i in range(len(sd)):
      for j in range(len(sb)):
        ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(len(sb)), [f"{b:.3g}" for b in sb])
    ax.set_yticks(range(len(sd)), [f"{a:.3g}" for a in sd])
    axes_text(ax, m, "sigma_b (background noise)", "sigma_d (dominant noise)", legend=False)
  fig.colorbar(im, ax=axes[0].tolist(), label=f"test accuracy, {rare} group")
  title(fig, f"{rare}-group test accuracy over noise levels (mean over seeds): "
         f"{shape_text(sweep)}")
  return save(fig, out, "noise_heatmap.png")


def get_grid(size):
  base = PRESETS["small" if size == "cpu" else "reference"]
  return Grid(
      name="noise", base=base, seeds=16 if size == "cpu" else 32,
      axes=(Axis("method", ("erm", "cutout", "cutmix")),
            Axis("sigma_d", tuple(round(base.sigma_d * s, 6) for s in SCALES)),
            Axis("sigma_b", tuple(round(base.sigma_b * s, 6) for s in SCALES))),
      summary=("test_acc_rare", "test_acc", "output_rare"),
      claims=PAPER, figures=STANDARD + (fig_noise_grid,),
      description=first_paragraph(__doc__))
