"""Paper: the reference setting (docs/model.md), 3 methods, trajectories dense enough for Figure 1."""

from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid

SIZES = ("cpu", "paper")


def get_grid(size):
  base = PRESETS["reference"].replace(log_every=25 if size == "cpu" else 10)
  return Grid(name="paper", base=base, seeds=16 if size == "cpu" else 32,
              axes=(Axis("method", ("erm", "cutout", "cutmix")),),
              summary=("test_acc_common", "test_acc_rare", "test_acc_extreme", "test_acc",
                       "output_rare"),
              description=__doc__.splitlines()[0])
