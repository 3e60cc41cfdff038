"""Phase: a probe feature's frequency x the dominant-noise level, tiny runs (gram backend).

The probe feature's test accuracy over (per-sample frequency q, sigma_d) is a phase
diagram of when a method learns a rare feature instead of memorising noise. Tiny runs
(n = 20, d = 1000, P = 2, T = 100) so that the full 100 x 100 x 10-seed diagram (100,000
runs) fits in minutes on a laptop CPU; one method per sweep: `--set method=cutmix`.
"""

import numpy as np

from jaxcut.config import Config
from jaxcut.grid import Axis, Grid

SIZES = ("cpu", "full")
POINTS = {"cpu": 20, "full": 100}


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
      description=__doc__.splitlines()[0])
