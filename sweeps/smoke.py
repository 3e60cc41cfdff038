"""Smoke: tiny shapes, 3 methods x 2 noise levels x 2 seeds; seconds, for tests and first contact."""

from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from sweeps.paper import PAPER

SIZES = ("cpu",)


def get_grid(size):
  del size
  return Grid(name="smoke", base=PRESETS["tiny"].replace(steps=40, log_every=10), seeds=2,
              axes=(Axis("method", ("erm", "cutout", "cutmix")),
                    Axis("sigma_d", (0.25, 0.5))),
              summary=("test_acc", "test_acc_rare", "output_rare"), claims=PAPER,
              description=first_paragraph(__doc__))
