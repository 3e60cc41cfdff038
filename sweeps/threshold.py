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

import math

from jaxcut.config import Config
from jaxcut.analysis.claims import THRESHOLD
from jaxcut.grid import Axis, Claim, Grid

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


def get_grid(size):
  base = Config(n=300 if size == "cpu" else 600, d=D, P=3, C=1, backend="gram", steps=3000, log_every=300,
                n_test=RUNGS * 1000, **ladder())
  return Grid(
      name="threshold", base=base, seeds=16, labels=("arm",), points=arm_points(size),
      axes=(Axis("method", ("erm", "cutout", "cutmix")),),
      summary=("test_acc_g0", "test_acc_g2", "test_acc_g4", "test_acc_g6"),
      claims=tuple(Claim(c) for c in THRESHOLD),
      description=__doc__.splitlines()[0])
