"""What a run reports: feature outputs and margins, accuracy by rarity group, evenness, rho.

Two per-feature quantities, both [2, K] (row 0: s = +1, row 1: s = -1), both averaged over
a group's features and both signs for the per-group numbers (docs/model.md):

* Feature output (the paper's "learned-feature output", Figure 1): the network's output on
  v_{s,k} as a single patch, s * f_W(v_{s,k}) =
  s * sum_j [phi(<w_{+1,j}, v_{s,k}>) - phi(<w_{-1,j}, v_{s,k}>)]. Per group: `output_<g>`.
* Feature margin: the weights' own-minus-other-class alignment with the feature, before
  the activation, summed over filters: sum_j <w_{s,j} - w_{-s,j}, v_{s,k}> (w_{s,j} is
  filter j of class s). Per group: `margin_<g>`. It is linear in W; the output bends it
  through phi (for the smoothed leaky ReLU they differ by up to ~10% where <w, v> < r or
  the other class's filter is negative on v).
* Test accuracy is measured on a fresh stratified test set: point t's feature is drawn
  uniformly from group t mod G, so every group gets n_test / G points whatever its mass.
  Its noise enters the network only through <w_a, xi>, which given the trained filters is
  N(0, sigma^2 Q), Q_ab = <w_a, w_b> over the noise coordinates: both backends draw those
  2m numbers per patch from that law (`gaussian_outputs`) instead of d-dimensional vectors
  (`explicit_test_metrics` scores explicit vectors, for checks).
  Overall accuracy is the mass-weighted mean of the group accuracies (an unbiased
  estimate of accuracy under the data law).
* Evenness: the share of |a_ip| (per-patch output) from the feature, dominant-noise and
  background patches, averaged over points: (1/n) sum_i sum_{p in role} |a_ip| / sum_p |a_ip|.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxcut.config import Hypers, Static
from jaxcut.data import (Batch, feature_column, feature_part, noise_std, sample,
                         sample_layout)
from jaxcut.model import inner, preactivations
from jaxcut.networks import single_patch_outputs

# Test points per batch: each costs O(P (2m + 2K)) (explicit vectors: O(P d), 256 a batch).
TEST_BATCH = 4096


def _feature_coords(W, static: Static, hypers: Hypers):
  """(W[:, :, cols] [2, m, 2, K], factor [2, K]) with <w_cj, v_{s,k}> = factor[s, k] *
  W[c, j, cols[s, k]]: the coordinate of v_{s,k} and its sign times its norm."""
  K = static.K
  signs = jnp.array([[1], [-1]])
  if static.features == "antipodal":
    cols, sign = jnp.broadcast_to(jnp.arange(K), (2, K)), signs.astype(W.dtype)
  else:
    cols, sign = feature_column(signs, jnp.arange(K)[None, :], K), jnp.ones((2, 1), W.dtype)
  norms = jnp.asarray(hypers.norms, W.dtype)[jnp.asarray(static.feature_group())]
  return W[:, :, cols], sign * norms


def feature_preacts(W, static: Static, hypers: Hypers) -> jax.Array:
  """[2 classes, m, 2 signs, K]: <w_cj, v_{s,k}> (plus the filter's bias with bias=True).

  W: the filters, or their first 2K coordinates (the gram backend's state)."""
  coords, factor = _feature_coords(W, static, hypers)
  Z = coords * factor  # x 1 exact with the defaults
  if static.bias:
    Z = Z + W[:, :, -1, None, None]
  return Z


def feature_outputs(W, out, static: Static, hypers: Hypers) -> jax.Array:
  """[2, K]: s * f_W(v_{s,k}) for s = +1 (row 0) and s = -1 (row 1): the network's output
  on v_{s,k} as one patch (output scale and bias included; `networks.single_patch_outputs`).
  out: pre-activations -> per-patch outputs (`networks.bound`)."""
  f = single_patch_outputs(out, feature_preacts(W, static, hypers), static)  # [2 signs, K]
  return jnp.array([1.0, -1.0], W.dtype)[:, None] * f


def feature_margins(W, static: Static, hypers: Hypers) -> jax.Array:
  """[2, K]: sum_j <w_{s,j} - w_{-s,j}, v_{s,k}> for s = +1 (row 0) and s = -1 (row 1)
  (class +1's filters are W[0]); linear in W: no bias, no output scale."""
  coords, factor = _feature_coords(W, static, hypers)
  h = coords.sum(axis=1)
  return (jnp.array([1.0, -1.0], W.dtype)[:, None] * (h[0] - h[1])) * factor


def group_mean(values, static: Static) -> jax.Array:
  """Mean over the last axis (features k) within each group: [..., K] -> [..., G]."""
  onehot = jax.nn.one_hot(jnp.asarray(static.feature_group()), static.G, dtype=values.dtype)
  return values @ onehot / jnp.asarray(static.group_counts, values.dtype)


def group_outputs(W, out, static: Static, hypers: Hypers) -> jax.Array:
  """[G] mean feature output s f_W(v_{s,k}) per group (over its features and both signs)."""
  return group_mean(feature_outputs(W, out, static, hypers).mean(0), static)


def group_margins(W, static: Static, hypers: Hypers) -> jax.Array:
  """[G] mean feature margin sum_j <w_{s,j} - w_{-s,j}, v_{s,k}> per group."""
  return group_mean(feature_margins(W, static, hypers).mean(0), static)


def role_shares(a, roles) -> jax.Array:
  """[n, 3] share of sum_p |a_ip| from each patch role."""
  mag = jnp.abs(a)
  per_role = jnp.stack([(mag * (roles == r)).sum(-1) for r in range(3)], -1)
  return per_role / jnp.maximum(mag.sum(-1, keepdims=True), jnp.finfo(a.dtype).tiny)


def output_metrics(a, y, roles) -> dict:
  """Loss, accuracy and evenness of per-patch outputs a [n, P] with labels y [n]."""
  margin = y * a.sum(-1)
  return {"train_loss": jax.nn.softplus(-margin).mean(),
          "train_acc": (margin > 0).mean(),
          "train_share": role_shares(a, roles).mean(0)}


def train_metrics(W, batch: Batch, out) -> dict:
  return output_metrics(out(preactivations(W, batch.x)), batch.y, batch.roles)


def stratified_accuracy(key, static: Static, hypers: Hypers, outputs, dtype,
                        batch: int = TEST_BATCH) -> dict:
  """Accuracy per group and overall, and evenness, on n_test fresh stratified points.

  outputs(key, groups [B]) -> (a [B, P], layout) draws B test points whose features come
  from the given groups and returns their per-patch outputs and `data.Layout`. Points come
  in batches of `batch` (batch b from fold_in(key, b)), so memory does not grow with n_test.
  Accuracy is against the observed labels (flipped with probability label_flip, as a
  test set with label noise is scored); test_acc_clean against the clean labels.
  """
  G, n_test = static.G, static.n_test
  B = min(n_test, batch)
  nb = math.ceil(n_test / B)

  def one(b):
    idx = b * B + jnp.arange(B)
    valid = (idx < n_test).astype(dtype)
    groups = idx % G
    a, lay = outputs(jax.random.fold_in(key, b), groups)
    f = a.sum(-1)
    correct = (lay.y * f > 0).astype(dtype) * valid
    clean = (lay.clean * f > 0).astype(dtype) * valid
    onehot = jax.nn.one_hot(groups, G, dtype=dtype)
    return correct @ onehot, clean @ onehot, valid @ onehot, valid @ role_shares(a, lay.roles)

  correct, clean, count, shares = jax.tree.map(lambda x: x.sum(0),
                                               jax.lax.map(one, jnp.arange(nb)))
  masses = jnp.asarray(hypers.masses, dtype)
  overall = lambda c: (masses * (c / count)).sum() / masses.sum()
  return {"test_acc": overall(correct),
          "test_acc_group": correct / count,
          "test_acc_clean": overall(clean),
          "test_share": shares / n_test}


def covariance_root(Q) -> jax.Array:
  """[M, M] R with R R^T = Q (symmetric PSD; eigh, so singular Q is fine)."""
  evals, evecs = jnp.linalg.eigh((Q + Q.T) / 2)
  return evecs * jnp.sqrt(jnp.maximum(evals, 0.0))


def gaussian_outputs(W_feat, R, static: Static, hypers: Hypers, out, dtype, bias=None):
  """outputs(key, groups) for `stratified_accuracy`, test noise from its exact law.

  W_feat [2, m, 2K]: the filters' feature coordinates; R [2m, 2m] with R R^T = Q, the
  Gram of the filters over the noise coordinates; bias [2, m] or None. A test patch's
  preactivations are <w_a, feature part> + sigma (R u)_a (+ bias), u ~ N(0, I)."""
  two, m = W_feat.shape[:2]

  def outputs(key, groups):
    layout, k_noise = sample_layout(key, static, hypers, groups.shape[0], groups=groups)
    Z = inner(W_feat, feature_part(layout, static, hypers, dtype))
    u = jax.random.normal(k_noise, (two * m,) + layout.roles.shape, dtype)
    Z = Z + (R @ u.reshape(two * m, -1)).reshape(Z.shape) * noise_std(layout, hypers)
    if bias is not None:
      Z = Z + bias[..., None, None]
    return out(Z), layout

  return outputs


def test_metrics(key, W, static: Static, hypers: Hypers, out) -> dict:
  """`stratified_accuracy` of explicit filters W [2, m, d_in] (the direct backend), test
  noise from its exact law (`gaussian_outputs`): Q over coordinates 2K.. (projected noise)
  or all d (noise_projected=False), the bias column apart."""
  K, d = static.K, static.d
  noise_part = W[..., 2 * K:d] if static.noise_projected else W[..., :d]
  flat = noise_part.reshape(-1, noise_part.shape[-1])
  R = covariance_root(flat @ flat.T)
  bias = W[..., -1] if static.bias else None
  return stratified_accuracy(key, static, hypers, gaussian_outputs(
      W[..., :2 * K], R, static, hypers, out, W.dtype, bias), W.dtype)


def explicit_test_metrics(key, W, static: Static, hypers: Hypers, out) -> dict:
  """`stratified_accuracy` on explicit d-dimensional test points (what `test_metrics`
  draws in law; for checks)."""
  def outputs(k, groups):
    batch = sample(k, static, hypers, groups.shape[0], groups=groups)
    return out(preactivations(W, batch.x)), batch
  return stratified_accuracy(key, static, hypers, outputs, W.dtype, batch=256)


def rho_summaries(rho_nf, batch: Batch, index, static: Static) -> dict:
  """Summaries of rho [2, m, n, P-1] by (own / other class filter) x (dominant / background).

  rho_mean [2, 2, G]: mean over filters, points of each rarity group and patches;
  own means the filter's class is the point's label. rho_max [2, 2]. Empty cells are 0.
  """
  dtype = rho_nf.dtype
  roles = jnp.take_along_axis(batch.roles, index, axis=1)  # [n, P-1], 1 or 2
  pos = (batch.y > 0)
  own = jnp.stack([jnp.stack([pos, ~pos]), jnp.stack([~pos, pos])]).astype(dtype)  # [o, c, n]
  kind = jnp.stack([roles == 1, roles == 2]).astype(dtype)  # [t, n, q]
  grp = jax.nn.one_hot(batch.group, static.G, dtype=dtype)  # [n, g]
  m = rho_nf.shape[1]
  total = jnp.einsum("cjnq,ocn,tnq,ng->otg", rho_nf, own, kind, grp)
  count = m * jnp.einsum("ocn,tnq,ng->otg", own, kind, grp)
  mean = jnp.where(count > 0, total / jnp.maximum(count, 1), 0.0)
  cell = own[:, None, :, None, :, None] * kind[None, :, None, None, :, :]  # [o,t,c,1,n,q]
  masked = jnp.where(cell > 0, rho_nf[None, None], -jnp.inf)
  mx = masked.max(axis=(2, 3, 4, 5))
  return {"rho_mean": mean, "rho_max": jnp.where(jnp.isfinite(mx), mx, 0.0)}
