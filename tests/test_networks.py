"""The network family (jaxcut.networks): each network against an explicit loop, the
pre-activation objectives against the paper's hand-written path and against brute force
that builds every augmented input, whole runs on both backends."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcut import model, networks, objectives
from jaxcut.config import Config, ConfigError
from jaxcut.data import sample
from jaxcut.training import train

from conftest import assert_float_columns_close
from test_objectives import cutmix_inputs, cutout_inputs, net as paper_net

NETS = [dict(network="cnn", depth=3, hidden=4), dict(network="patchmix", depth=2, hidden=4),
        dict(network="patchmix", depth=3, hidden=6)]
ids = lambda kw: "-".join(str(v) for v in kw.values())


def ref_network(theta, Z, phi, network, scale=1.0):
  """The network written out with loops over units and patches (numpy, float64)."""
  Z = np.asarray(Z, np.float64)
  two, m, n, P = Z.shape
  out = np.zeros((n, P))
  for i in range(n):
    h = [[float(phi(Z[c, j, i, p])) for c in range(two) for j in range(m)] for p in range(P)]
    for l, V in enumerate(theta["V"]):
      V = np.asarray(V, np.float64)
      if network == "patchmix":
        T = np.asarray(theta["T"][l], np.float64)
        h = [[sum(T[p, q] * h[q][k] for q in range(P)) for k in range(len(h[0]))]
             for p in range(P)]
      h = [[float(phi(sum(V[u, k] * h[p][k] for k in range(len(h[p])))))
            for u in range(V.shape[0])] for p in range(P)]
    for p in range(P):
      H = len(h[p])
      out[i, p] = scale * (sum(h[p][:H // 2]) - sum(h[p][H // 2:]))
  return out


def setup(P=3, m=1, seed=0, **kw):
  cfg = Config(P=P, d=16, n=4, group_counts=(1, 2), group_masses=(0.7, 0.3),
               group_names=("a", "b"), m=m, alpha=0.3, sigma_b=0.3, sigma_d=0.8,
               dtype="float64", **kw)
  spec = cfg.spec()
  batch = sample(jax.random.key(seed), spec.static, spec.hypers, cfg.n)
  W = 0.3 * jax.random.normal(jax.random.key(seed + 1), (2, m, 16), jnp.float64)
  theta = networks.init(jax.random.key(seed + 2), spec.static, spec.hypers)
  return cfg, spec, batch.x, batch.y, W, theta


@pytest.mark.parametrize("kw", NETS + [dict(network="cnn", depth=2, activation="polyrelu",
                                            q=2.5, output_scale="1/P")], ids=ids)
def test_network_equals_an_explicit_loop(kw):
  with jax.enable_x64(True):
    cfg, spec, X, y, W, theta = setup(m=2, **kw)
    phi = model.activation(spec.static, spec.hypers, scaled=False)
    got = networks.network(spec.static, spec.hypers)(theta, model.preactivations(W, X))
    want = ref_network(theta, model.preactivations(W, X), phi, cfg.network,
                       spec.static.scale)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)


def test_depth_1_is_the_papers_network_whatever_the_family():
  with jax.enable_x64(True):
    cfg, spec, X, y, W, theta = setup(network="patchmix", depth=1, hidden=4)
    assert theta == {} and spec.static == setup()[1].static  # one program for both
    a = networks.network(spec.static, spec.hypers)(theta, model.preactivations(W, X))
    ref = model.patch_outputs(W, X, model.activation(spec.static, spec.hypers))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(ref))


Z_CASES = [("cutout", dict(C=1)), ("cutout", dict(C=2)), ("cutmix", dict(mixing="uniform")),
           ("cutmix", dict(mixing="beta", mix_a=0.6)), ("cutmix", dict(mixing="fixed", mix_a=0.5))]


@pytest.mark.parametrize("method,kw", Z_CASES, ids=lambda x: x if isinstance(x, str) else ids(x))
@pytest.mark.parametrize("exact", [True, False])
def test_z_level_objectives_with_the_papers_network_equal_the_hand_written_path(method, kw,
                                                                               exact):
  """Cutout and CutMix built on Z (what patchmix uses) with the paper's network == the fast
  per-patch objectives with their hand-written pair gradient: value and W-gradient,
  float64, rtol 1e-9, the same draws."""
  with jax.enable_x64(True):
    cfg, spec, X, y, W, _ = setup(P=4, m=2, method=method, exact=exact, **kw)
    out = paper_net(model.activation(spec.static, spec.hypers))
    h, key = spec.hypers, jax.random.key(5)
    if method == "cutout":
      fast = objectives.cutout_exact if exact else objectives.cutout_sampled
      fz = objectives.cutout_exact_z if exact else objectives.cutout_sampled_z
      args = (h.C,) if exact else (h.C, key)
    else:
      fast = objectives.cutmix_exact if exact else objectives.cutmix_sampled
      fz = objectives.cutmix_exact_z if exact else objectives.cutmix_sampled_z
      args = (cfg.mixing, h.mix_a) if exact else (cfg.mixing, h.mix_a, key)
    a_path = lambda W: fast(out(model.preactivations(W, X)), y, *args)
    z_path = lambda W: fz(model.preactivations(W, X), y, *args, out)
    va, ga = jax.value_and_grad(a_path)(W)
    vz, gz = jax.value_and_grad(z_path)(W)
    np.testing.assert_allclose(float(vz), float(va), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(gz), np.asarray(ga), rtol=1e-9, atol=1e-13)


def mixup_inputs(X, mixing, a):
  """Every pair (i, j) at every quadrature node, built as lam X_i + (1 - lam) X_j."""
  lam, w = objectives.mixup_nodes(mixing, a, jnp.float64)
  n = X.shape[0]
  inputs, first, second, weight, lams = [], [], [], [], []
  for q, (l, wq) in enumerate(zip(np.asarray(lam), np.asarray(w))):
    for i in range(n):
      for j in range(n):
        inputs.append(l * np.asarray(X[i]) + (1 - l) * np.asarray(X[j]))
        first.append(i)
        second.append(j)
        weight.append(wq / n ** 2)
        lams.append(l)
  return (np.stack(inputs), np.array(first), np.array(second), np.array(weight),
          np.array(lams))


def brute_force(cfg, spec, X, y, W, theta):
  """The exact objective of cfg's method over explicitly built augmented inputs, with
  the network evaluated on each input (f = sum of its per-patch outputs)."""
  net = networks.network(spec.static, spec.hypers)
  f = lambda Xs: np.asarray(net(theta, model.preactivations(W, jnp.asarray(Xs))).sum(-1))
  loss = lambda z: np.log1p(np.exp(-z))
  y = np.asarray(y)
  if cfg.method == "erm":
    return float(np.mean(loss(y * f(X))))
  if cfg.method == "cutout":
    inputs, owner, w = cutout_inputs(X, cfg.C)
    return float(np.sum(w * loss(y[owner] * f(inputs))))
  if cfg.method == "cutmix":
    inputs, i, j, w, lam = cutmix_inputs(X, cfg.mixing, cfg.mix_a)
  else:
    inputs, i, j, w, lam = mixup_inputs(X, cfg.mixing, cfg.mix_a)
  F = f(inputs)
  return float(np.sum(w * (lam * loss(y[i] * F) + (1 - lam) * loss(y[j] * F))))


@pytest.mark.parametrize("kw", NETS, ids=ids)
@pytest.mark.parametrize("method,mkw", [("erm", {}), ("cutout", dict(C=1)),
                                        ("cutmix", dict(mixing="beta", mix_a=0.7)),
                                        ("mixup", dict(mixing="beta", mix_a=0.4))],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_exact_objectives_equal_brute_force_for_every_network(kw, method, mkw):
  with jax.enable_x64(True):
    cfg, spec, X, y, W, theta = setup(m=2, method=method, **kw, **mkw)
    net = networks.network(spec.static, spec.hypers)
    obj = objectives.preact_objective(spec.static, spec.hypers, net)
    got = float(obj(model.preactivations(W, X), theta, y, jax.random.key(0)))
    np.testing.assert_allclose(got, brute_force(cfg, spec, X, y, W, theta), rtol=1e-9)


@pytest.mark.parametrize("method", ["cutout", "cutmix", "mixup"])
def test_sampled_objectives_average_to_the_exact_ones_for_patchmix(method):
  """Over 4000 draws, the sampled objective's mean (value and gradient in W and theta)
  is the exact one within 5 standard errors."""
  with jax.enable_x64(True):
    cfg, spec, X, y, W, theta = setup(m=1, method=method, network="patchmix", depth=2,
                                      hidden=4)
    net = networks.network(spec.static, spec.hypers)
    Z = lambda W: model.preactivations(W, X)
    exact = objectives.preact_objective(spec.static, spec.hypers, net)
    sampled = objectives.preact_objective(cfg.replace(exact=False).static(), spec.hypers, net)
    ve, ge = jax.value_and_grad(lambda p: exact(Z(p[0]), p[1], y, None))((W, theta))
    keys = jax.random.split(jax.random.key(1), 4000)
    vs, gs = jax.vmap(jax.value_and_grad(lambda p, k: sampled(Z(p[0]), p[1], y, k)),
                      in_axes=(None, 0))((W, theta), keys)
    for e, s in zip(jax.tree.leaves((ve, ge)), jax.tree.leaves((vs, gs))):
      s = np.asarray(s)
      se = s.std(0) / math.sqrt(len(s)) + 1e-12
      assert np.all(np.abs(s.mean(0) - np.asarray(e)) <= 5 * se + 1e-9)


# the wiring on each backend; every method, exact and sampled, is compared at the
# objective level above
RUN_CASES = [dict(method="cutout", C=1, backend="direct"), dict(method="cutmix", backend="gram")]


@pytest.mark.parametrize("kw", RUN_CASES, ids=ids)
def test_a_run_on_the_z_level_path_equals_the_papers_fast_run(monkeypatch, kw):
  """A whole run with the paper's network, its Cutout / CutMix computed on Z (as patchmix's
  are) instead of on the per-patch outputs: every trajectory and metric, float64, 1e-9."""
  with jax.enable_x64(True):
    cfg = Config(P=3, d=60, n=8, group_names=("common", "rare"), group_counts=(1, 2),
                 group_masses=(0.7, 0.3), steps=30, log_every=10, n_test=200,
                 sigma_d=0.5, sigma_b=0.2, dtype="float64", **kw)
    spec = cfg.spec()
    fast = jax.jit(lambda k: train(k, spec))(jax.random.key(3))
    monkeypatch.setattr(networks, "per_patch", lambda static: False)
    z = jax.jit(lambda k: train(k, spec))(jax.random.key(3))
    for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(z)):
      a, b = np.asarray(a), np.asarray(b)
      if a.dtype.kind == "f":
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(a).max()))
      else:
        np.testing.assert_array_equal(b, a)


def test_activations_relu_q_and_polyrelu():
  cfg = Config(activation="polyrelu", r=0.5, q=3.0)
  spec = cfg.spec()
  phi = model.activation(spec.static, spec.hypers)
  z = np.array([-1.0, 0.0, 0.25, 0.5, 2.0])
  want = [0.0, 0.0, 0.25 ** 3 / (3 * 0.5 ** 2), 0.5 ** 3 / (3 * 0.5 ** 2), 2.0 - (2 / 3) * 0.5]
  np.testing.assert_allclose(np.asarray(phi(z)), want, rtol=1e-6)
  g = jax.vmap(jax.grad(phi))(jnp.array([0.5 - 1e-4, 0.5 + 1e-4, -1e-4, 1e-4]))
  np.testing.assert_allclose(np.asarray(g), [1, 1, 0, 0], atol=2e-3)  # C^1 at r and 0
  spec = Config(activation="relu_q", q=3.0).spec()
  phi = model.activation(spec.static, spec.hypers)
  np.testing.assert_allclose(np.asarray(phi(z)), np.maximum(z, 0) ** 3, rtol=1e-6)


@pytest.mark.parametrize("kw,field", [
    (dict(network="resnet"), "network"), (dict(depth=0), "depth"), (dict(depth=9), "depth"),
    (dict(hidden=3), "hidden"), (dict(gain=0.0), "gain"), (dict(q=0.5), "q"),
    (dict(depth=2, bias=True), "bias"), (dict(network="patchmix", depth=2, n=5000, P=4,
                                              method="cutmix", backend="gram"), "n")])
def test_bad_network_settings_name_their_field(kw, field):
  from jaxcut.engine import check_fits
  with pytest.raises(ConfigError) as e:
    cfg = Config(**kw).validate()
    check_fits(cfg)
  assert e.value.args[0].startswith(f"{field}=")


def test_deeper_networks_vmapped_chunked_and_alone_agree(tmp_path):
  """A sweep over the family (cnn with exact CutMix, patchmix with sampled CutMix, depth 2),
  float64: looped == vmapped in chunks of 2 == `train_jit` alone, 1e-9."""
  from jaxcut import grid as grid_mod
  from jaxcut.driver import run_sweep
  from jaxcut.training import train_jit
  base = grid_mod.load("smoke").base.replace(steps=20, log_every=10, dtype="float64",
                                             hidden=4, depth=2, method="cutmix")
  g = grid_mod.Grid(name="nets", base=base, seeds=2,
                    points=({"network": "cnn", "exact": True},
                            {"network": "patchmix", "exact": False}))
  with jax.enable_x64(True):
    a = run_sweep(g, str(tmp_path / "loop"), width=1, quiet=True)
    b = run_sweep(g, str(tmp_path / "vmap"), width=2, chunk=2, quiet=True)
    run = g.runs()[3]  # patchmix, sampled, seed 1
    _, _, m = train_jit(jax.random.key(run.seed), run.config.spec())
  assert a.rows[3]["network"] == "patchmix" and a.rows[3]["depth"] == 2
  np.testing.assert_allclose(a.rows[3]["test_acc"], m["test_acc"], rtol=1e-9)
  np.testing.assert_allclose(a.rows[3]["output_rare"], m["output_group"][1], rtol=1e-9)
  assert_float_columns_close(a.rows, b.rows, 1e-9, 1e-12)
