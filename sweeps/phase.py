"""Phase: a probe feature's frequency x the dominant-noise level, tiny runs (gram backend).

The probe feature's test accuracy over (per-sample frequency q, sigma_d) is a phase
diagram of when a method learns a rare feature instead of memorising noise. Tiny runs
(n = 20, d = 1000, P = 2, T = 100) so that the full 100 x 100 x 10-seed diagram (100,000
runs) fits in minutes on a laptop CPU; one method per sweep: `--set method=cutmix`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from jaxcut.analysis.figures import (STANDARD, Drawn, axes_text, cell_means, log_edges, pyplot,
                                     save, shape_text, title, value_ticks)
from jaxcut.analysis.sweepdata import Sweep, col
from jaxcut.config import Config
from jaxcut.grid import Axis, Grid, first_paragraph

SIZES = ("cpu", "full")
POINTS = {"cpu": 20, "full": 100}


def fig_phase(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Probe-group test accuracy over (probe frequency, sigma_d), mean over seeds, per method."""
  if not {"probe_freq", "sigma_d"} <= set(sweep.labels):
    return None
  plt = pyplot()
  fq = np.array([float(r["probe_freq"]) for r in sweep.rows])
  sd = np.array([float(r["sigma_d"]) for r in sweep.rows])
  acc = col(sweep.rows, "test_acc_probe")
  meth = np.array([r["method"] for r in sweep.rows])
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(max(6.5, 4.6 * len(methods)), 4.4),
                           squeeze=False, layout="constrained")
  for ax, m in zip(axes[0], methods):
    xs, ys, grid = cell_means(fq, sd, acc, meth == m)
    # cells span geometric midpoints, so that coarse or uneven log axes place them right
    im = ax.pcolormesh(log_edges(xs), log_edges(ys), grid, shading="flat", vmin=0.5,
                       vmax=1.0, cmap="viridis")
    ax.set_xscale("log")
    ax.set_yscale("log")
    value_ticks(ax.xaxis, xs)
    value_ticks(ax.yaxis, ys)
    axes_text(ax, m, "probe feature frequency per sample", "sigma_d (dominant noise)",
               legend=False)
  fig.colorbar(im, ax=axes[0].tolist(), label="test accuracy, probe group")
  title(fig, f"Phase diagram ({len(xs)} x {len(ys)} points): {shape_text(sweep)}", 70)
  return save(fig, out, "phase.png")


def get_grid(size):
  k = POINTS[size]
  freqs = tuple(float(x) for x in np.geomspace(0.5, 1 / 64, k))
  sigmas = tuple(float(x) for x in np.geomspace(0.05, 1.0, k))
  base = Config(n=20, d=1000, P=2, group_names=("common", "probe"), group_counts=(2, 1),
                group_masses=(0.5, 0.5), sigma_d=0.25, sigma_b=0.05, steps=100,
                log_every=50, n_test=1000, backend="gram")
  return Grid(
      name="phase", base=base, seeds=16 if size == "cpu" else 10,
      axes=(Axis("probe_freq", freqs, fields=lambda q: {"group_masses": (1 - q, q)}),
            Axis("sigma_d", sigmas)),
      summary=("test_acc_probe", "output_probe", "test_acc"),
      # no claims: one method per sweep (--set method=...), and every claim compares methods
      figures=STANDARD + (fig_phase,),
      description=first_paragraph(__doc__))
