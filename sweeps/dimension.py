"""Dimension: d from 10^3 to 10^6 with sigma^2 d held fixed, 3 methods, gram backend.

The paper's regime needs d >> n (sigma_d / sigma_b)^2 (README, Findings): at the reference
d = 2000 memorised weak noise costs CutMix overall test accuracy. Scaling sigma_d and
sigma_b by sqrt(2000 / d) keeps every noise norm ||xi|| = sigma sqrt(d) as at the
reference while the noise vectors grow more orthogonal. The gram backend makes every d
cost the same, and one compiled program serves the whole d axis per method. Test accuracy
uses 20,000 points per run (cheap here: test noise is drawn from its exact Gaussian law).
"""

import math

from jaxcut.config import PRESETS
from jaxcut.analysis.claims import PAPER
from jaxcut.grid import Axis, Claim, Grid

SIZES = ("cpu", "paper")
DIMS = {"cpu": (1000, 2000, 5000, 10_000, 20_000, 100_000, 1_000_000),
        "paper": (1000, 2000, 3000, 5000, 7000, 10_000, 20_000, 50_000, 100_000, 300_000,
                  1_000_000)}


def noise_at(d):
  """sigma_d, sigma_b of the reference (0.25, 0.05 at d = 2000) with sigma^2 d fixed."""
  s = math.sqrt(2000 / d)
  return {"d": d, "sigma_d": 0.25 * s, "sigma_b": 0.05 * s}


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
      claims=tuple(Claim(c, at={"d": DIMS[size][-1]}) for c in PAPER)
      + (Claim("cutmix_overtakes_erm_with_d"),),
      description=__doc__.splitlines()[0])
