"""Image datasets for the real-data check: bundled digits, CIFAR-10 from its python
batches, published C-score files (docs/realdata.md).

A `Dataset` is the pool of examples that carry (or will be given) a consistency score,
plus an optional official test set: images [N, H, W, C] float32 normalised per channel
with the pool's mean and standard deviation (so a zeroed pixel is the mean pixel),
labels [N] int32. Nothing is downloaded.

* digits: scikit-learn's 8 x 8 handwritten digits (1,797 images, 10 classes, values
  0..16), shipped inside scikit-learn (the optional `images` extra). No official test
  set and no published C-scores: jaxcut estimates them (`jaxcut.images.cscore`).
* cifar10: the standard `cifar-10-batches-py` directory (data_batch_1..5, test_batch:
  pickled dicts with b"data" uint8 [10000, 3072] in CHW order and b"labels"). The pool
  is the 50,000 training images in their original order, the order of Jiang et al.'s
  published scores (`cifar10-cscores-orig-order.npz`: arrays `labels` [50000] and
  `scores` [50000]); their labels must equal the batches' labels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from typing import Optional

import numpy as np

from jaxcut.config import InputError

DATASETS = ("digits", "cifar10")


@dataclasses.dataclass(frozen=True)
class Dataset:
  name: str
  images: np.ndarray            # [N, H, W, C] float32, normalised
  labels: np.ndarray            # [N] int32
  classes: int
  test_images: Optional[np.ndarray] = None   # official test set, same normalisation
  test_labels: Optional[np.ndarray] = None

  def fingerprint(self) -> str:
    """SHA-256 (16 hex) of the images and labels: results name the exact data they used."""
    h = hashlib.sha256()
    for a in (self.images, self.labels, self.test_images, self.test_labels):
      if a is not None:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _normalise(pool: np.ndarray, *others):
  mean = pool.mean(axis=(0, 1, 2), keepdims=True)
  std = pool.std(axis=(0, 1, 2), keepdims=True) + 1e-6
  return [((a - mean) / std).astype(np.float32) if a is not None else None
          for a in (pool, *others)]


def load_digits() -> Dataset:
  try:
    from sklearn.datasets import load_digits as _load
  except ImportError:
    raise InputError("--dataset=digits needs scikit-learn (it ships the digits): "
                     "pip install -e '.[images]'") from None
  d = _load()
  images = d.images.astype(np.float32)[..., None] / 16.0
  (images,) = _normalise(images)
  return Dataset("digits", images, d.target.astype(np.int32), 10)


def _read_batch(path: str):
  try:
    with open(path, "rb") as f:
      b = pickle.load(f, encoding="bytes")
    data = np.asarray(b[b"data"], np.uint8)
    labels = np.asarray(b[b"labels"], np.int32)
  except FileNotFoundError:
    raise InputError(f"--data_dir: {path} is missing (CIFAR-10 python batches: "
                     f"data_batch_1..5 and test_batch)") from None
  except (OSError, KeyError, TypeError, ValueError, pickle.UnpicklingError, EOFError) as e:
    raise InputError(f"--data_dir: {path} is not a CIFAR-10 python batch ({type(e).__name__})"
                     ) from None
  if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
    raise InputError(f"--data_dir: {path} holds data of shape {data.shape} with "
                     f"{len(labels)} labels; a CIFAR-10 batch holds [N, 3072] and N labels")
  if labels.size and (labels.min() < 0 or labels.max() > 9):
    raise InputError(f"--data_dir: {path} has labels outside 0..9")
  return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar10(data_dir: str) -> Dataset:
  if not data_dir:
    raise InputError("--dataset=cifar10 needs --data_dir=DIR (the cifar-10-batches-py "
                     "directory; nothing is downloaded)")
  if not os.path.isdir(data_dir):
    raise InputError(f"--data_dir={data_dir} is not a directory")
  parts = [_read_batch(os.path.join(data_dir, f"data_batch_{i}")) for i in range(1, 6)]
  test = _read_batch(os.path.join(data_dir, "test_batch"))
  images = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
  labels = np.concatenate([p[1] for p in parts])
  images, test_images = _normalise(images, test[0].astype(np.float32) / 255.0)
  return Dataset("cifar10", images, labels, 10, test_images, test[1])


def load(name: str, data_dir: str = "") -> Dataset:
  if name == "digits":
    return load_digits()
  if name == "cifar10":
    return load_cifar10(data_dir)
  raise InputError(f"--dataset={name} is not one of {', '.join(DATASETS)}")


def load_cscores(path: str, labels: np.ndarray) -> np.ndarray:
  """[N] float C-scores from an npz with `labels` and `scores`, checked against `labels`."""
  try:
    with np.load(path) as z:
      if "labels" not in z or "scores" not in z:
        raise InputError(f"--cscores={path} must hold arrays `labels` and `scores` "
                         f"(it has {', '.join(z.files) or 'none'})")
      file_labels, scores = np.asarray(z["labels"]), np.asarray(z["scores"], np.float64)
  except FileNotFoundError:
    raise InputError(f"--cscores={path} does not exist") from None
  except (OSError, ValueError) as e:
    raise InputError(f"--cscores={path} is not a readable npz ({e})") from None
  if file_labels.shape != labels.shape or scores.shape != labels.shape:
    raise InputError(f"--cscores={path} has {scores.size} scores and {file_labels.size} "
                     f"labels; the dataset has {labels.size} examples")
  if not np.array_equal(file_labels.astype(np.int64), labels.astype(np.int64)):
    bad = int(np.sum(file_labels.astype(np.int64) != labels))
    raise InputError(f"--cscores={path}: {bad} labels differ from the dataset's (the file "
                     f"must follow the dataset's original order)")
  if not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
    raise InputError(f"--cscores={path}: scores must be finite and in [0, 1]")
  return scores
