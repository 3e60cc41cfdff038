"""The network family: every network is a function of its first layer's pre-activations
(docs/model.md, section 2).

Every network starts with the paper's first layer: M = 2m filters w_a, a = (c, j) (filter
j of class c, c-major), on every patch, Z[c, j, i, p] = <w_cj, x_i^(p)>. The rest maps Z to
per-patch outputs a[i, p], and f(X_i) = sum_p a[i, p]:

* depth 1, the paper's (whatever `network` says):
      a[i, p] = sum_j phi(Z[0, j, i, p]) - phi(Z[1, j, i, p]).
* depth L >= 2 with `hidden` = H units per later layer: h_1 = phi(Z) (M units), then for
  l = 2..L
      cnn:       h_l[:, i, p] = phi(V_l h_{l-1}[:, i, p])                  (each patch alone)
      patchmix:  h_l[:, i, p] = phi(V_l sum_p' T_l[p, p'] h_{l-1}[:, i, p']) (mixes patches)
  with V_l [H, H_{l-1}] and T_l [P, P] trained, and a[i, p] = s sum_k u_k h_L[k, i, p]: the
  readout u is fixed, +1 on units 0..H/2-1 and -1 on the rest (depth 1 is the case u = +1
  on class +1's filters, -1 on class -1's), s the output scale. Init, layer l from
  fold_in(key, l): V_l ~ N(0, gain^2 / H_{l-1}) and T_l ~ N(0, 1 / P) entrywise.

Why functions of Z: every augmentation here is linear in the input patches (Cutout zeroes
patches, CutMix takes each patch from one of two inputs, Mixup mixes two inputs), so it is
the same mask or mixture applied to Z. An objective written on Z (`jaxcut.objectives`)
serves every network on both backends (the gram backend produces Z without d-dimensional
vectors), autodiff gives the later layers' gradient, and the first layer's is
dL/dw_a = sum_ip dL/dZ_aip x_ip as before, so the gram backend's span argument holds.

A per-patch network (depth 1, or cnn) is a patch sum, f = sum_p g(Z[:, :, i, p]) with
g(0) = 0 (phi(0) = 0 for every activation here, and no bias past the first layer): a
zeroed patch outputs 0 and a CutMix input's outputs are, patch by patch, one of its two
inputs', so exact Cutout and CutMix keep their fast form on a (`objectives.objective`).
patchmix is not a patch sum: its Cutout and CutMix build the masked and mixed Z.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxcut import model
from jaxcut.config import Hypers, Static


def per_patch(static: Static) -> bool:
  """Whether f is a sum of one function of each patch (depth 1, or network=cnn)."""
  return static.depth == 1 or static.network == "cnn"


def init(key, static: Static, hypers: Hypers) -> dict:
  """The later layers' parameters theta: {"V": [V_2, ..], "T": [T_2, ..] (patchmix)};
  {} at depth 1."""
  if static.depth == 1:
    return {}
  dtype = jnp.asarray(hypers.sigma_0).dtype
  V, T, fan_in = [], [], 2 * static.m
  for l in range(2, static.depth + 1):
    k_v, k_t = jax.random.split(jax.random.fold_in(key, l))
    V.append(hypers.gain / jnp.sqrt(jnp.asarray(fan_in, dtype))
             * jax.random.normal(k_v, (static.hidden, fan_in), dtype))
    T.append(jax.random.normal(k_t, (static.P, static.P), dtype)
             / jnp.sqrt(jnp.asarray(static.P, dtype)))
    fan_in = static.hidden
  return {"V": V, "T": T} if static.network == "patchmix" else {"V": V}


def readout(H: int, dtype) -> jax.Array:
  """[H] the fixed readout u: +1 on the first half of the units, -1 on the rest."""
  return jnp.where(jnp.arange(H) < H // 2, 1.0, -1.0).astype(dtype)


def network(static: Static, hypers: Hypers) -> Callable:
  """(theta, Z [2, m, *batch, P]) -> per-patch outputs a [*batch, P]."""
  if static.depth == 1:
    phi = model.activation(static, hypers)  # the paper's network, as it always was
    return lambda theta, Z: model.patch_outputs_from_preacts(Z, phi)
  phi = model.activation(static, hypers, scaled=False)
  scale = static.scale

  def apply(theta, Z):
    h = phi(Z.reshape((-1,) + Z.shape[2:]))  # [M, *batch, P]
    for l, V in enumerate(theta["V"]):
      if "T" in theta:  # mix the patches: sum_p' T[p, p'] h[..., p']
        h = jnp.tensordot(h, theta["T"][l], axes=((-1,), (1,)))
      h = phi(jnp.tensordot(V, h, axes=1))
    a = jnp.tensordot(readout(h.shape[0], h.dtype), h, axes=1)
    return a if scale == 1.0 else scale * a

  return apply


def bound(static: Static, hypers: Hypers, theta) -> Callable:
  """Z -> a for fixed later layers theta (what metrics evaluate)."""
  net = network(static, hypers)
  return lambda Z: net(theta, Z)


def single_patch_outputs(out: Callable, Zv, static: Static) -> jax.Array:
  """f on inputs that carry one patch and zeros elsewhere, from that patch's
  pre-activations Zv [2, m, *batch]: [*batch]. A per-patch network gives g(Zv) (the paper's
  "output on v as a single patch"); patchmix, where a patch's position matters, the mean
  over the P positions it can take."""
  if per_patch(static):
    return out(Zv[..., None])[..., 0]
  eye = jnp.eye(static.P, dtype=Zv.dtype)  # [position, patch]
  return out(Zv[..., None, None] * eye).sum(-1).mean(-1)
