"""Benign: Kou et al. (ICML 2023)'s benign-overfitting heatmap, test error over ||mu|| x d.

Their setting exactly (docs/model.md, section 10): x = [y mu, xi] in random patch order
(P = 2), xi ~ N(0, sigma_p^2 I_d) on every coordinate (noise_projected=false), sigma_p = 1,
one antipodal feature of norm ||mu|| (group_norms), 10% label flips in training and test
labels, m = 10 ReLU filters per class with bias, output averaged over the patches
(output_scale=1/P), PyTorch's default uniform init U(-1/sqrt(d), 1/sqrt(d)), full-batch
gradient descent on the cross-entropy (= logistic) loss, lr 0.1, T = 100, n = 20, and
1000 test points scored against their (flipped) labels. The theory: benign (test error
near the 10% floor) when n ||mu||^4 >= c sigma_p^4 d, harmful below; the report fits c and
the exponent of the threshold in d (`benign_threshold_scaling`). paper: their 100 x 100
cells (||mu|| = 0, 0.1, .., 9.9; d = 100, 110, .., 1090), 10 seeds (100,000 runs).
"""

import math

import numpy as np

from jaxcut.config import Config
from jaxcut.grid import Axis, Claim, Grid

SIZES = ("cpu", "paper")
N, SIGMA_P, FLIP = 20, 1.0, 0.1


def dimension(d: int) -> dict:
  # PyTorch's Conv1d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = d; std 1/sqrt(3 d)
  return {"d": int(d), "sigma_0": 1 / math.sqrt(3 * d)}


def kou_base(d: int = 100) -> Config:
  return Config(P=2, n=N, group_names=("signal",), group_counts=(1,),
                group_masses=(1.0,), group_norms=(1.0,), features="antipodal",
                noise_projected=False, label_flip=FLIP, alpha=0.0, sigma_d=SIGMA_P,
                sigma_b=SIGMA_P, m=10, activation="relu", output_scale="1/P", bias=True,
                init="uniform", eta=0.1, steps=100, log_every=50, n_test=1000,
                **dimension(d))


def heatmap(mus, ds, seeds: int, name: str = "benign", **grid_kw) -> Grid:
  """Kou et al.'s setting over d x ||mu|| (one compiled program per d)."""
  return Grid(name=name, base=kou_base(), seeds=seeds,
              axes=(Axis("d", tuple(ds), fields=dimension),
                    Axis("mu", tuple(mus), fields=lambda s: {"group_norms": (s,)})),
              **grid_kw)


def get_grid(size):
  if size == "cpu":
    mus = tuple(float(x) for x in np.round(np.arange(0, 10, 0.5), 2))
    ds = tuple(range(100, 1100, 90))
    seeds = 16
  else:
    mus = tuple(float(x) for x in np.round(np.arange(100) * 0.1, 2))
    ds = tuple(range(100, 1100, 10))
    seeds = 10
  return heatmap(
      mus, ds, seeds, summary=("test_acc", "test_acc_clean", "train_acc"),
      claims=(Claim("benign_threshold_scaling"),),
      description=__doc__.splitlines()[0])
