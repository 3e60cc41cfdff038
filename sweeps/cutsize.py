"""Cut size: Cutout with C = 1..P-1 for P in {3, 4, 6}, with ERM and CutMix at each P.

C = P - 1 keeps one patch alone, so features and noise decouple; the paper's
"Cutout misses extremely rare features" needs C < P - 1.
"""

from jaxcut.config import PRESETS
from jaxcut.grid import Grid

SIZES = ("cpu", "paper")


def get_grid(size):
  base = PRESETS["small" if size == "cpu" else "reference"]
  points = []
  for P in (3, 4, 6):
    points += [{"P": P, "method": "cutout", "C": C} for C in range(1, P)]
    points += [{"P": P, "method": "erm"}, {"P": P, "method": "cutmix"}]
  return Grid(name="cutsize", base=base, points=tuple(points),
              seeds=16 if size == "cpu" else 32,
              summary=("test_acc_common", "test_acc_rare", "test_acc_extreme"),
              description=__doc__.splitlines()[0])
