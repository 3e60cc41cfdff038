"""Consistency scores (C-scores) estimated with the engine (docs/realdata.md).

Jiang et al. (2021) define the consistency score of an example (x, y) as the expected
accuracy on it of models trained on random subsets of the data that exclude it:

    C(x, y) = E_{D ~ pool \\ {(x, y)}, |D| = s} P[f_D(x) = y].

jaxcut estimates it at one subset ratio: K models, model k trained (ERM, the run's
network and optimiser, `cscore_epochs` epochs) on a uniform random subset D_k of
floor(cscore_subset x N) pool examples; then for every pool example i

    C_i = sum_k 1[i not in D_k] 1[f_k(x_i) = y_i] / sum_k 1[i not in D_k],

the fraction of the models that did not see i and predict it correctly (each example is
held out by about K (1 - cscore_subset) models, so C_i has that resolution). The models
are one vmapped training function over their keys and subsets. Model k's key is
fold_in(fold_in(key(split_seed), 1), k); its subset is the first floor(s N) entries of
the permutation drawn with fold_in(model key, 3).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def model_key(split_seed: int, k):
  return jax.random.fold_in(jax.random.fold_in(jax.random.key(split_seed), 1), k)


def subset(key, n_pool: int, size: int):
  """[size] int32: the pool indices model `key` trains on."""
  return jax.random.permutation(jax.random.fold_in(key, 3), n_pool)[:size].astype(jnp.int32)


def subset_size(n_pool: int, share: float) -> int:
  return int(math.floor(share * n_pool))


def scores(member: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(C [N], held-out count [N]) from member [K, N] (trained on) and correct [K, N]."""
  held = ~member.astype(bool)
  n = held.sum(0)
  with np.errstate(invalid="ignore", divide="ignore"):
    c = np.where(n > 0, (held & correct.astype(bool)).sum(0) / np.maximum(n, 1), np.nan)
  return c, n
