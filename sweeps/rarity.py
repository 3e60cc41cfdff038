"""Rarity: the probe feature's per-sample frequency q on a log scale, x 3 methods.

Two groups: "common" (2 features sharing mass 1 - q) and "probe" (1 feature, mass q).
One run per (method, q, seed) gives the whole rarity curve: at n = 100, q = 1/2 .. 1/256
means about 50 .. 0.4 training points carry the probe feature. The paper size (reference
setting, 384 runs) uses the gram backend: the same runs in law, ~2x faster at d = 2000.
"""

from jaxcut.config import PRESETS
from jaxcut.analysis.claims import PAPER
from jaxcut.grid import Axis, Claim, Grid

SIZES = ("cpu", "paper")
FREQS = tuple(2.0 ** -k for k in range(1, 9))  # 0.5 .. 1/256


def get_grid(size):
  base = PRESETS["small" if size == "cpu" else "reference"].replace(
      group_names=("common", "probe"), group_counts=(2, 1), group_masses=(0.5, 0.5),
      backend="direct" if size == "cpu" else "gram")
  return Grid(
      name="rarity", base=base, seeds=16,
      axes=(Axis("method", ("erm", "cutout", "cutmix")),
            Axis("probe_freq", FREQS, fields=lambda q: {"group_masses": (1 - q, q)})),
      summary=("test_acc_probe", "output_probe", "margin_probe"),
      # the paper's claims with the probe rare (q = 1/16: ~3 training points per signed
      # feature at n = 100, ~9 at n = 300), and the thresholds along the whole curve
      claims=tuple(Claim(c, at={"probe_freq": FREQS[3]}) for c in PAPER)
      + (Claim("rarity_thresholds"),),
      description=__doc__.splitlines()[0])
