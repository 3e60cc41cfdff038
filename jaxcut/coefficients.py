"""Feature-learning and noise-memorisation coefficients (docs/model.md, section 4).

Gradient descent keeps w_s^(t) - w_s^(0) in span(features, training noise), so

    w_s^(t) = w_s^(0) + sum_{s',k} gamma_s(s',k) v_{s',k}
                      + sum_{i, p != p*_i} rho_s(i,p) xi_i^(p) / ||xi_i^(p)||^2.

gamma is read off exactly: gamma_s(s',k) = <w_s - w_s^(0), v_{s',k}> (features are basis
vectors). rho comes from the Gram system of the N = n(P-1) training noise vectors:
with c = rho / ||xi||^2 and b_ip = <w - w0, xi_ip>, G c = b, G = Xi Xi^T. G is factored
once per run (O(N^2 d)); each logged time costs O(N d + N^2) per filter.

For sgd and momentum the decomposition is exact (`span_residual` ~ float eps). Adam's
per-coordinate scaling leaves the span; then rho is the least-squares projection and
`span_residual` says how much of w - w0 lies outside. When N > d - 2K the noise vectors
are linearly dependent and rho is not unique: a ridge of 1e-6 * mean(diag G) picks
(approximately) the minimum-norm solution.
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve

from jaxcut.data import Batch, noise_patches, scatter_noise_patches
from jaxcut.model import inner


@flax.struct.dataclass
class NoiseBasis:
  xi: jax.Array  # [n, P-1, d'] noise vectors of the non-feature patches
  index: jax.Array  # [n, P-1] their patch positions
  norm2: jax.Array  # [n, P-1] ||xi||^2
  chol: jax.Array  # [N, N] lower Cholesky factor of G (+ ridge when singular)


def noise_basis(batch: Batch, K: int, d) -> NoiseBasis:
  """The training noise and the Cholesky factor of its Gram; d: the run's dimension
  (traced; the arrays may be padded past it with zeros)."""
  xi, index = noise_patches(batch, K)
  n, q, dp = xi.shape
  flat = xi.reshape(n * q, dp)
  G = flat @ flat.T
  norm2 = jnp.diagonal(G).reshape(n, q)
  ridge = jnp.where(n * q > d - 2 * K, 1e-6 * jnp.mean(jnp.diagonal(G)), 0.0)
  G = G + ridge * jnp.eye(n * q, dtype=G.dtype)
  return NoiseBasis(xi=xi, index=index, norm2=norm2, chol=jnp.linalg.cholesky(G))


def gamma(W, W0, K: int) -> jax.Array:
  """[2, m, 2, K]: gamma[c, j, s', k] for filter j of class c, feature v_{s',k} (0 <-> +1)."""
  dW = (W - W0)[..., :2 * K]
  return dW.reshape(dW.shape[:-1] + (2, K))


def noise_coefficients(W, W0, basis: NoiseBasis, K: int) -> jax.Array:
  """c[c, j, i, q] with Lambda (w_cj - w0_cj) ~= sum_iq c xi_iq; rho = c * ||xi||^2."""
  dW = (W - W0)[..., 2 * K:]
  b = inner(dW, basis.xi)
  lead = b.shape[:2]
  flat = b.reshape(lead + (-1,))
  c = cho_solve((basis.chol, True), flat.reshape(-1, flat.shape[-1]).T).T
  return c.reshape(b.shape)


def rho(W, W0, basis: NoiseBasis, K: int) -> jax.Array:
  """[2, m, n, P-1] rho_s(i, p) over the non-feature patches listed in basis.index."""
  return noise_coefficients(W, W0, basis, K) * basis.norm2


def span_residual(W, W0, basis: NoiseBasis, K: int) -> jax.Array:
  """||Lambda(W - W0) - sum c xi|| / ||Lambda(W - W0)||: 0 when w - w0 is in the span."""
  dW = (W - W0)[..., 2 * K:]
  c = noise_coefficients(W, W0, basis, K)
  recon = jnp.einsum("cjnq,nqd->cjd", c, basis.xi)
  return jnp.linalg.norm(dW - recon) / jnp.maximum(jnp.linalg.norm(dW), 1e-30)


def rho_full(rho_nf, index, P: int) -> jax.Array:
  """Scatter [2, m, n, P-1] into [2, m, n, P] with 0 at each point's feature patch."""
  return scatter_noise_patches(rho_nf, index, P)


def reconstruct(W0, gamma_, rho_full_, batch: Batch, K: int) -> jax.Array:
  """w0 + sum gamma v + sum rho xi / ||xi||^2 (the decomposition above, for checks)."""
  xi = batch.x[..., 2 * K:]
  norm2 = jnp.sum(xi * xi, -1)
  c = jnp.where(norm2 > 0, rho_full_ / jnp.where(norm2 > 0, norm2, 1.0), 0.0)
  noise = jnp.einsum("cjnp,npd->cjd", c, xi)
  feat = gamma_.reshape(gamma_.shape[:2] + (2 * K,))
  return W0 + jnp.concatenate([feat, noise], axis=-1)
