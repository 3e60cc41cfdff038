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

import math

from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Claim, Grid

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


def get_grid(size):
  base = PRESETS["regime"].replace(log_every=300 if size == "cpu" else 30)
  claims = [Claim("three_way_separation", at={"setting": s}) for s in SETTINGS]
  claims += [Claim(c, at={"setting": "separation"}) for c in (
      "rare_cutout_over_erm", "rare_cutmix_over_erm", "extreme_cutmix_over_cutout",
      "cutmix_best_overall", "cutmix_most_even", "cutmix_even_activation",
      "cutmix_common_nonmonotone")]
  return Grid(
      name="regime", base=base, seeds=16 if size == "cpu" else 32,
      axes=(Axis("setting", tuple(SETTINGS), fields=SETTINGS.__getitem__),
            Axis("method", ("erm", "cutout", "cutmix"))),
      summary=("test_acc_common", "test_acc_rare", "test_acc_extreme", "test_acc"),
      contrasts=(("cutout", "erm", "test_acc_rare"), ("cutmix", "cutout", "test_acc_extreme")),
      claims=tuple(claims), description=__doc__.splitlines()[0])
