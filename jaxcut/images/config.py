"""The real-data experiment's settings: one frozen dataclass, a preset per dataset, typed
flags built from it, and one-line validation (docs/realdata.md).

Static settings (shapes and code paths: dataset, model, width, epochs, batch, methods,
cutout size, patch grid, ...) fix the compiled program; the optimiser's and CutMix's
continuous settings (lr, momentum, weight_decay, cutmix_alpha, cutmix_prob) are traced
(`jaxcut.images.run.Hyper`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Tuple

from jaxcut.config import InputError, coerce
from jaxcut.images.augment import METHODS
from jaxcut.images.data import DATASETS
from jaxcut.images.models import MODELS

MAX_SEED = 2 ** 32 - 1


@dataclasses.dataclass(frozen=True)
class RealConfig:
  dataset: str = "digits"
  data_dir: str = ""
  cscores: str = ""
  model: str = "small_cnn"
  width: int = 16
  epochs: int = 30
  batch: int = 64
  lr: float = 0.05
  momentum: float = 0.9
  weight_decay: float = 5e-4
  methods: Tuple[str, ...] = ("erm", "cutout", "cutmix")
  seeds: int = 16
  first_seed: int = 0
  cutout_size: int = 4
  cutmix_alpha: float = 1.0
  cutmix_prob: float = 0.5
  patch_grid: int = 2
  patch_C: int = 1
  holdout: float = 0.3
  split_seed: int = 0
  bins: Tuple[float, ...] = (0.0, 0.8, 0.95, 1.0)
  cscore_models: int = 128
  cscore_subset: float = 0.5
  cscore_epochs: int = 20
  vmap: int = 8

  def replace(self, **kw) -> "RealConfig":
    unknown = [k for k in kw if k not in _TYPES]
    if unknown:
      raise InputError(f"{unknown[0]!r} is not a real-data setting (known: "
                       f"{', '.join(_TYPES)})")
    return dataclasses.replace(self, **{k: coerce(k, v, _TYPES[k]) for k, v in kw.items()})

  def validate(self) -> "RealConfig":
    """One line naming the field and its allowed values for the first bad one."""
    for name, (_, allowed, ok) in DOCS.items():
      v = getattr(self, name)
      try:
        good = ok(v, self)
      except (TypeError, ValueError):
        good = False
      if not good:
        raise InputError(f"{name}={_show(v)} is out of range: {name} must be {allowed}")
    return self

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)


def _show(v):
  return ",".join(map(str, v)) if isinstance(v, tuple) else v


def _increasing(b):
  return len(b) >= 2 and all(x < y for x, y in zip(b, b[1:])) and b[0] >= 0 and b[-1] <= 1


# name -> (meaning, allowed values, check(value, config))
DOCS: Mapping[str, tuple] = {
    "dataset": ("images: digits (bundled with scikit-learn) or cifar10 (--data_dir)",
                f"one of {', '.join(DATASETS)}", lambda v, c: v in DATASETS),
    "data_dir": ("cifar10 only: the cifar-10-batches-py directory", "a path (cifar10 only)",
                 lambda v, c: c.dataset == "cifar10" or not v),
    "cscores": ("npz with `labels` and `scores` (the pool's original order); empty: "
                "estimate consistency scores with the engine", "a path or empty",
                lambda v, c: True),
    "model": ("classifier", f"one of {', '.join(MODELS)}", lambda v, c: v in MODELS),
    "width": ("channels of the first layer (ResNet-18: 64)", "an integer in 1..1024",
              lambda v, c: 1 <= v <= 1024),
    "epochs": ("passes over the training split", "an integer in 1..10000",
               lambda v, c: 1 <= v <= 10000),
    "batch": ("minibatch size (the last partial batch of an epoch is dropped)",
              "an integer in 2..65536", lambda v, c: 2 <= v <= 65536),
    "lr": ("peak learning rate of the cosine schedule", "a number in (0, 100]",
           lambda v, c: 0 < v <= 100),
    "momentum": ("SGD (heavy-ball) momentum", "a number in [0, 1)", lambda v, c: 0 <= v < 1),
    "weight_decay": ("L2 weight decay added to the gradient", "a number in [0, 1]",
                     lambda v, c: 0 <= v <= 1),
    "methods": ("training methods compared",
                f"a comma-separated list of distinct {', '.join(METHODS)}",
                lambda v, c: len(v) >= 1 and len(set(v)) == len(v) and set(v) <= set(METHODS)),
    "seeds": ("seeds per method (init, batch order, augmentation)", "an integer in 1..100000",
              lambda v, c: 1 <= v <= 100000),
    "first_seed": ("seeds are first_seed, first_seed + 1, ...",
                   f"an integer with first_seed + seeds - 1 <= {MAX_SEED}",
                   lambda v, c: 0 <= v and v + c.seeds - 1 <= MAX_SEED),
    "cutout_size": ("Cutout: side of the zeroed square, in pixels",
                    "an integer from 1 to the image side", lambda v, c: v >= 1),
    "cutmix_alpha": ("CutMix: lam ~ Beta(alpha, alpha)", "a number in (0, 1000]",
                     lambda v, c: 0 < v <= 1000),
    "cutmix_prob": ("CutMix: probability that a batch is mixed", "a number in [0, 1]",
                    lambda v, c: 0 <= v <= 1),
    "patch_grid": ("patch methods: the image is a g x g grid of P = g^2 patches",
                   "an integer from 1 to the image side", lambda v, c: v >= 1),
    "patch_C": ("patch_cutout: patches zeroed per image", "an integer in 0..patch_grid^2",
                lambda v, c: 0 <= v <= c.patch_grid ** 2),
    "holdout": ("share of the pool held out for evaluation (split by split_seed)",
                "a number in (0, 1)", lambda v, c: 0 < v < 1),
    "split_seed": ("seed of the train / evaluation split (fixed across seeds)",
                   f"an integer in 0..{MAX_SEED}", lambda v, c: 0 <= v <= MAX_SEED),
    "bins": ("edges of the consistency-score bins (last bin closed)",
             "increasing numbers in [0, 1], at least two", lambda v, c: _increasing(v)),
    "cscore_models": ("consistency estimate: models trained on random subsets",
                      "an integer in 2..100000", lambda v, c: 2 <= v <= 100000),
    "cscore_subset": ("consistency estimate: share of the pool each model trains on",
                      "a number in (0, 1)", lambda v, c: 0 < v < 1),
    "cscore_epochs": ("consistency estimate: epochs per model", "an integer in 1..10000",
                      lambda v, c: 1 <= v <= 10000),
    "vmap": ("runs trained at once (vmapped) per compiled call", "an integer in 1..4096",
             lambda v, c: 1 <= v <= 4096),
}
assert set(DOCS) == {f.name for f in dataclasses.fields(RealConfig)}
_TYPES = {f.name: f.type for f in dataclasses.fields(RealConfig)}  # annotations, as text

PRESETS: Mapping[str, RealConfig] = {
    # CPU-sized: ~10 minutes on 2 cores with the consistency estimate included
    "digits": RealConfig(),
    # the usual CIFAR-10 recipe (DeVries & Taylor; Yun et al.): for a GPU
    "cifar10": RealConfig(dataset="cifar10", model="resnet18", width=64, epochs=200,
                          batch=128, lr=0.1, momentum=0.9, weight_decay=5e-4, seeds=16,
                          cutout_size=16, cutmix_alpha=1.0, cutmix_prob=0.5, patch_grid=4,
                          patch_C=4, holdout=0.1, bins=(0.0, 0.5, 0.8, 0.9, 1.0),
                          cscore_epochs=50, vmap=1),
}


def field_help(name: str) -> str:
  meaning, allowed, _ = DOCS[name]
  return f"{meaning}; {allowed}"


def check_shapes(cfg: RealConfig, H: int, W: int, n_train: int, n_pool: int) -> None:
  """Settings that depend on the data: one line naming the field."""
  side = min(H, W)
  if cfg.cutout_size > side:
    raise InputError(f"cutout_size={cfg.cutout_size} is out of range: cutout_size must be "
                     f"an integer from 1 to the image side ({side})")
  if cfg.patch_grid > side:
    raise InputError(f"patch_grid={cfg.patch_grid} is out of range: patch_grid must be an "
                     f"integer from 1 to the image side ({side})")
  if cfg.batch > n_train:
    raise InputError(f"batch={cfg.batch} is out of range: batch must be at most the "
                     f"training split's size ({n_train} = (1 - holdout) x {n_pool})")
  if not cfg.cscores and cfg.batch > math.floor(cfg.cscore_subset * n_pool):
    raise InputError(f"batch={cfg.batch} is out of range: batch must be at most a "
                     f"consistency model's subset ({math.floor(cfg.cscore_subset * n_pool)} "
                     f"= cscore_subset x {n_pool})")
