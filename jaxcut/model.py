"""Two-layer CNN shared across patches (docs/model.md, section 2).

    f_W(X) = sum_p sum_j phi(<w_{+1,j}, x^(p)>) - sum_p sum_j phi(<w_{-1,j}, x^(p)>),

with m filters per class (m = 1 is the paper's). W has shape [2, m, d]; W[0] holds the
filters of class +1, W[1] those of class -1. Init: every entry N(0, sigma_0^2).

Other papers' knobs (docs/model.md, section 10): `output_scale` multiplies f (and so every
per-patch output) by 1/m, 1/P or 1/(mP); `bias` gives each filter a trainable bias, as
its last coordinate against a constant-1 input coordinate (`jaxcut.data`); `init` =
uniform draws entries from U(-sqrt(3) sigma_0, sqrt(3) sigma_0) (std sigma_0 too).

Since f_W is a sum over patches, we keep the per-patch outputs
a[i, p] = sum_j phi(<w_{+1,j}, x_i^(p)>) - phi(<w_{-1,j}, x_i^(p)>); a masked or mixed
input is then a masked sum of a (a zeroed patch gives m phi(0) - m phi(0) = 0 for any phi).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxcut.config import Hypers, Static
from jaxcut.data import blocked


def smoothed_leaky_relu(z, beta, r, q=None):
  """phi(z) = z - (1-beta) r/2 (z >= r); (1-beta) z^2/(2r) + beta z (0 <= z <= r); beta z (z <= 0)."""
  quad = (1 - beta) * z * z / (2 * r) + beta * z
  return jnp.where(z >= r, z - (1 - beta) * r / 2, jnp.where(z <= 0, beta * z, quad))


def leaky_relu(z, beta, r, q=None):
  del r, q
  return jnp.where(z >= 0, z, beta * z)


def relu(z, beta, r, q=None):
  del beta, r, q
  return jnp.maximum(z, 0)


def gelu(z, beta, r, q=None):
  del beta, r, q
  return jax.nn.gelu(z, approximate=False)


def relu_q(z, beta, r, q):
  """phi(z) = max(z, 0)^q (Cao et al. 2022, Kou et al. 2023: q = 3)."""
  del beta, r
  return jnp.maximum(z, 0) ** q


def polyrelu(z, beta, r, q):
  """Chidambaram et al. (2023)'s PolyReLU with rho = r, alpha = q: z^q / (q r^(q-1)) on
  [0, r], z - (1 - 1/q) r above, and 0 below 0 (as Allen-Zhu and Li's smoothed ReLU; their
  code's x^alpha term would be odd below 0 at their alpha = 11). C^1 at 0 and r."""
  del beta
  low = jnp.clip(z, 0, r)
  return jnp.where(z >= r, z - (1 - 1 / q) * r, low ** q / (q * r ** (q - 1)))


ACTIVATIONS: dict[str, Callable] = {
    "smoothed_leaky_relu": smoothed_leaky_relu,
    "leaky_relu": leaky_relu,
    "relu": relu,
    "gelu": gelu,
    "relu_q": relu_q,
    "polyrelu": polyrelu,
}


def activation(static: Static, hypers: Hypers, scaled: bool = True) -> Callable:
  """phi, times the output scale unless scaled=False (the paper's network carries the
  scale in every per-patch output; deeper ones apply it at the readout)."""
  fn, scale = ACTIVATIONS[static.activation], static.scale if scaled else 1.0
  return lambda z: scale * fn(z, hypers.beta, hypers.r, hypers.q)  # x 1.0 (none): exact


def init(key, static: Static, hypers: Hypers) -> jax.Array:
  """W ~ N(0, sigma_0^2) (or uniform with std sigma_0), shape [2, m, d_in].

  Coordinates Hypers.d .. Static.d (padding) are 0; the others are drawn per coordinate
  block (`data.blocked`) and the bias column apart, so padding leaves the draws alone."""
  dtype = jnp.asarray(hypers.sigma_0).dtype
  k_w, k_b = jax.random.split(key)
  if static.init == "uniform":
    bound = jnp.sqrt(3.0).astype(dtype) * hypers.sigma_0
    draw = lambda k, shape, dt: jax.random.uniform(k, shape, dt, -1.0, 1.0) * bound
  else:
    draw = lambda k, shape, dt: hypers.sigma_0 * jax.random.normal(k, shape, dt)
  W = blocked(draw, k_w, (2, static.m), static.d, hypers.d, dtype)
  if static.bias:
    W = jnp.concatenate([W, draw(k_b, (2, static.m, 1), dtype)], -1)
  return W


def inner(W, x) -> jax.Array:
  """All inner products <W[a], x[b]>, shape W.shape[:-1] + x.shape[:-1].

  A flat 2-D contraction over the last axis: on CPU, `einsum("cjd,npd->cjnp")` made XLA
  copy x every step when x is a runtime buffer (3x slower per step, measured).
  """
  d = W.shape[-1]
  out = jax.lax.dot_general(W.reshape(-1, d), x.reshape(-1, d), (((1,), (1,)), ((), ())))
  return out.reshape(W.shape[:-1] + x.shape[:-1])


def preactivations(W, x) -> jax.Array:
  """Z[c, j, i, p] = <W[c, j], x_i^(p)>, shape [2, m, n, P]."""
  return inner(W, x)


def patch_outputs_from_preacts(Z, phi) -> jax.Array:
  """a[i, p] = sum_j phi(Z[0, j, i, p]) - phi(Z[1, j, i, p]), shape [n, P]."""
  h = phi(Z).sum(axis=1)
  return h[0] - h[1]


def patch_outputs(W, x, phi) -> jax.Array:
  return patch_outputs_from_preacts(preactivations(W, x), phi)


def forward(W, x, phi) -> jax.Array:
  """f_W(X) for a batch x [n, P, d]: shape [n]."""
  return patch_outputs(W, x, phi).sum(axis=-1)
