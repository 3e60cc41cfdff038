"""Noise: dominant-noise std sigma_d x background-noise std sigma_b, x 3 methods.

Values are multiples (1/2, 1, 2) of the base setting's sigma_d and sigma_b.
"""

from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid

SIZES = ("cpu", "paper")
SCALES = (0.5, 1.0, 2.0)


def get_grid(size):
  base = PRESETS["small" if size == "cpu" else "reference"]
  return Grid(
      name="noise", base=base, seeds=16 if size == "cpu" else 32,
      axes=(Axis("method", ("erm", "cutout", "cutmix")),
            Axis("sigma_d", tuple(round(base.sigma_d * s, 6) for s in SCALES)),
            Axis("sigma_b", tuple(round(base.sigma_b * s, 6) for s in SCALES))),
      summary=("test_acc_rare", "test_acc", "output_rare"),
      description=__doc__.splitlines()[0])
