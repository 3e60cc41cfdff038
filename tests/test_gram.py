"""The gram backend: equals the direct one given the same vectors; Wishart law; exact test law."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcut import compiler, gram, metrics, model, networks, wishart
from jaxcut.config import Config, ConfigError, compiled_d
from jaxcut.data import noise_patches, sample
from jaxcut.training import DATA, INIT, TEST, train, train_direct, train_gram, train_jit

# d' = 54 >= N + 2m = 16 + 4: the direct backend's rho solve is exact (no ridge).
SMALL = Config(P=3, d=60, n=8, group_names=("common", "rare"), group_counts=(1, 2), group_masses=(0.7, 0.3), m=2,
               steps=60, log_every=20, n_test=400, sigma_d=0.5, sigma_b=0.2)
VARIANTS = [dict(method="erm"), dict(method="cutout"), dict(method="cutmix"),
            dict(method="cutout", exact=False), dict(method="cutmix", exact=False),
            dict(method="cutmix", mixing="beta", mix_a=0.5, optimizer="momentum", eta=0.3,
                 P=4, C=3, d=80),
            dict(method="mixup", mixing="beta", mix_a=0.2), dict(method="mixup", exact=False)]
TEST_KEYS = ("test_acc", "test_acc_group", "test_acc_clean", "test_share")


def same_vectors(cfg, key):
  """The direct run and the gram run on the direct run's vectors."""
  spec = cfg.spec()
  batch = sample(jax.random.fold_in(key, DATA), spec.static, spec.hypers, cfg.n)
  W0 = model.init(jax.random.fold_in(key, INIT), spec.static, spec.hypers)
  data = gram.from_vectors(batch, W0, cfg.K)
  direct = compiler.jit(train_direct)(key, spec)
  gspec = cfg.replace(backend="gram").spec()
  g = compiler.jit(lambda k, s, d: train_gram(k, s, data=d))(key, gspec, data)
  return direct, g, batch, W0


def assert_close(x, y, rtol, what):
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  err = np.linalg.norm(x - y)
  assert err <= rtol * max(np.linalg.norm(y), 1e-12), (what, err, np.linalg.norm(y))


CASES = ([("float64", 1e-9, kw) for kw in VARIANTS]
         + [("float32", 1e-5, kw) for kw in (VARIANTS[0], VARIANTS[2])])


@pytest.mark.parametrize("dtype,rtol,kw", CASES,
                         ids=lambda x: x if isinstance(x, str) else
                         "-".join(f"{v}" for v in x.values()) if isinstance(x, dict) else "")
def test_gram_run_equals_direct_run_given_the_same_vectors(dtype, rtol, kw):
  with jax.enable_x64(dtype == "float64"):
    cfg = SMALL.replace(dtype=dtype, **kw)
    (dp, dtraj, dm), (gp, gtraj, gm), batch, W0 = same_vectors(cfg, jax.random.key(3))
    assert float(jnp.abs(gtraj["objective"][-1] - gtraj["objective"][0])) > 1e-3  # it learned
    for k in dtraj:
      assert_close(gtraj[k], dtraj[k], rtol, k)
    for k in dm:
      if k not in TEST_KEYS + ("span_residual",):
        assert_close(gm[k], dm[k], rtol, k)
    # the final filters themselves: feature coordinates and Lambda w = Lambda w0 + sum c xi
    K = cfg.K
    assert_close(gp["feat"], dp["W"][..., :2 * K], rtol, "feat")
    xi = np.asarray(noise_patches(batch, K)[0]).reshape(-1, cfg.static().d - 2 * K)
    noise = np.asarray(W0[..., 2 * K:]) + np.asarray(gp["c"]) @ xi
    assert_close(noise, dp["W"][..., 2 * K:], rtol, "noise part")
    assert float(gm["span_residual"]) == 0.0


NETWORK_VARIANTS = [dict(method="cutmix", depth=3, hidden=4),
                    dict(method="cutout", network="patchmix", depth=2, hidden=4),
                    dict(method="cutmix", network="patchmix", depth=2, hidden=4, exact=False,
                         optimizer="momentum", eta=0.05),
                    dict(method="mixup", network="patchmix", depth=3, hidden=4,
                         activation="relu_q", q=2.0, sigma_0=0.3, eta=0.1, exact=False)]


@pytest.mark.parametrize("kw", NETWORK_VARIANTS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_deeper_networks_gram_run_equals_direct_run(kw):
  """Depth > 1 on both backends (the later layers trained by their plain gradient on each):
  every trajectory, metric and the final layers equal, float64, 1e-9."""
  with jax.enable_x64(True):
    cfg = SMALL.replace(dtype="float64", **kw)
    (dp, dtraj, dm), (gp, gtraj, gm), _, _ = same_vectors(cfg, jax.random.key(3))
    assert float(jnp.abs(gtraj["objective"][-1] - gtraj["objective"][0])) > 1e-3
    for k in dtraj:
      assert_close(gtraj[k], dtraj[k], 1e-9, k)
    for k in dm:
      if k not in TEST_KEYS + ("span_residual",):
        assert_close(gm[k], dm[k], 1e-9, k)
    for a, b in zip(jax.tree.leaves(gp["theta"]), jax.tree.leaves(dp["theta"])):
      assert_close(a, b, 1e-9, "theta")
    assert_close(gp["feat"], dp["W"][..., :2 * cfg.K], 1e-9, "feat")


def test_singular_wishart_falls_back_to_explicit_vectors():
  """d' = 24 < N + 2m = 42: the gram backend uses the direct sampler's vectors."""
  cfg = Config(P=3, d=30, n=20, group_names=("common", "rare"), group_counts=(1, 2), group_masses=(0.7, 0.3),
               steps=40, log_every=20, n_test=200, sigma_d=0.5, sigma_b=0.2, method="cutmix")
  g = cfg.replace(backend="gram")
  assert g.gram_explicit and g.static().d == compiled_d(30) and not g.static().bartlett
  key = jax.random.key(0)
  _, dtraj, dm = train_jit(key, cfg.spec())
  _, gtraj, gm = train_jit(key, g.spec())
  # rho is not unique here (the direct backend reports the ~min-norm one): compare the rest
  for k in ("gamma", "feature_output", "feature_margin", "objective", "train_loss", "train_acc"):
    assert_close(gtraj[k], dtraj[k], 1e-5, k)
  for k in ("output_group", "margin_group", "train_loss", "train_acc", "train_share"):
    assert_close(gm[k], dm[k], 1e-5, k)


def test_gram_backend_traces_d():
  a = Config(backend="gram", d=1000)
  b = Config(backend="gram", d=10 ** 6, sigma_d=0.01)
  assert a.static() == b.static() and a.static().d == 0 and a.static().bartlett
  assert Config(d=1000).static() != Config(d=10 ** 6).static()  # the direct one sizes arrays


def test_gram_refuses_adam_and_unknown_backends():
  with pytest.raises(ConfigError, match="optimizer"):
    Config(backend="gram", optimizer="adam").validate()
  with pytest.raises(ConfigError, match="backend"):
    Config(backend="sparse").validate()


def test_bartlett_wishart_moments():
  """Wishart(k, I): E A = k I, Var A_aa = 2k, Var A_ab = k, Cov(A_aa, A_bb) = 0 (a != b).

  20,000 draws at s = 4, for a small non-integer k and a large one; each moment within 5
  standard errors (the standard error of a sample variance v over R draws is about
  v sqrt(2 / R) for these near-Gaussian entries, larger for k = 6.5: 5 SE covers it).
  """
  R, s = 20000, 4
  keys = jax.random.split(jax.random.key(0), R)
  for df in (6.5, 1e6):
    A = np.asarray(jax.vmap(lambda k: wishart.wishart(k, df, s, jnp.float32))(keys), np.float64)
    mean = A.mean(0)
    se_diag, se_off = math.sqrt(2 * df / R), math.sqrt(df / R)
    off = ~np.eye(s, dtype=bool)
    assert np.all(np.abs(np.diagonal(mean) - df) < 5 * se_diag), np.diagonal(mean)
    assert np.all(np.abs(mean[off]) < 5 * se_off), mean[off]
    var_diag = A[:, np.arange(s), np.arange(s)].var(0)
    var_off = A[:, off].var(0)
    tol = 5 * math.sqrt(2 / R) * (3 if df < 10 else 1)
    assert np.all(np.abs(var_diag / (2 * df) - 1) < tol), var_diag / (2 * df)
    assert np.all(np.abs(var_off / df - 1) < tol), var_off / df
    corr = np.corrcoef(A[:, 0, 0], A[:, 1, 1])[0, 1]
    assert abs(corr) < 5 / math.sqrt(R), corr


def test_bartlett_gram_matches_explicit_gram_in_law():
  """The backend's Gram (D A D) vs the Gram of explicit vectors from the direct sampler:
  same mean and spread of ||xi||^2 per noise kind and of <Lambda w0, xi>."""
  cfg = Config(P=3, d=400, n=6, group_names=("a", "b"), group_counts=(1, 1), group_masses=(0.5, 0.5),
               sigma_d=0.5, sigma_b=0.1, sigma_0=0.2)
  gspec, dspec = cfg.replace(backend="gram").spec(), cfg.spec()
  assert gspec.static.bartlett

  def bartlett(k):
    return gram.sample(jax.random.fold_in(k, 0), jax.random.fold_in(k, 1), gspec.static,
                       gspec.hypers).gram

  def explicit(k):
    b = sample(jax.random.fold_in(k, 0), dspec.static, dspec.hypers, cfg.n)
    W0 = model.init(jax.random.fold_in(k, 1), dspec.static, dspec.hypers)
    return gram.from_vectors(b, W0, cfg.K).gram

  keys = jax.random.split(jax.random.key(1), 3000)
  Gb = np.asarray(compiler.jit(jax.vmap(bartlett))(keys), np.float64)
  Ge = np.asarray(compiler.jit(jax.vmap(explicit))(keys), np.float64)
  S = Gb.shape[1]  # 2 filters, then N = 12 noise vectors
  diag, off = np.arange(S), ~np.eye(S, dtype=bool)
  for part in (slice(0, 2), slice(2, S)):  # ||Lambda w0||^2, ||xi||^2 (a mixture of 2 kinds)
    qb = np.quantile(Gb[:, diag, diag][:, part], [0.1, 0.3, 0.7, 0.9])
    qe = np.quantile(Ge[:, diag, diag][:, part], [0.1, 0.3, 0.7, 0.9])
    np.testing.assert_allclose(qb, qe, rtol=0.03)
  np.testing.assert_allclose(Gb[:, 0, 2:].std(), Ge[:, 0, 2:].std(), rtol=0.03)
  np.testing.assert_allclose(Gb[:, off].std(), Ge[:, off].std(), rtol=0.03)
  assert abs(Gb[:, off].mean()) < 0.03 * Gb[:, off].std()


def test_test_noise_law_is_the_filters_noise_gram():
  """Q = U G U^T equals <Lambda w_a, Lambda w_b> of the explicit final filters."""
  with jax.enable_x64(True):
    cfg = SMALL.replace(method="cutmix", dtype="float64")
    (dp, _, _), (gp, _, _), batch, W0 = same_vectors(cfg, jax.random.key(1))
    data = gram.from_vectors(batch, W0, cfg.K)
    R = gram.noise_covariance_root({"feat": gp["feat"], "c": gp["c"]}, data)
    Lw = np.asarray(dp["W"][..., 2 * cfg.K:]).reshape(2 * cfg.m, -1)
    np.testing.assert_allclose(R @ R.T, Lw @ Lw.T, rtol=1e-9, atol=1e-12)


def _assert_same_accuracy_law(explicit, gauss, n_test):
  n_g = n_test / len(np.asarray(explicit["test_acc_group"]))
  acc_e, acc_g = np.asarray(explicit["test_acc_group"]), np.asarray(gauss["test_acc_group"])
  assert 0.55 < acc_e.min() < 0.9, acc_e  # the test noise matters: a real comparison
  se = np.sqrt(acc_e * (1 - acc_e) / n_g + acc_g * (1 - acc_g) / n_g)
  assert np.all(np.abs(acc_e - acc_g) < 4.5 * se), (acc_e, acc_g, se)
  np.testing.assert_allclose(gauss["test_share"], explicit["test_share"], atol=0.01)


def test_gaussian_test_accuracy_matches_explicit_test_points():
  """The same final filters scored on explicit test points and on the exact Gaussian law
  (gram backend's Q = U G U^T, and the direct backend's Q from W): per-group accuracy
  within 4.5 standard errors of the difference (20,000 points each)."""
  cfg = SMALL.replace(method="erm", n_test=20000, n=20, d=300, sigma_d=0.2, sigma_b=0.1)
  (dp, _, _), (gp, _, _), batch, W0 = same_vectors(cfg, jax.random.key(2))
  spec = cfg.spec()
  phi = networks.bound(spec.static, spec.hypers, None)  # the paper's network: Z -> a
  data = gram.from_vectors(batch, W0, cfg.K)
  state = {"feat": gp["feat"], "c": gp["c"]}
  explicit = compiler.jit(lambda k: metrics.explicit_test_metrics(
      k, dp["W"], spec.static, spec.hypers, phi))(jax.random.key(10))
  gauss = compiler.jit(lambda k: metrics.stratified_accuracy(
      k, spec.static, spec.hypers, gram.test_outputs(state, data, spec.static, spec.hypers, phi),
      jnp.float32))(jax.random.key(11))
  direct = compiler.jit(lambda k: metrics.test_metrics(
      k, dp["W"], spec.static, spec.hypers, phi))(jax.random.key(12))
  _assert_same_accuracy_law(explicit, gauss, cfg.n_test)
  _assert_same_accuracy_law(explicit, direct, cfg.n_test)


def test_gaussian_test_law_with_unprojected_noise_and_bias():
  """Kou et al.'s knobs (noise on every coordinate, a bias, uniform init, antipodal
  features; direct backend): the Gaussian law over all d coordinates plus the bias scores
  like explicit test points."""
  from sweeps.benign import kou_base
  cfg = kou_base(d=200).replace(group_norms=(1.5,), n_test=20000, steps=40, log_every=20)
  spec = cfg.spec()
  W, _, _ = compiler.jit(lambda k: train_direct(k, spec))(jax.random.key(4))
  phi = networks.bound(spec.static, spec.hypers, None)
  explicit = compiler.jit(lambda k: metrics.explicit_test_metrics(
      k, W["W"], spec.static, spec.hypers, phi))(jax.random.key(10))
  gauss = compiler.jit(lambda k: metrics.test_metrics(
      k, W["W"], spec.static, spec.hypers, phi))(jax.random.key(11))
  _assert_same_accuracy_law(explicit, gauss, cfg.n_test)
  for acc in (explicit, gauss):  # scored against flipped labels: below the clean accuracy
    assert float(acc["test_acc"]) < float(acc["test_acc_clean"])


def test_gram_runs_vmap_over_d_like_separate_runs():
  base = Config(P=3, n=10, group_names=("common", "rare"), group_counts=(1, 2), group_masses=(0.7, 0.3), steps=40,
                log_every=20, n_test=300, method="cutmix", exact=False, backend="gram")
  cfgs = [base.replace(d=1000), base.replace(d=10 ** 5, sigma_d=0.025, sigma_b=0.005)]
  specs = [c.spec() for c in cfgs]
  assert specs[0].static == specs[1].static
  keys = jnp.stack([jax.random.key(1), jax.random.key(2)])
  stacked = jax.tree.map(lambda *x: jnp.stack(x), *specs)
  batched = compiler.jit(jax.vmap(train))(keys, stacked)
  for r in range(2):
    single = train_jit(keys[r], specs[r])
    for a, b in zip(jax.tree.leaves(jax.tree.map(lambda x: x[r], batched)),
                    jax.tree.leaves(single)):
      a, b = np.asarray(a), np.asarray(b)
      if np.issubdtype(b.dtype, np.floating):
        assert np.linalg.norm(a - b) <= 1e-5 * max(np.linalg.norm(b), 1e-30)
      else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.run_bound
def test_backends_agree_statistically_at_d_2000():
  """Reference setting at d = 2000, trained T = 500 steps (the law is the same at every T;
  T = 1500 cost 3x the time for the same check), 6 seeds per backend and method: per-group
  margins and accuracies agree within 3 standard errors of the difference of means
  (+ 0.02 for near-deterministic cells)."""
  seeds = [jax.random.key(s) for s in range(6)]
  for method in ("erm", "cutout", "cutmix"):
    out = {}
    for backend in ("direct", "gram"):
      spec = Config(method=method, backend=backend, steps=500, log_every=500).spec()
      run = compiler.jit(lambda k: train(k, spec)[2])
      ms = [run(k) for k in seeds]
      out[backend] = {k: np.array([np.asarray(m[k]) for m in ms])
                      for k in ("output_group", "margin_group", "test_acc_group", "test_acc")}
    for k in out["direct"]:
      a, b = out["direct"][k], out["gram"][k]
      se = np.sqrt(a.var(0, ddof=1) / len(seeds) + b.var(0, ddof=1) / len(seeds))
      diff = np.abs(a.mean(0) - b.mean(0))
      assert np.all(diff <= 3 * se + 0.02), (method, k, a.mean(0), b.mean(0), se)
