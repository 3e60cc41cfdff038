"""The gram backend: the same training run in the space of inner products, at a cost free of d.

Training touches the d-dimensional vectors only through inner products among the
features v (orthonormal, the first 2K coordinates), the noise-space parts of the initial
filters Lambda w0_a (a = (c, j), M = 2m of them, each N(0, sigma_0^2 Lambda)) and the
N = n (P - 1) training noise vectors xi_l (N(0, sigma_l^2 Lambda)). Lambda projects
onto d' = d - 2K coordinates. With the basis u = (Lambda w0_1..M, xi_1..N):

* Geometry: the Gram matrix of u is G = D A D, D = diag(sigma_0 (M times), sigma_l),
  A ~ Wishart(d', I_{M+N}), drawn by Bartlett (`jaxcut.wishart`) in O((M + N)^3) whatever
  d. When d' < M + N the Wishart is singular; the run then builds explicit vectors with
  the direct sampler (`Config.gram_explicit`; `Static.d` keeps d, which sizes them).
* State: the feature coordinates W_f = W[..., :2K] and coefficients c [2, m, N] with
  Lambda w_a = Lambda w0_a + sum_l c_al xi_l. Pre-activations:
      <w_a, x_ip> = <W_f_a, x_ip[:2K]> + G[a, l(i,p)] + sum_l' c_al' G[l', l(i,p)]
  (the second part only at noise patches), O(M N^2) per step.
* Gradient descent: dL/dw_a = sum_ip dL/dZ_aip x_ip, so a linear optimizer's step on W
  is the same step on (W_f, c) with "gradients" (sum_ip dL/dZ_aip x_ip[:2K], dL/dZ_al):
  sgd and momentum runs equal the direct backend's given the same vectors (tested).
  Adam is refused (its per-coordinate scaling leaves the span). The coefficient
  trajectories are the state: rho_al = c_al ||xi_l||^2 = c_al G_ll.
* Test points exactly: a fresh noise patch xi ~ N(0, sigma^2 Lambda) is independent of
  training, so (<w_a, xi>)_a ~ N(0, sigma^2 Q) with Q = U G U^T, U = [I_M | c] (so
  Q_ab = <Lambda w_a, Lambda w_b>). Test points are drawn from that law in O(P M) each.
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

from jaxcut import data, metrics, model, wishart
from jaxcut.config import Hypers, Static
from jaxcut.data import Batch, Layout

TEST_BATCH = metrics.TEST_BATCH


@flax.struct.dataclass
class GramData:
  layout: Layout  # labels, features, groups, roles of the n training points
  index: jax.Array  # [n, P-1] positions of the noise patches (order of the basis xi_l)
  feat: jax.Array  # [n, P, 2K] feature coordinates of every patch
  gram: jax.Array  # [M + N, M + N] Gram of (Lambda w0 [M, filters c-major], xi [N, (i, q)])
  W0_feat: jax.Array  # [2, m, 2K] feature coordinates of the initial filters


def from_vectors(batch: Batch, W0, K: int) -> GramData:
  """GramData of explicit vectors (the direct backend's batch and init)."""
  xi, index = data.noise_patches(batch, K)
  dp = xi.shape[-1]
  basis = jnp.concatenate([W0[..., 2 * K:].reshape(-1, dp), xi.reshape(-1, dp)])
  return GramData(layout=Layout(**data.layout_fields(batch)), index=index, feat=batch.x[..., :2 * K],
                  gram=basis @ basis.T, W0_feat=W0[..., :2 * K])


def sample(data_key, init_key, static: Static, hypers: Hypers) -> GramData:
  """Training data and init in Gram form: Bartlett-drawn, or explicit when it is singular.

  The layout (labels, features, patch positions) comes from data_key exactly as in the
  direct backend, so the two backends see the same training points for the same seed.
  """
  K, m, P = static.K, static.m, static.P
  if not static.bartlett:
    batch = data.sample(data_key, static, hypers, static.n)
    return from_vectors(batch, model.init(init_key, static, hypers), K)
  dtype = jnp.asarray(hypers.sigma_0).dtype
  layout, k_noise = data.sample_layout(data_key, static, hypers, static.n)
  index = data.noise_index(layout.feature_patch, P)
  std = jnp.take_along_axis(data.noise_std(layout, hypers), index, axis=1).reshape(-1)
  std = jnp.concatenate([jnp.full((2 * m,), hypers.sigma_0, dtype), std])
  L = std[:, None] * wishart.bartlett_factor(k_noise, hypers.d - 2 * K, std.shape[0], dtype)
  W0_feat = hypers.sigma_0 * jax.random.normal(init_key, (2, m, 2 * K), dtype)
  return GramData(layout=layout, index=index,
                  feat=data.feature_part(layout, static, hypers, dtype), gram=L @ L.T,
                  W0_feat=W0_feat)


def init_state(d: GramData, theta=None) -> dict:
  """{"feat", "c"} at init, and "theta", the later layers (`jaxcut.networks`), if any."""
  m, N = d.W0_feat.shape[1], d.index.size
  state = {"feat": d.W0_feat, "c": jnp.zeros((2, m, N), d.gram.dtype)}
  return {**state, "theta": theta} if theta else state


def noise_norm2(d: GramData) -> jax.Array:
  """[n, P-1] ||xi_l||^2."""
  M = d.gram.shape[0] - d.index.size
  return jnp.diagonal(d.gram)[M:].reshape(d.index.shape)


def preactivations(state, d: GramData) -> jax.Array:
  """Z[c, j, i, p] = <w_cj, x_ip>, shape [2, m, n, P]."""
  two, m, N = state["c"].shape
  M = two * m
  noise = d.gram[:M, M:] + state["c"].reshape(M, N) @ d.gram[M:, M:]  # [M, N]
  noise = data.scatter_noise_patches(noise.reshape((2, m) + d.index.shape), d.index,
                                     d.feat.shape[1])
  return model.inner(state["feat"], d.feat) + noise


def descent_direction(gZ, d: GramData) -> dict:
  """The W-gradient sum_ip gZ_aip x_ip in (feature coordinates, noise coefficients)."""
  two, m = gZ.shape[:2]
  return {"feat": jnp.einsum("cjnp,npk->cjk", gZ, d.feat),
          "c": jnp.take_along_axis(gZ, d.index[None, None], axis=-1).reshape(two, m, -1)}


def rho(state, d: GramData) -> jax.Array:
  """[2, m, n, P-1] rho_a(i, q) = c_a(i, q) ||xi_iq||^2."""
  two, m = state["c"].shape[:2]
  return state["c"].reshape((two, m) + d.index.shape) * noise_norm2(d)


def noise_covariance_root(state, d: GramData) -> jax.Array:
  """[M, M] R with R R^T = Q, Q_ab = <Lambda w_a, Lambda w_b> = (U G U^T)_ab, U = [I | c]."""
  two, m, N = state["c"].shape
  M = two * m
  U = jnp.concatenate([jnp.eye(M, dtype=d.gram.dtype), state["c"].reshape(M, N)], axis=1)
  return metrics.covariance_root(U @ d.gram @ U.T)


def test_outputs(state, d: GramData, static: Static, hypers: Hypers, out):
  """outputs(key, groups) for `metrics.stratified_accuracy`: test noise from its exact law
  (out: pre-activations -> per-patch outputs, `networks.bound`)."""
  return metrics.gaussian_outputs(state["feat"], noise_covariance_root(state, d), static,
                                  hypers, out, d.gram.dtype)
