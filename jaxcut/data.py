"""Feature-noise patch data (Oh & Yun 2024, Sec. 2; docs/model.md, section 1).

A sample is X = (x^(1), ..., x^(P)) in R^{P x d} with label y in {-1, +1}:

1. y uniform on {-1, +1}; k ~ Categorical(rho), rho_k = mass(group(k)) / count(group(k)).
2. Feature patch p* uniform in [P]: x^(p*) = v_{y,k}.
3. Dominant-noise patch p~ uniform in [P] minus {p*}: x^(p~) = alpha v_{s,1} + xi,
   s uniform on {-1, +1}, xi ~ N(0, sigma_d^2 Lambda).
4. Every other patch: x^(p) = xi ~ N(0, sigma_b^2 Lambda).

Features are the first 2K standard basis vectors: v_{+1,k} = e_k, v_{-1,k} = e_{K+k}
(k = 0..K-1, so the paper's v_{s,1} is k = 0), and Lambda zeroes those 2K coordinates.
So x[..., :2K] is the feature part of a patch and x[..., 2K:] its noise xi.

Other papers' knobs (docs/model.md, section 10; defaults give the above bit for bit):
* label_flip p: the observed label y is the clean label flipped with probability p (its
  own stream, fold_in(key, 7)); the patches carry the clean label's feature.
* group_norms: v_{s,k} has norm ||mu_g|| (its group's); alpha stays a multiple of e_col.
* features="antipodal": v_{-1,k} = -v_{+1,k} = -||mu|| e_k (coordinate K+k is unused).
* noise_projected=False: xi ~ N(0, sigma^2 I_d) on every coordinate, the feature ones too.
* bias=True: a constant 1 is appended to every patch (its last coordinate), so that a
  filter's last coordinate acts as its bias.

Arrays are `Static.d` wide, the run's d (`Hypers.d`) rounded up to a compiled size
(`config.compiled_d`); coordinates d.. are exactly 0. Noise is drawn per block of
`BLOCK` coordinates (block b from fold_in(key, b), `blocked`), so coordinate j's value does
not depend on how far the arrays are padded: a run gives the same numbers in every program.
"""

from __future__ import annotations

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from jaxcut.config import Hypers, Static

FEATURE, DOMINANT, BACKGROUND = 0, 1, 2
BLOCK = 128  # coordinates per random block (see `blocked`)
ROLE_NAMES = ("feature", "dominant", "background")


@flax.struct.dataclass
class Layout:
  """Everything about n points except their noise vectors (the discrete draws)."""
  y: jax.Array  # [n] observed labels in {-1., +1.} (what training and accuracy use)
  feature: jax.Array  # [n] feature index k in 0..K-1 (of v_{y,k})
  group: jax.Array  # [n] rarity group of that feature
  roles: jax.Array  # [n, P] FEATURE / DOMINANT / BACKGROUND
  feature_patch: jax.Array  # [n] p*
  noise_sign: jax.Array  # [n] s of the feature noise alpha v_{s,1}
  clean: jax.Array  # [n] clean labels: the sign of the feature the patches carry


@flax.struct.dataclass
class Batch(Layout):
  """A Layout with its explicit patches."""
  x: jax.Array  # [n, P, d] patches


def layout_fields(b: Layout) -> dict:
  """The Layout fields of a Layout or Batch, by name."""
  return {f.name: getattr(b, f.name) for f in dataclasses.fields(Layout)}


def feature_column(s, k, K: int):
  """Coordinate of v_{s,k}: k for s = +1, K + k for s = -1."""
  return jnp.where(s > 0, k, K + k)


def feature_probs(static: Static, masses) -> jax.Array:
  """[K] per-feature probability rho_k = mass of its group / count of its group."""
  g = static.feature_group()
  return jnp.asarray(masses)[g] / jnp.asarray(static.group_counts, jnp.asarray(masses).dtype)[g]


def sample_layout(key, static: Static, hypers: Hypers, n: int, groups=None):
  """Draw the discrete part of n points; returns (layout, key for the noise vectors).

  groups: optional int [n]; when given, point i's feature is drawn uniformly from group
  groups[i] instead of from rho (a stratified test set; see `jaxcut.metrics`).
  Discrete draws use 32-bit types whatever `dtype` and the x64 flag, so a float64 run sees
  the same labels, features and patch positions as its float32 twin, and both backends
  (direct and gram) see the same layout for the same key.
  """
  P = static.P
  dtype = jnp.asarray(hypers.sigma_d).dtype
  k_y, k_f, k_p, k_q, k_s, k_n = jax.random.split(key, 6)
  clean = jnp.where(jax.random.bernoulli(k_y, jnp.float32(0.5), (n,)), 1.0, -1.0).astype(dtype)
  flip = jax.random.bernoulli(jax.random.fold_in(key, 7),
                              jnp.asarray(hypers.label_flip, jnp.float32), (n,))
  y = jnp.where(flip, -clean, clean)
  fg = jnp.asarray(static.feature_group())
  if groups is None:
    logits = jnp.log(feature_probs(static, hypers.masses)).astype(jnp.float32)
    feature = jax.random.categorical(k_f, logits, shape=(n,)).astype(jnp.int32)
  else:
    counts = jnp.asarray(static.group_counts)
    offsets = jnp.asarray(np.concatenate([[0], np.cumsum(static.group_counts)[:-1]]))
    u = jax.random.uniform(k_f, (n,), jnp.float32)
    feature = offsets[groups] + jnp.minimum(
        jnp.floor(u * counts[groups]).astype(jnp.int32), counts[groups] - 1)
  p_star = jax.random.randint(k_p, (n,), 0, P, jnp.int32)
  p_dom = (p_star + 1 + jax.random.randint(k_q, (n,), 0, P - 1, jnp.int32)) % P
  noise_sign = jnp.where(jax.random.bernoulli(k_s, jnp.float32(0.5), (n,)), 1, -1)
  patch = jnp.arange(P)
  roles = jnp.where(patch[None, :] == p_star[:, None], FEATURE,
                    jnp.where(patch[None, :] == p_dom[:, None], DOMINANT, BACKGROUND))
  return Layout(y=y, feature=feature, group=fg[feature], roles=roles, feature_patch=p_star,
                noise_sign=noise_sign, clean=clean), k_n


def feature_part(layout: Layout, static: Static, hypers: Hypers, dtype) -> jax.Array:
  """[n, P, 2K]: the feature coordinates of every patch (v_{clean,k} at p*, alpha v_{s,1}
  at p~, alpha times the unit vector)."""
  K = static.K
  cols = jnp.arange(2 * K)
  is_feat = (layout.roles == FEATURE)[..., None]
  is_dom = (layout.roles == DOMINANT)[..., None]
  if static.features == "antipodal":
    sign = layout.clean[:, None, None]
    feat = sign * (cols == layout.feature[:, None, None])
    noise = layout.noise_sign[:, None, None] * (cols == 0)
  else:
    feat = cols == feature_column(layout.clean, layout.feature, K)[:, None, None]
    noise = cols == feature_column(layout.noise_sign, 0, K)[:, None, None]
  feat = feat * jnp.asarray(hypers.norms, dtype)[layout.group][:, None, None]  # x 1 exact
  part = is_feat * feat + hypers.alpha * is_dom * noise
  return part.astype(dtype)


def noise_std(layout: Layout, hypers: Hypers) -> jax.Array:
  """[n, P]: the std of each patch's noise (sigma_d, sigma_b, 0 at the feature patch)."""
  return jnp.where(layout.roles == DOMINANT, hypers.sigma_d,
                   jnp.where(layout.roles == BACKGROUND, hypers.sigma_b, 0.0))


def blocked(draw, key, lead: tuple, width: int, count, dtype) -> jax.Array:
  """[*lead, width] draws of draw(key, shape, dtype) whose entries j >= count (traced) are 0.

  Drawn per block of BLOCK coordinates, block b from fold_in(key, b), so entry j depends
  on (key, j) only, never on `width`: padding a run's arrays leaves its draws alone.
  """
  nb = -(-width // BLOCK)
  z = jax.vmap(lambda b: draw(jax.random.fold_in(key, b), lead + (BLOCK,), dtype))(
      jnp.arange(nb))  # [nb, *lead, BLOCK]
  z = jnp.moveaxis(z, 0, -2).reshape(lead + (nb * BLOCK,))[..., :width]
  return jnp.where(jnp.arange(width) < count, z, jnp.zeros((), dtype))


def sample(key, static: Static, hypers: Hypers, n: int, groups=None) -> Batch:
  """Draw n points with explicit patches ([n, P, Static.d], 0 from coordinate Hypers.d on).
  Pure, vectorised, jit/vmap-able.

  See `sample_layout` for `groups` and the discrete draws.
  """
  P, d, K = static.P, static.d, static.K
  dtype = jnp.asarray(hypers.sigma_d).dtype
  lay, k_n = sample_layout(key, static, hypers, n, groups)
  std = noise_std(lay, hypers)[..., None]
  feat = feature_part(lay, static, hypers, dtype)
  if static.noise_projected:
    xi = blocked(jax.random.normal, k_n, (n, P), d - 2 * K, hypers.d - 2 * K, dtype)
    x = jnp.concatenate([feat, xi * std], -1)
  else:
    xi = blocked(jax.random.normal, k_n, (n, P), d, hypers.d, dtype)
    x = jnp.pad(feat, ((0, 0), (0, 0), (0, d - 2 * K))) + xi * std
  if static.bias:
    x = jnp.concatenate([x, jnp.ones((n, P, 1), dtype)], -1)
  return Batch(x=x, **layout_fields(lay))


def scatter_noise_patches(v, index, P: int) -> jax.Array:
  """[.., n, P-1] values at the noise patches `index` -> [.., n, P], 0 at the feature patch."""
  return jnp.einsum("...nq,nqp->...np", v, jax.nn.one_hot(index, P, dtype=v.dtype))


def noise_index(feature_patch, P: int) -> jax.Array:
  """[n, P-1] positions of the non-feature patches of each point, in order."""
  rank = jnp.arange(P - 1)
  return rank[None, :] + (rank[None, :] >= feature_patch[:, None])


def noise_patches(batch: Batch, K: int):
  """The noise vectors xi of the P-1 non-feature patches of each point.

  Returns (xi [n, P-1, d-2K], index [n, P-1] of those patches in 0..P-1, in order).
  """
  idx = noise_index(batch.feature_patch, batch.roles.shape[1])
  xi = jnp.take_along_axis(batch.x[..., 2 * K:], idx[..., None], axis=1)
  return xi, idx
