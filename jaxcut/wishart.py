"""Wishart matrices by the Bartlett decomposition (the gram backend's noise geometry).

If g_1, ..., g_s are iid N(0, I_k) vectors in R^k (k >= s), their Gram matrix
A_ab = <g_a, g_b> is Wishart(k, I_s). Bartlett: A = L L^T with L lower triangular,

    L_aa ~ sqrt(chi^2_{k - a})   (a = 0..s-1),    L_ab ~ N(0, 1)  (a > b),   all independent,

so A is drawn in O(s^2) random numbers and one O(s^3) product, whatever k. The degrees
of freedom k may be a traced (non-integer-typed) value: the chi-squares are
2 Gamma((k - a) / 2) draws.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def bartlett_factor(key, df, size: int, dtype=jnp.float32) -> jax.Array:
  """[size, size] lower-triangular L with L L^T ~ Wishart(df, I_size); needs df >= size."""
  k_chi, k_norm = jax.random.split(key)
  shape = (jnp.asarray(df, dtype) - jnp.arange(size, dtype=dtype)) / 2
  chi2 = 2.0 * jax.random.gamma(k_chi, shape, dtype=dtype)
  below = jnp.tril(jax.random.normal(k_norm, (size, size), dtype), -1)
  return below + jnp.diag(jnp.sqrt(chi2))


def wishart(key, df, size: int, dtype=jnp.float32) -> jax.Array:
  """A ~ Wishart(df, I_size): the Gram matrix of `size` iid N(0, I_df) vectors."""
  L = bartlett_factor(key, df, size, dtype)
  return L @ L.T
