"""train(): coefficient decomposition, determinism, vmap == loop, the paper's direction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcut import coefficients, compiler
from jaxcut.config import Config
from jaxcut.data import sample
from jaxcut.training import DATA, train, train_jit, unpadded

TINY = Config(P=3, d=200, n=20, group_counts=(1, 2, 2), steps=60, log_every=20, n_test=200)
VARIANTS = [dict(method="erm"), dict(method="cutout"), dict(method="cutmix"),
            dict(method="cutout", exact=False), dict(method="cutmix", exact=False, mixing="beta",
                                                     mix_a=0.5),
            dict(method="cutmix", optimizer="momentum", eta=0.3, m=2, P=4, C=3)]


@pytest.mark.parametrize("kw", VARIANTS, ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_weights_decompose_into_gamma_and_rho(kw):
  cfg = TINY.replace(**kw)
  spec = cfg.spec()
  key = jax.random.key(7)
  params, traj, metrics = train_jit(key, spec)
  batch = sample(jax.random.fold_in(key, DATA), spec.static, spec.hypers, cfg.n)
  W, W0 = params["W"], params["W0"]
  assert float(jnp.linalg.norm(W - W0)) > 1e-3  # it learned something
  recon = coefficients.reconstruct(W0, traj["gamma"][-1], metrics["rho_final"], batch, cfg.K)
  rel = jnp.linalg.norm(recon - W) / jnp.linalg.norm(W)
  assert rel < 1e-4, rel
  assert metrics["span_residual"] < 1e-4
  # rho is 0 on feature patches, and gamma at t=0 is 0
  fp = np.asarray(batch.feature_patch)
  assert np.all(np.asarray(metrics["rho_final"])[:, :, np.arange(cfg.n), fp] == 0)
  assert np.all(np.asarray(traj["gamma"][0]) == 0)
  assert not bool(metrics["diverged"])


def test_adam_leaves_the_span_and_says_so():
  cfg = TINY.replace(optimizer="adam", eta=0.01)
  _, _, metrics = train_jit(jax.random.key(0), cfg.spec())
  assert metrics["span_residual"] > 1e-2


def test_output_shapes():
  cfg = TINY.replace(method="cutmix", m=2)
  params, traj, metrics = train_jit(jax.random.key(0), cfg.spec())
  T = cfg.steps // cfg.log_every + 1
  assert params["W"].shape == (2, 2, cfg.static().d) and cfg.static().d > cfg.d
  assert not np.asarray(params["W"])[..., cfg.d:].any()  # the padding stays zero
  assert unpadded(params, cfg.d, cfg.bias)["W"].shape == (2, 2, cfg.d)
  assert traj["gamma"].shape == (T, 2, 2, 2, cfg.K)
  assert traj["feature_output"].shape == traj["feature_margin"].shape == (T, 2, cfg.K)
  assert traj["rho_mean"].shape == (T, 2, 2, 3) and traj["rho_max"].shape == (T, 2, 2)
  assert traj["objective"].shape == traj["train_loss"].shape == (T,)
  assert metrics["test_acc_group"].shape == metrics["margin_group"].shape == (3,)
  assert metrics["output_group"].shape == (3,)
  assert metrics["rho_final"].shape == (2, 2, cfg.n, cfg.P)
  np.testing.assert_allclose(metrics["train_share"].sum(), 1, rtol=1e-5)
  np.testing.assert_allclose(metrics["test_share"].sum(), 1, rtol=1e-5)
  assert int(metrics["n_train_group"].sum()) == cfg.n


def test_same_key_same_bits():
  spec = TINY.replace(method="cutmix", exact=False).spec()
  a = train_jit(jax.random.key(3), spec)
  b = train_jit(jax.random.key(3), spec)
  jax.tree.map(np.testing.assert_array_equal, a, b)
  c = train_jit(jax.random.key(4), spec)
  assert not np.array_equal(a[0]["W"], c[0]["W"])


def assert_tree_close(a, b, rtol):
  """Leafwise ||a - b|| <= rtol * ||b|| (bools and ints exactly)."""
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    x, y = np.asarray(x), np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
      np.testing.assert_array_equal(x, y)
    else:
      assert np.linalg.norm(x - y) <= rtol * max(np.linalg.norm(y), 1e-30), (x, y)


@pytest.mark.parametrize("method", ["erm", "cutmix"])
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-9), ("float32", 1e-5)])
def test_vmap_over_configs_equals_separate_runs(method, dtype, rtol):
  """The same runs batched and one at a time agree to rounding (float32 matmuls in a batch
  may sum in another order, so float32 is checked to 1e-5, float64 to 1e-9)."""
  with jax.enable_x64(dtype == "float64"):
    base = TINY.replace(method=method, exact=False, dtype=dtype)
    cfgs = [base.replace(sigma_d=0.3, eta=0.5),
            base.replace(sigma_d=0.6, eta=1.0, group_masses=(0.5, 0.3, 0.2))]
    specs = [c.spec() for c in cfgs]
    keys = jnp.stack([jax.random.key(1), jax.random.key(2)])
    stacked = jax.tree.map(lambda *x: jnp.stack(x), *specs)
    batched = compiler.jit(jax.vmap(train))(keys, stacked)
    for r in range(2):
      single = train_jit(keys[r], specs[r])
      batched_r = jax.tree.map(lambda x: x[r], batched)
      _, _, mb = batched_r
      _, _, ms = single
      # span_residual is rounding noise itself (~1e-7): compare it absolutely.
      assert abs(float(mb.pop("span_residual")) - float(ms.pop("span_residual"))) < 1e-5
      assert_tree_close(batched_r, single, rtol)


def test_feature_output_and_margin_against_explicit_loops():
  """output = s f_W(v_{s,k}) (the network on the feature alone); margin = sum_j <w_{s,j} -
  w_{-s,j}, v_{s,k}>; per group: mean over the group's features and both signs. Checked
  with explicit vectors v_{s,k} and loops, m = 2, and shown to differ (they are not the
  same quantity)."""
  from jaxcut import model
  cfg = TINY.replace(method="cutout", m=2, steps=200, log_every=100)
  spec = cfg.spec()
  params, traj, metrics = train_jit(jax.random.key(2), spec)
  W = np.asarray(params["W"], np.float64)
  phi = model.activation(spec.static, spec.hypers)
  K, row = cfg.K, {1: 0, -1: 1}
  out, mar = np.zeros((2, K)), np.zeros((2, K))
  for s in (1, -1):
    for k in range(K):
      v = np.zeros(W.shape[-1])  # the compiled width
      v[k if s == 1 else K + k] = 1.0
      f = sum(float(phi(W[0, j] @ v)) - float(phi(W[1, j] @ v)) for j in range(cfg.m))
      out[row[s], k] = s * f
      own, other = W[row[s]], W[row[-s]]
      mar[row[s], k] = sum((own[j] - other[j]) @ v for j in range(cfg.m))
  np.testing.assert_allclose(traj["feature_output"][-1], out, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(traj["feature_margin"][-1], mar, rtol=1e-5, atol=1e-6)
  groups = np.repeat(np.arange(3), cfg.group_counts)
  for g in range(3):
    np.testing.assert_allclose(metrics["output_group"][g], out[:, groups == g].mean(), rtol=1e-5)
    np.testing.assert_allclose(metrics["margin_group"][g], mar[:, groups == g].mean(), rtol=1e-5)
  assert np.abs(out - mar).max() > 1e-3


def test_trajectory_accuracy_ends_where_metrics_end():
  _, traj, metrics = train_jit(jax.random.key(0), TINY.spec())
  np.testing.assert_allclose(traj["train_loss"][-1], metrics["train_loss"], rtol=1e-6)
  np.testing.assert_allclose(traj["train_acc"][-1], metrics["train_acc"])


@pytest.mark.slow
@pytest.mark.run_bound
def test_paper_direction_on_reference_setting():
  """Rare/common feature-output ratio ERM < Cutout < CutMix; CutMix beats ERM on rare test
  points.

  The reference setting, 4 seeds each, exact objectives.
  """
  seeds = jnp.stack([jax.random.key(s) for s in range(4)])
  ratio, rare_acc = {}, {}
  for method in ("erm", "cutout", "cutmix"):
    spec = Config(method=method, log_every=1000).spec()
    run = compiler.jit(lambda k: train(k, spec)[2])
    ms = [run(k) for k in seeds]
    margins = np.array([m["output_group"] for m in ms])
    ratio[method] = np.mean(margins[:, 1] / margins[:, 0])
    rare_acc[method] = np.mean([m["test_acc_group"][1] for m in ms])
  assert ratio["erm"] < ratio["cutout"] < ratio["cutmix"], ratio
  assert rare_acc["cutmix"] > rare_acc["erm"], rare_acc


def test_float32_runs_do_not_depend_on_the_x64_flag():
  spec = TINY.replace(method="cutmix", exact=False, mixing="beta").spec()
  a = train_jit(jax.random.key(5), spec)
  with jax.enable_x64(True):
    b = compiler.jit(train)(jax.random.key(5), spec)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7), a, b)
