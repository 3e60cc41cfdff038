"""Training objectives: ERM, Cutout, CutMix and Mixup, exact and sampled (docs/model.md,
section 3).

All work on the per-patch outputs a [n, P] of `jaxcut.model` and labels y [n]; l(z) =
log(1 + exp(-z)). Subsets S of [P] are bit masks: `subset_masks(P)[S, p] = 1` iff p in S.

* ERM:     L = (1/n) sum_i l(y_i f_i),  f_i = sum_p a_ip.
* Cutout:  L = (1/n) sum_i E_S[l(y_i sum_{p not in S} a_ip)], S uniform over C-subsets.
  Exact: every subset, weight 1[|S| = C] / binom(P, C) (so C stays a traced value).
  Sampled: one C-subset per example per step.
* CutMix:  L = (1/n^2) sum_{i,j} E_{S ~ D_S}[lam l(y_i F_ijS) + (1 - lam) l(y_j F_ijS)],
  F_ijS = sum_{p in S} a_ip + sum_{p not in S} a_jp, lam = |S| / P.
  Exact: with U = a M^T and V = a (1 - M)^T, F_ijS = U_iS + V_jS: O(n^2 2^(P-1)) per
  step after the O(nPd) patch outputs (see `cutmix_exact`); mixed inputs are never built.
  Sampled: one partner j (uniform on [n], as in the exact sum) and one S per example.

* Mixup:   L = (1/n^2) sum_{i,j} E_lam[lam l(y_i g_ij) + (1 - lam) l(y_j g_ij)],
  g_ij = f_W(lam X_i + (1 - lam) X_j). Every first-layer pre-activation is linear in the
  input, so the mixed input's are lam Z_i + (1 - lam) Z_j (`preact_objective`: Mixup acts
  on Z, the others on the per-patch outputs). lam ~ D_lam (`mixing`): "uniform" U(0, 1),
  "beta" Beta(a, a), "fixed" a or 1 - a with probability 1/2 (a = 1/2: midpoint Mixup).
  Exact: every pair, lam on MIXUP_NODES quadrature nodes (`mixup_nodes`; "fixed" exactly).
  Sampled: one partner j and one lam per example per step.

D_S (`mixing`), a law of |S| then S uniform given its size:
* "uniform" (the paper's): |S| uniform on {0, ..., P}.
* "beta" (original CutMix paper's area law): lam ~ Beta(a, a), |S| = round(lam P), so
  P(|S| = s) = I_{(s+1/2)/P}(a, a) - I_{(s-1/2)/P}(a, a) (clipped to [0, 1]); a = mix_a.
* "fixed": |S| = k or P - k with probability 1/2 each, k = round(mix_a P): a fixed share
  of patches from each input (mix_a = 1/2: |S| = P/2, or {1, 2} at P = 3). The law is
  symmetrised, like the other two: the exact objective's identity (i, j, S) ~ (j, i, S^c)
  needs D_S(S) = D_S(S^c).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc

from jaxcut import networks
from jaxcut.config import Hypers, Static


def logistic_loss(z):
  """l(z) = log(1 + exp(-z))."""
  return jax.nn.softplus(-z)


def subset_masks(P: int) -> np.ndarray:
  """[2^P, P] float32, row S is the indicator of subset S (bit p of S)."""
  S = np.arange(2 ** P)[:, None]
  return ((S >> np.arange(P)[None, :]) & 1).astype(np.float32)


def cutout_weights(P: int, C) -> jax.Array:
  """[2^P] probability of cutting subset S: uniform over the C-subsets."""
  hit = (subset_masks(P).sum(1) == C).astype(jnp.asarray(C).dtype)
  return hit / hit.sum()


def size_pmf(P: int, mixing: str, a) -> jax.Array:
  """[P+1] law of |S| under D_S."""
  dtype = jnp.asarray(a).dtype
  if mixing == "uniform":
    return jnp.full((P + 1,), 1.0 / (P + 1), dtype)
  if mixing == "fixed":
    k = jnp.round(a * P).astype(jnp.int32)
    return 0.5 * (jax.nn.one_hot(k, P + 1, dtype=dtype) + jax.nn.one_hot(P - k, P + 1, dtype=dtype))
  s = jnp.arange(P + 1, dtype=dtype)
  hi = jnp.clip((s + 0.5) / P, 0.0, 1.0)
  lo = jnp.clip((s - 0.5) / P, 0.0, 1.0)
  return betainc(a, a, hi) - betainc(a, a, lo)


def lambda_moments(P: int, mixing: str, a) -> tuple[float, float]:
  """(mean, variance) of lam = |S| / P under D_S (numbers, for reports): `size_pmf` taken
  in float64 whatever the process's x64 flag, so that a report's numbers depend neither on
  that flag nor on how XLA compiled the law (in float32 both moved them at 1e-8)."""
  with jax.enable_x64(True):
    pmf = np.asarray(size_pmf(P, mixing, np.float64(a)))
  lam = np.arange(P + 1) / P
  mean = float(pmf @ lam)
  return mean, float(pmf @ lam ** 2 - mean ** 2)


def mixing_weights(P: int, mixing: str, a) -> jax.Array:
  """[2^P] D_S(S) = P(|S|) / binom(P, |S|)."""
  sizes = subset_masks(P).sum(1).astype(int)
  binom = np.array([math.comb(P, s) for s in sizes], np.float32)
  return size_pmf(P, mixing, a)[sizes] / binom


def erm(a, y):
  return logistic_loss(y * a.sum(-1)).mean()


def cutout_exact(a, y, C):
  P = a.shape[-1]
  kept = 1.0 - subset_masks(P)  # [2^P, P]
  F = a @ kept.T.astype(a.dtype)  # [n, 2^P]
  return (logistic_loss(y[:, None] * F) @ cutout_weights(P, C).astype(a.dtype)).mean()


def random_subsets(key, n: int, P: int, size) -> jax.Array:
  """[n, P] indicators of uniform random subsets of the given sizes (scalar or [n])."""
  u = jax.random.uniform(key, (n, P), jnp.float32)
  rank = jnp.argsort(jnp.argsort(u, axis=-1), axis=-1)
  return (rank < jnp.reshape(size, (-1, 1))).astype(jnp.float32)


def cutout_sampled(a, y, C, key):
  n, P = a.shape
  kept = 1.0 - random_subsets(key, n, P, C).astype(a.dtype)
  return logistic_loss(y * (a * kept).sum(-1)).mean()


def _pair_terms(U, V, y, q):
  """sum_{i,j,S} q_S l(z_ijS) with z_ijS = y_i (U_iS + V_jS), and its gradients in U, V.

  One pass over the n x n x H terms: e = exp(-|z|) gives both l(z) = max(-z, 0) + log1p(e)
  and l'(z) = -sigmoid(-z) = -(e if z >= 0 else 1) / (1 + e); only [n, H] sums are kept.
  The terms are laid out [H, i, j] (j fastest): with H = 2^(P-1) innermost, XLA's CPU
  reductions ran ~10x slower (measured).
  """
  z = y[None, :, None] * (U.T[:, :, None] + V.T[:, None, :])  # [H, i, j]
  e = jnp.exp(-jnp.abs(z))
  value = q @ (jnp.maximum(-z, 0.0) + jnp.log1p(e)).sum((1, 2))
  G = (-q[:, None, None] * y[None, :, None]) * (jnp.where(z >= 0, e, 1.0) / (1.0 + e))
  return value, G.sum(2).T, G.sum(1).T


@jax.custom_vjp
def pair_loss_sum(U, V, y, q):
  """sum_{i,j,S} q_S l(y_i (U_iS + V_jS)), with a hand-written gradient (see _pair_terms):
  autodiff kept the n x n x H sigmoid terms and recomputed exponentials (measured ~2x)."""
  return _pair_terms(U, V, y, q)[0]


def _pair_fwd(U, V, y, q):
  value, dU, dV = _pair_terms(U, V, y, q)
  return value, (dU, dV, y, q)


def _pair_bwd(res, g):
  dU, dV, y, q = res
  return g * dU, g * dV, jnp.zeros_like(y), jnp.zeros_like(q)


pair_loss_sum.defvjp(_pair_fwd, _pair_bwd)


def _half_subsets(P: int, mixing: str, mix_a, dtype):
  """The subsets S containing patch 0 (masks [2^(P-1), P]), their D_S weights q_S and lam
  = |S| / P: the half of the (i, j, S) terms that exact CutMix sums, by its symmetry."""
  M = subset_masks(P)
  half = M[:, 0] == 1
  Mh = M[half].astype(dtype)
  return Mh, mixing_weights(P, mixing, mix_a)[half].astype(dtype), Mh.sum(1) / P


def cutmix_exact(a, y, mixing: str, mix_a):
  """Exact CutMix loss in O(n^2 2^(P-1)) with one transcendental per term.

  Two identities (both exact; checked against the brute-force reference in the tests):
  * Symmetry: X_{i,j,S} = X_{j,i,S^c} with D_S(S) = D_S(S^c) and lam swapped, so the
    (i, j, S) and (j, i, S^c) terms are equal: sum over S containing patch 0, times 2.
  * l(-z) = z + l(z): the (1 - lam) l(y_j F) term equals (1 - lam) l(y_i F) when
    y_j = y_i and (1 - lam)(l(y_i F) + y_i F) when y_j = -y_i. So each term is
    l(y_i F) + (1 - lam)[y_i != y_j] y_i F, and the linear part sums in closed form:
    sum_S q_S (1 - lam_S) sum_i n_{-y_i} y_i (U_iS - V_iS).
  """
  n, P = a.shape
  Mh, q, lam = _half_subsets(P, mixing, mix_a, a.dtype)
  U = a @ Mh.T  # [n, 2^(P-1)], patches of i in S
  V = a @ (1.0 - Mh).T  # [n, 2^(P-1)], patches of j outside S
  n_pos = (y > 0).sum()
  n_opposite = jnp.where(y > 0, n - n_pos, n_pos).astype(a.dtype)
  linear = ((n_opposite * y)[:, None] * (U - V)) @ (q * (1.0 - lam))
  return 2.0 * (pair_loss_sum(U, V, y, q) + linear.sum()) / (n * n)


def sample_sizes(key, n: int, P: int, mixing: str, mix_a):
  """[n] draws of |S| under D_S."""
  if mixing == "uniform":
    return jax.random.randint(key, (n,), 0, P + 1, jnp.int32)
  if mixing == "fixed":
    k = jnp.round(mix_a * P).astype(jnp.int32)
    return jnp.where(jax.random.bernoulli(key, 0.5, (n,)), k, P - k)
  lam = jax.random.beta(key, mix_a, mix_a, (n,), jnp.asarray(mix_a).dtype)
  return jnp.round(lam * P).astype(jnp.int32)


def cutmix_sampled(a, y, mixing: str, mix_a, key):
  n, P = a.shape
  k_j, k_s, k_m = jax.random.split(key, 3)
  j = jax.random.randint(k_j, (n,), 0, n, jnp.int32)
  size = sample_sizes(k_s, n, P, mixing, mix_a)
  inS = random_subsets(k_m, n, P, size).astype(a.dtype)
  F = (a * inS + a[j] * (1.0 - inS)).sum(-1)
  lam = size.astype(a.dtype) / P
  return (lam * logistic_loss(y * F) + (1.0 - lam) * logistic_loss(y[j] * F)).mean()


MIXUP_NODES = 16  # Gauss-Legendre nodes of exact Mixup's lam integral (see mixup_nodes)


def mixup_nodes(mixing: str, a, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
  """(lam [Q], w [Q]): a discrete law of min(lam, 1 - lam) for lam ~ D_lam, lam <= 1/2.

  The (i, j, lam) and (j, i, 1 - lam) Mixup terms are the same input and the same loss,
  so the exact objective needs only the law of min(lam, 1 - lam): 2 x Beta(a, a)'s
  density on [0, 1/2]. With lam = t^(1/s) / 2, s = min(a, 1), that density becomes
  proportional to t^(a/s - 1) (1 - lam)^(a - 1) dt on t in [0, 1]: for a < 1 the endpoint
  singularity is absorbed (t^0), for a >= 1 it is the plain density. Gauss-Legendre in t
  with those weights, renormalised to sum to 1, integrates it ("uniform": a = 1, plain
  Gauss-Legendre on [0, 1/2]); "fixed": the single node min(a, 1 - a), exactly. Against
  adaptive integration the objective's relative error is <= 2.2e-6 at 16 nodes (measured
  for a in {0.2, 1, 2, 4}; phi's kinks limit the convergence: 1e-7 at 32 nodes).
  """
  a = jnp.asarray(a, dtype)
  if mixing == "fixed":
    return jnp.minimum(a, 1.0 - a)[None], jnp.ones((1,), dtype)
  if mixing == "uniform":
    a = jnp.ones((), dtype)
  t, v = np.polynomial.legendre.leggauss(MIXUP_NODES)
  t, v = jnp.asarray((t + 1.0) / 2.0, dtype), jnp.asarray(v / 2.0, dtype)
  s = jnp.minimum(a, 1.0)
  lam = 0.5 * t ** (1.0 / s)
  w = v * t ** (a / s - 1.0) * (1.0 - lam) ** (a - 1.0)
  return lam, w / w.sum()


def _mixed_loss(Z_i, Z_j, lam, y_i, y_j, out):
  """lam l(y_i g) + (1 - lam) l(y_j g), g the network on pre-activations lam Z_i + (1 - lam)
  Z_j (all broadcast against each other; Z_*: [2, m, ..., P], lam and y_*: [...]);
  out: Z -> per-patch outputs (`jaxcut.networks`)."""
  lam_z = lam[None, None, ..., None]
  g = out(lam_z * Z_i + (1.0 - lam_z) * Z_j).sum(-1)
  return lam * logistic_loss(y_i * g) + (1.0 - lam) * logistic_loss(y_j * g)


def mixup_exact(Z, y, out, mixing: str, mix_a):
  """Exact Mixup over every pair (i, j) and the nodes of `mixup_nodes`, on pre-activations
  Z [2, m, n, P]: [Q, n, n] mixed inputs, never built as inputs."""
  lam, w = mixup_nodes(mixing, mix_a, Z.dtype)
  Z_i = Z[:, :, None, :, None, :]  # [2, m, 1, n, 1, P] against [Q, i, j]
  Z_j = Z[:, :, None, None, :, :]
  L = _mixed_loss(Z_i, Z_j, lam[:, None, None], y[None, :, None], y[None, None, :], out)
  return w @ L.mean((1, 2))


def sample_lambdas(key, n: int, mixing: str, mix_a, dtype) -> jax.Array:
  """[n] draws of lam under D_lam."""
  if mixing == "uniform":
    return jax.random.uniform(key, (n,), dtype)
  if mixing == "fixed":
    a = jnp.asarray(mix_a, dtype)
    return jnp.where(jax.random.bernoulli(key, 0.5, (n,)), a, 1.0 - a)
  return jax.random.beta(key, mix_a, mix_a, (n,), dtype)


def mixup_sampled(Z, y, out, mixing: str, mix_a, key):
  """One partner j (uniform on [n], as in the exact sum) and one lam per example."""
  n = Z.shape[2]
  k_j, k_l = jax.random.split(key)
  j = jax.random.randint(k_j, (n,), 0, n, jnp.int32)
  lam = sample_lambdas(k_l, n, mixing, mix_a, Z.dtype)
  return _mixed_loss(Z, Z[:, :, j], lam, y, y[j], out).mean()


def cutout_exact_z(Z, y, C, out):
  """Exact Cutout on pre-activations Z [2, m, n, P], for a network that is not a patch sum:
  every subset's masked Z ([2, m, n, 2^P, P]), weight 1[|S| = C] / binom(P, C)."""
  P = Z.shape[-1]
  kept = 1.0 - subset_masks(P).astype(Z.dtype)  # [2^P, P]
  F = out(Z[..., None, :] * kept).sum(-1)  # [n, 2^P]
  return (logistic_loss(y[:, None] * F) @ cutout_weights(P, C).astype(Z.dtype)).mean()


def cutout_sampled_z(Z, y, C, key, out):
  """`cutout_sampled` on Z: the same subset draws."""
  n, P = Z.shape[2:]
  kept = 1.0 - random_subsets(key, n, P, C).astype(Z.dtype)
  return logistic_loss(y * out(Z * kept).sum(-1)).mean()


def cutmix_exact_z(Z, y, mixing: str, mix_a, out):
  """Exact CutMix on Z for a network that is not a patch sum: every (i, j, S) with S
  containing patch 0, times 2 (the (i, j, S) ~ (j, i, S^c) symmetry of `cutmix_exact`), as
  mixed pre-activations [2, m, n, n, 2^(P-1), P]: O(n^2 2^(P-1)) network evaluations."""
  n, P = Z.shape[2:]
  Mh, q, lam = _half_subsets(P, mixing, mix_a, Z.dtype)  # [H, P], [H], [H]
  Z_i = Z[:, :, :, None, None, :]
  Z_j = Z[:, :, None, :, None, :]
  F = out(Z_i * Mh + Z_j * (1.0 - Mh)).sum(-1)  # [i, j, H]
  L = (lam * logistic_loss(y[:, None, None] * F)
       + (1.0 - lam) * logistic_loss(y[None, :, None] * F))
  return 2.0 * (L @ q).sum() / (n * n)


def cutmix_sampled_z(Z, y, mixing: str, mix_a, key, out):
  """`cutmix_sampled` on Z: the same partner, size and subset draws."""
  n, P = Z.shape[2:]
  k_j, k_s, k_m = jax.random.split(key, 3)
  j = jax.random.randint(k_j, (n,), 0, n, jnp.int32)
  size = sample_sizes(k_s, n, P, mixing, mix_a)
  inS = random_subsets(k_m, n, P, size).astype(Z.dtype)
  F = out(Z * inS + Z[:, :, j] * (1.0 - inS)).sum(-1)
  lam = size.astype(Z.dtype) / P
  return (lam * logistic_loss(y * F) + (1.0 - lam) * logistic_loss(y[j] * F)).mean()


def preact_objective(static: Static, hypers: Hypers, net):
  """The training loss as a function of the first layer's pre-activations and the later
  layers: (Z [2, m, n, P], theta, y [n], key) -> scalar; net: (theta, Z) -> per-patch
  outputs (`jaxcut.networks.network`). Mixup mixes Z; so do Cutout and CutMix for a
  network that is not a patch sum; otherwise they act on the per-patch outputs."""
  method, exact, mixing, a, C = (static.method, static.exact, static.mixing, hypers.mix_a,
                                 hypers.C)
  if method == "erm" or (method != "mixup" and networks.per_patch(static)):
    obj = objective(static, hypers)
    return lambda Z, theta, y, key: obj(net(theta, Z), y, key)
  on_z = {  # (method, exact) -> (Z, y, key, out) -> loss
      ("mixup", True): lambda Z, y, key, out: mixup_exact(Z, y, out, mixing, a),
      ("mixup", False): lambda Z, y, key, out: mixup_sampled(Z, y, out, mixing, a, key),
      ("cutout", True): lambda Z, y, key, out: cutout_exact_z(Z, y, C, out),
      ("cutout", False): lambda Z, y, key, out: cutout_sampled_z(Z, y, C, key, out),
      ("cutmix", True): lambda Z, y, key, out: cutmix_exact_z(Z, y, mixing, a, out),
      ("cutmix", False): lambda Z, y, key, out: cutmix_sampled_z(Z, y, mixing, a, key, out),
  }[method, exact]
  return lambda Z, theta, y, key: on_z(Z, y, key, lambda z: net(theta, z))


def objective(static: Static, hypers: Hypers):
  """The training loss as a function (a [n, P], y [n], key) -> scalar; key drives sampling."""
  method, exact = static.method, static.exact
  if method == "erm":
    return lambda a, y, key: erm(a, y)
  if method == "cutout":
    if exact:
      return lambda a, y, key: cutout_exact(a, y, hypers.C)
    return lambda a, y, key: cutout_sampled(a, y, hypers.C, key)
  if method == "cutmix":
    if exact:
      return lambda a, y, key: cutmix_exact(a, y, static.mixing, hypers.mix_a)
    return lambda a, y, key: cutmix_sampled(a, y, static.mixing, hypers.mix_a, key)
  raise ValueError(f"unknown method {method!r}")
