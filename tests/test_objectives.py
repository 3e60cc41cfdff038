"""Exact objectives vs a brute-force reference that builds every masked / mixed input."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcut import objectives
from jaxcut.config import Config
from jaxcut.data import sample
from jaxcut.model import activation, patch_outputs, patch_outputs_from_preacts, preactivations


def ref_phi(z, beta=0.1, r=0.1):
  """Smoothed leaky ReLU written out again, independently of jaxcut.model."""
  return jnp.where(z <= 0, beta * z,
                   jnp.where(z >= r, z - (1 - beta) * r / 2, (1 - beta) * z ** 2 / (2 * r) + beta * z))


def ref_f(W, Xs):
  """f_W(X) for a stack of inputs Xs [B, P, d], summing patches and filters explicitly."""
  out = 0.0
  for p in range(Xs.shape[1]):
    for j in range(W.shape[1]):
      out = out + ref_phi(Xs[:, p] @ W[0, j]) - ref_phi(Xs[:, p] @ W[1, j])
  return out


def ref_loss(z):
  return jnp.log1p(jnp.exp(-z))


def cutout_inputs(X, C):
  """Every masked input, built: (inputs [B, P, d], sample index [B], weight [B])."""
  n, P, _ = X.shape
  subsets = list(itertools.combinations(range(P), C))
  inputs, owner = [], []
  for i in range(n):
    for S in subsets:
      keep = np.ones(P)
      keep[list(S)] = 0
      inputs.append(np.asarray(X[i]) * keep[:, None])
      owner.append(i)
  return np.stack(inputs), np.array(owner), np.full(len(owner), 1.0 / (n * len(subsets)))


def ref_cutout(W, X, y, C):
  inputs, owner, w = cutout_inputs(X, C)
  return jnp.sum(w * ref_loss(np.asarray(y)[owner] * ref_f(W, inputs)))


def ref_size_pmf(P, mixing, a):
  if mixing == "uniform":
    return [1.0 / (P + 1)] * (P + 1)
  if mixing == "fixed":  # k or P - k, 1/2 each
    k = round(a * P)
    return [0.5 * (s == k) + 0.5 * (s == P - k) for s in range(P + 1)]
  from scipy.stats import beta as beta_dist
  cdf = lambda x: beta_dist.cdf(min(max(x, 0.0), 1.0), a, a)
  return [cdf((s + 0.5) / P) - cdf((s - 0.5) / P) for s in range(P + 1)]


def cutmix_inputs(X, mixing, a):
  """Every mixed input X_{i,j,S}, built, with its D_S weight and lam = |S| / P."""
  n, P, _ = X.shape
  pmf = ref_size_pmf(P, mixing, a)
  inputs, first, second, weight, lam = [], [], [], [], []
  for i in range(n):
    for j in range(n):
      for s in range(P + 1):
        for S in itertools.combinations(range(P), s):
          take = np.zeros(P)
          take[list(S)] = 1
          inputs.append(np.asarray(X[i]) * take[:, None] + np.asarray(X[j]) * (1 - take[:, None]))
          first.append(i)
          second.append(j)
          weight.append(pmf[s] / math.comb(P, s) / n ** 2)
          lam.append(s / P)
  return np.stack(inputs), np.array(first), np.array(second), np.array(weight), np.array(lam)


def ref_cutmix(W, X, y, mixing="uniform", a=1.0):
  inputs, i, j, w, lam = cutmix_inputs(X, mixing, a)
  y = np.asarray(y)
  f = ref_f(W, inputs)
  return jnp.sum(w * (lam * ref_loss(y[i] * f) + (1 - lam) * ref_loss(y[j] * f)))


def net(phi):
  """The paper's network as pre-activations -> per-patch outputs."""
  return lambda Z: patch_outputs_from_preacts(Z, phi)


def setup(P, m=1, seed=0, dtype="float64"):
  cfg = Config(P=P, d=16, n=4, group_counts=(1, 2), group_masses=(0.7, 0.3),
               group_names=("a", "b"), m=m, alpha=0.3, sigma_b=0.3, sigma_d=0.8, dtype=dtype)
  spec = cfg.spec()
  batch = sample(jax.random.key(seed), spec.static, spec.hypers, 4)
  W = 0.3 * jax.random.normal(jax.random.key(seed + 1), (2, m, 16), dtype)
  phi = activation(spec.static, spec.hypers)
  return batch.x, batch.y, W, phi


@pytest.mark.parametrize("P", [3, 4])
@pytest.mark.parametrize("m", [1, 2])
def test_cutout_exact_matches_brute_force(P, m):
  with jax.enable_x64(True):
    X, y, W, phi = setup(P, m)
    for C in range(1, P):
      fast = lambda W: objectives.cutout_exact(patch_outputs(W, X, phi), y, jnp.float64(C))
      slow = lambda W: ref_cutout(W, X, y, C)
      np.testing.assert_allclose(fast(W), slow(W), rtol=1e-5, atol=1e-7)
      np.testing.assert_allclose(jax.grad(fast)(W), jax.grad(slow)(W), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("P", [3, 4])
@pytest.mark.parametrize("mixing,a", [("uniform", 1.0), ("beta", 0.5), ("beta", 2.0),
                                      ("fixed", 0.5)])
def test_cutmix_exact_matches_brute_force(P, mixing, a):
  with jax.enable_x64(True):
    X, y, W, phi = setup(P, m=1 if mixing == "uniform" else 2)
    fast = lambda W: objectives.cutmix_exact(patch_outputs(W, X, phi), y, mixing, jnp.float64(a))
    slow = lambda W: ref_cutmix(W, X, y, mixing, a)
    np.testing.assert_allclose(fast(W), slow(W), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(jax.grad(fast)(W), jax.grad(slow)(W), rtol=1e-5, atol=1e-7)


def test_erm_matches_brute_force_and_finite_differences():
  with jax.enable_x64(True):
    X, y, W, phi = setup(3, m=2)
    fast = lambda W: objectives.erm(patch_outputs(W, X, phi), y)
    slow = lambda W: jnp.mean(ref_loss(y * ref_f(W, X)))
    np.testing.assert_allclose(fast(W), slow(W), rtol=1e-10)
    g = jax.grad(fast)(W)
    rng = np.random.default_rng(0)
    for _ in range(5):
      u = jnp.asarray(rng.normal(size=W.shape))
      eps = 1e-6
      fd = (fast(W + eps * u) - fast(W - eps * u)) / (2 * eps)
      np.testing.assert_allclose(fd, jnp.vdot(g, u), rtol=1e-6, atol=1e-10)


def test_exact_cutmix_gradient_finite_differences():
  with jax.enable_x64(True):
    X, y, W, phi = setup(4)
    fast = lambda W: objectives.cutmix_exact(patch_outputs(W, X, phi), y, "beta", jnp.float64(0.7))
    g = jax.grad(fast)(W)
    u = jax.random.normal(jax.random.key(9), W.shape, jnp.float64)
    fd = (fast(W + 1e-6 * u) - fast(W - 1e-6 * u)) / 2e-6
    np.testing.assert_allclose(fd, jnp.vdot(g, u), rtol=1e-6)


@pytest.mark.parametrize("P", [2, 3, 5])
@pytest.mark.parametrize("a", [0.3, 1.0, 4.0])
def test_beta_size_pmf_matches_its_sampler(P, a):
  pmf = objectives.size_pmf(P, "beta", jnp.float32(a))
  np.testing.assert_allclose(pmf.sum(), 1.0, atol=1e-5)
  np.testing.assert_allclose(pmf, ref_size_pmf(P, "beta", a), atol=1e-5)
  draws = objectives.sample_sizes(jax.random.key(0), 40000, P, "beta", jnp.float32(a))
  freq = np.bincount(np.asarray(draws), minlength=P + 1) / 40000
  se = np.sqrt(np.asarray(pmf) * (1 - np.asarray(pmf)) / 40000)
  assert np.all(np.abs(freq - pmf) <= 5 * se + 1e-4)


def test_beta_mixing_with_a_one_is_not_the_papers_law_but_uniform_is():
  # Beta(1,1)-area rounding puts half weight on the ends; the paper's law is flat in |S|.
  np.testing.assert_allclose(objectives.size_pmf(3, "uniform", jnp.float32(1)), [0.25] * 4)
  np.testing.assert_allclose(objectives.size_pmf(3, "beta", jnp.float32(1)),
                             [1 / 6, 1 / 3, 1 / 3, 1 / 6], atol=1e-6)


@pytest.mark.parametrize("method", ["cutout", "cutmix_uniform", "cutmix_beta", "cutmix_fixed"])
def test_sampled_objectives_average_to_exact(method):
  """Mean over 4000 draws of the sampled loss and gradient is within 5 standard errors."""
  X, y, W, phi = setup(4, dtype="float32")
  if method == "cutout":
    C = jnp.float32(2)
    exact = lambda W: objectives.cutout_exact(patch_outputs(W, X, phi), y, C)
    sampled = lambda W, k: objectives.cutout_sampled(patch_outputs(W, X, phi), y, C, k)
  else:
    mix = method.split("_")[1]
    a = jnp.float32(0.6 if mix == "beta" else 0.5)
    exact = lambda W: objectives.cutmix_exact(patch_outputs(W, X, phi), y, mix, a)
    sampled = lambda W, k: objectives.cutmix_sampled(patch_outputs(W, X, phi), y, mix, a, k)
  keys = jax.random.split(jax.random.key(3), 4000)
  vals, grads = jax.vmap(jax.value_and_grad(sampled), in_axes=(None, 0))(W, keys)
  for draws, target in ((vals, exact(W)), (grads, jax.grad(exact)(W))):
    mean = draws.mean(0)
    se = draws.std(0) / np.sqrt(len(keys))
    assert np.all(np.abs(mean - target) <= 5 * se + 1e-6), (mean, target, se)


def ref_mixup_at(W, X, y, lam):
  """[n, n] lam l(y_i f(X_ij)) + (1 - lam) l(y_j f(X_ij)), X_ij = lam X_i + (1 - lam) X_j
  built as inputs (no pre-activation identity)."""
  n = X.shape[0]
  i, j = np.divmod(np.arange(n * n), n)
  f = ref_f(W, lam * X[i] + (1 - lam) * X[j])
  y = np.asarray(y)
  return (lam * ref_loss(y[i] * f) + (1 - lam) * ref_loss(y[j] * f)).reshape(n, n)


MIXUP_LAWS = [("uniform", 1.0), ("beta", 0.2), ("beta", 2.0), ("beta", 4.0), ("fixed", 0.5),
              ("fixed", 0.3)]


@pytest.mark.parametrize("mixing,a", MIXUP_LAWS)
def test_mixup_exact_equals_brute_force_on_its_nodes(mixing, a):
  """Exact Mixup on pre-activations == every mixed input built, lam x_i + (1 - lam) x_j,
  at the quadrature's nodes and weights over both halves (lam and 1 - lam): float64,
  rtol 1e-9, values and gradients."""
  with jax.enable_x64(True):
    X, y, W, phi = setup(3, m=2)
    fast = lambda W: objectives.mixup_exact(preactivations(W, X), y, net(phi), mixing, jnp.float64(a))
    lam, w = objectives.mixup_nodes(mixing, jnp.float64(a), jnp.float64)

    def slow(W):  # each node's weight split over lam and 1 - lam (the law is symmetric)
      return sum(wk / 2 * (ref_mixup_at(W, X, y, lk).mean() + ref_mixup_at(W, X, y, 1 - lk).mean())
                 for lk, wk in zip(lam, w))
    np.testing.assert_allclose(fast(W), slow(W), rtol=1e-9)
    np.testing.assert_allclose(jax.grad(fast)(W), jax.grad(slow)(W), rtol=1e-9, atol=1e-13)
    g, u = jax.grad(fast)(W), jax.random.normal(jax.random.key(9), W.shape, jnp.float64)
    fd = (fast(W + 1e-6 * u) - fast(W - 1e-6 * u)) / 2e-6
    np.testing.assert_allclose(fd, jnp.vdot(g, u), rtol=1e-6)


@pytest.mark.parametrize("mixing,a", [law for law in MIXUP_LAWS if law[0] != "fixed"])
def test_mixup_quadrature_against_adaptive_integration(mixing, a):
  """The 16-node quadrature in lam against scipy's adaptive quad of the Beta(a, a)
  expectation, pair by pair: within 5e-6 relative (measured 1.0e-6 at a = 0.2, 2.2e-6 at
  a = 1, 2.1e-6 at a = 2: phi's kinks at 0 and r limit Gauss convergence)."""
  from scipy import integrate, stats as st
  with jax.enable_x64(True):
    X, y, W, phi = setup(3, m=1)
    fast = float(objectives.mixup_exact(preactivations(W, X), y, net(phi), mixing, jnp.float64(a)))
    n = X.shape[0]
    Xn, yn, Wn = np.asarray(X), np.asarray(y), np.asarray(W)
    phin = lambda z: np.where(z <= 0, 0.1 * z, np.where(z >= 0.1, z - 0.045, 4.5 * z ** 2 + 0.1 * z))

    def g(lam, i, j):
      x = lam * Xn[i] + (1 - lam) * Xn[j]
      f = (phin(x @ Wn[0].T) - phin(x @ Wn[1].T)).sum()
      return lam * np.log1p(np.exp(-yn[i] * f)) + (1 - lam) * np.log1p(np.exp(-yn[j] * f))
    pdf = st.beta(a, a).pdf
    total = 0.0
    for i in range(n):
      for j in range(n):
        lo, _ = integrate.quad(lambda t: g(t, i, j) * pdf(t), 0, 0.5, limit=200)
        hi, _ = integrate.quad(lambda t: g(t, i, j) * pdf(t), 0.5, 1, limit=200)
        total += (lo + hi) / n ** 2
    np.testing.assert_allclose(fast, total, rtol=5e-6)


@pytest.mark.parametrize("mixing,a", [("uniform", 1.0), ("beta", 0.2), ("fixed", 0.5)])
def test_mixup_sampled_equals_its_draws_built_as_inputs(mixing, a):
  """Sampled Mixup == the same partner and lam draws applied to the inputs."""
  with jax.enable_x64(True):
    X, y, W, phi = setup(4, m=2)
    key = jax.random.key(5)
    fast = objectives.mixup_sampled(preactivations(W, X), y, net(phi), mixing, jnp.float64(a), key)
    k_j, k_l = jax.random.split(key)
    n = X.shape[0]
    j = np.asarray(jax.random.randint(k_j, (n,), 0, n, jnp.int32))
    lam = np.asarray(objectives.sample_lambdas(k_l, n, mixing, jnp.float64(a), jnp.float64))
    mixed = lam[:, None, None] * X + (1 - lam[:, None, None]) * X[j]
    f = ref_f(W, mixed)
    yn = np.asarray(y)
    slow = np.mean(lam * ref_loss(yn * f) + (1 - lam) * ref_loss(yn[j] * f))
    np.testing.assert_allclose(fast, slow, rtol=1e-9)


@pytest.mark.parametrize("mixing,a", [("uniform", 1.0), ("beta", 0.6), ("fixed", 0.5)])
def test_mixup_sampled_averages_to_exact(mixing, a):
  """Mean over 4000 draws of sampled Mixup's loss and gradient, within 5 standard errors
  of the exact objective (plus its quadrature error, ~1e-7)."""
  X, y, W, phi = setup(4, dtype="float32")
  a = jnp.float32(a)
  exact = lambda W: objectives.mixup_exact(preactivations(W, X), y, net(phi), mixing, a)
  sampled = lambda W, k: objectives.mixup_sampled(preactivations(W, X), y, net(phi), mixing, a, k)
  keys = jax.random.split(jax.random.key(3), 4000)
  vals, grads = jax.vmap(jax.value_and_grad(sampled), in_axes=(None, 0))(W, keys)
  for draws, target in ((vals, exact(W)), (grads, jax.grad(exact)(W))):
    mean, se = draws.mean(0), draws.std(0) / np.sqrt(len(keys))
    assert np.all(np.abs(mean - target) <= 5 * se + 1e-6), (mean, target, se)


def test_mixup_nodes_are_a_law_on_the_lower_half():
  for mixing, a in MIXUP_LAWS:
    lam, w = objectives.mixup_nodes(mixing, jnp.float32(a))
    assert np.all((lam >= 0) & (lam <= 0.5)) and np.isclose(float(w.sum()), 1.0)
  lam, w = objectives.mixup_nodes("fixed", jnp.float32(0.7))
  np.testing.assert_allclose(lam, [0.3], rtol=1e-6)
  # E[min(lam, 1 - lam)] of U(0, 1) is 1/4, of Beta(2, 2) 5/16
  with jax.enable_x64(True):
    for mixing, a, mean in (("uniform", 1.0, 0.25), ("beta", 2.0, 5 / 16)):
      lam, w = objectives.mixup_nodes(mixing, jnp.float64(a), jnp.float64)
      np.testing.assert_allclose(float(w @ lam), mean, rtol=1e-6)


def test_lambda_moments_of_each_law():
  assert objectives.lambda_moments(4, "fixed", 0.5) == (0.5, 0.0)
  np.testing.assert_allclose(objectives.lambda_moments(3, "fixed", 0.5), [0.5, 1 / 36])
  mean, var = objectives.lambda_moments(3, "uniform", 1.0)
  np.testing.assert_allclose([mean, var], [0.5, np.var(np.arange(4) / 3)])
  v = [objectives.lambda_moments(4, "beta", a)[1] for a in (0.1, 1.0, 4.0)]
  assert v[0] > v[1] > v[2] > 0  # small a: lam near 0 or 1; large a: near 1/2
  # the report's float64 law against scipy's betainc (and the fixed law by hand)
  from scipy.special import betainc
  for P, mixing, a in ((3, "beta", 0.1), (4, "beta", 2.0), (8, "beta", 0.25), (5, "fixed", 0.3)):
    s = np.arange(P + 1)
    if mixing == "beta":
      pmf = betainc(a, a, np.clip((s + 0.5) / P, 0, 1)) - betainc(a, a, np.clip((s - 0.5) / P, 0, 1))
    else:
      pmf = 0.5 * ((s == round(a * P)).astype(float) + (s == P - round(a * P)))
    lam = s / P
    mean = pmf @ lam
    np.testing.assert_allclose(objectives.lambda_moments(P, mixing, a),
                               [mean, pmf @ lam ** 2 - mean ** 2], rtol=1e-12, atol=1e-15)
