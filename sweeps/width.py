"""Width: does the three-way separation survive more filters and other activations?

The analysis uses m = 2 filters per class and a smoothed leaky ReLU. Here m in {1, 2, 4,
8, 16} (cpu size: {1, 2, 4, 8}) x the four activations (smoothed leaky ReLU, ReLU, leaky
ReLU, GELU) x ERM / Cutout / CutMix, at the `regime` setting (where the separation holds
with m = 2) and at the reference setting (at the cpu size its `small` version: n = 100,
d = 1000, T = 1000, sigma^2 d kept). Every cell is tested with the three-way separation
claim; `width_separation_everywhere` asks whether it holds in every cell of a setting.
Deeper networks (a per-patch hidden layer) are not added: the run's objectives carry a
hand-written gradient of the two-layer network and the gram backend needs the first
layer to act on patches linearly; a hidden layer would be another model family.
"""

from jaxcut.config import ACTIVATIONS, PRESETS
from jaxcut.grid import Axis, Claim, Grid, setting_fields

SIZES = ("cpu", "paper")


def settings(size):
  ref = PRESETS["reference" if size == "paper" else "small"]
  return {"regime": {}, "reference": setting_fields(ref)}


def get_grid(size):
  SETTINGS = settings(size)
  widths = (1, 2, 4, 8) if size == "cpu" else (1, 2, 4, 8, 16)
  claims = [Claim("three_way_separation", at={"setting": s, "m": m, "activation": a})
            for s in SETTINGS for m in widths for a in ACTIVATIONS]
  claims += [Claim("width_separation_everywhere", at={"setting": s}) for s in SETTINGS]
  base = PRESETS["regime"].replace(log_every=300 if size == "cpu" else 30)
  return Grid(name="width", base=base, seeds=16 if size == "cpu" else 32,
              axes=(Axis("setting", tuple(SETTINGS), fields=SETTINGS.__getitem__),
                    Axis("activation", ACTIVATIONS), Axis("m", widths),
                    Axis("method", ("erm", "cutout", "cutmix"))),
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims), description=__doc__.splitlines()[0])
