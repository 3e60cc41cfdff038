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

from jaxcut.config import PRESETS
from jaxcut.grid import Claim, Grid, setting_fields

SIZES = ("cpu", "paper")
RATIOS = (2.5, 5.0, 10.0, 20.0)
RARE_MASSES = (0.1, 0.2, 0.3)
# what each point takes from its setting (P, C, sigma_b and the masses are the point's own)
PER_SETTING = ("n", "d", "sigma_d", "group_names", "group_counts", "backend", "steps",
               "log_every", "n_test")


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
  claims = [Claim("cutsize_rule", at={"setting": s}) for s in SETTINGS]
  base = PRESETS["small" if size == "cpu" else "reference"]
  return Grid(name="cutsize", base=base, points=tuple(points),
              labels=("setting", "ratio", "rare_mass"), seeds=16 if size == "cpu" else 32,
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims), description=__doc__.splitlines()[0])

