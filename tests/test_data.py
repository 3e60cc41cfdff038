"""The sampler: frequencies, orthogonality, patch roles, noise scales."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxcut import compiler
from jaxcut.config import Config
from jaxcut.data import BACKGROUND, DOMINANT, FEATURE, feature_probs, noise_patches, sample

CFG = Config(P=4, d=64, n=20000, group_counts=(2, 3, 4), group_masses=(0.6, 0.3, 0.1),
             sigma_d=0.7, sigma_b=0.2, alpha=0.3)


def draw(n=20000, cfg=CFG, seed=0):
  spec = cfg.spec()
  return compiler.jit(lambda k: sample(k, spec.static, spec.hypers, n))(jax.random.key(seed))


def test_feature_frequencies_match_masses_chi_square():
  b = draw()
  probs = np.asarray(feature_probs(CFG.static(), jnp.asarray(CFG.group_masses)), np.float64)
  np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-6)
  counts = np.bincount(np.asarray(b.feature), minlength=CFG.K)
  # Fixed seed: the statistic is deterministic; p > 0.001 is a proper goodness-of-fit bound.
  assert stats.chisquare(counts, probs / probs.sum() * counts.sum()).pvalue > 1e-3
  group_counts = np.bincount(np.asarray(b.group), minlength=3)
  assert stats.chisquare(group_counts, np.array(CFG.group_masses) * 20000).pvalue > 1e-3
  assert abs(np.mean(np.asarray(b.y) > 0) - 0.5) < 4 * 0.5 / np.sqrt(20000)


def test_one_feature_and_one_dominant_patch_per_sample():
  b = draw(5000)
  roles = np.asarray(b.roles)
  assert np.all((roles == FEATURE).sum(1) == 1)
  assert np.all((roles == DOMINANT).sum(1) == 1)
  assert np.all((roles == BACKGROUND).sum(1) == CFG.P - 2)
  assert np.all(roles[np.arange(5000), np.asarray(b.feature_patch)] == FEATURE)
  # p* and p~ uniform over positions
  for r in (FEATURE, DOMINANT):
    pos = np.argmax(roles == r, axis=1)
    assert stats.chisquare(np.bincount(pos, minlength=CFG.P)).pvalue > 1e-3


def test_patches_are_features_plus_noise_orthogonal_to_every_feature():
  b = draw(3000)
  K = CFG.K
  x, y, k = np.asarray(b.x), np.asarray(b.y), np.asarray(b.feature)
  roles, s = np.asarray(b.roles), np.asarray(b.noise_sign)
  i = np.arange(len(y))
  feat = x[..., :2 * K]
  # feature patch: exactly v_{y,k}, no noise
  fp = np.asarray(b.feature_patch)
  expect = np.zeros((len(y), 2 * K))
  expect[i, np.where(y > 0, k, K + k)] = 1
  np.testing.assert_array_equal(x[i, fp, :2 * K], expect)
  np.testing.assert_array_equal(x[i, fp, 2 * K:], 0)
  # dominant patch: alpha v_{s,1} + noise; background: noise only (zero on features)
  dp = np.argmax(roles == DOMINANT, axis=1)
  expect = np.zeros((len(y), 2 * K))
  expect[i, np.where(s > 0, 0, K)] = CFG.alpha
  np.testing.assert_allclose(x[i, dp, :2 * K], expect, rtol=1e-6)
  assert np.all(feat[roles == BACKGROUND] == 0)
  # noise scales: per-coordinate std sigma_d / sigma_b (4 standard errors)
  nd, nb = x[i, dp, 2 * K:], x[roles == BACKGROUND][:, 2 * K:]
  for noise, sigma in ((nd, CFG.sigma_d), (nb, CFG.sigma_b)):
    se = sigma * np.sqrt(2 / noise.size)
    assert abs(noise.std() - sigma) < 4 * se
  assert abs(np.mean(s > 0) - 0.5) < 4 * 0.5 / np.sqrt(len(s))


def test_stratified_groups_and_noise_patches():
  spec = CFG.spec()
  groups = jnp.arange(300) % 3
  b = sample(jax.random.key(1), spec.static, spec.hypers, 300, groups=groups)
  np.testing.assert_array_equal(b.group, groups)
  xi, idx = noise_patches(b, CFG.K)
  assert xi.shape == (300, CFG.P - 1, CFG.d - 2 * CFG.K)
  assert np.all(np.asarray(idx) != np.asarray(b.feature_patch)[:, None])
  np.testing.assert_array_equal(np.asarray(xi), np.asarray(b.x)[np.arange(300)[:, None], idx, 2 * CFG.K:])


def test_sampler_is_deterministic_and_vmappable():
  spec = CFG.spec()
  one = lambda k: sample(k, spec.static, spec.hypers, 50).x
  a, b = one(jax.random.key(4)), one(jax.random.key(4))
  np.testing.assert_array_equal(a, b)
  both = jax.vmap(one)(jax.random.split(jax.random.key(0), 2))
  np.testing.assert_array_equal(both[1], one(jax.random.split(jax.random.key(0), 2)[1]))
