"""One training run as one pure function: `train(key, spec) -> (params, trajectories, metrics)`.

Two backends compute the same run: "direct" on explicit d-dimensional vectors and "gram"
on their inner products (`jaxcut.gram`, cost free of d). Full-batch gradient descent
(optax; sgd by default) for `static.steps` steps as a `lax.scan`, logging every
`log_every` steps. Randomness is derived, never threaded: from the run key, `fold_in`
gives the data (0), init (1), test set (2), augmentation (3) and later-layer init (4, for
depth > 1: `jaxcut.networks`) streams, and step t's
augmentation uses fold_in(stream 3, t). So a run's numbers do not depend on how runs are
batched, chunked or sharded.

CLI: `python -m jaxcut.train --method cutmix --preset reference [--sampled] [--FIELD=value]
--out DIR` (flags and output: `jaxcut.commands.train`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from jaxcut import coefficients, compiler, gram, metrics, model, networks
from jaxcut.config import Hypers, Spec, Static
from jaxcut.data import sample
from jaxcut.objectives import preact_objective

DATA, INIT, TEST, AUG, LAYERS = 0, 1, 2, 3, 4


def make_optimizer(static: Static, hypers: Hypers) -> optax.GradientTransformation:
  if static.optimizer == "sgd":
    return optax.sgd(hypers.eta)
  if static.optimizer == "momentum":
    return optax.sgd(hypers.eta, momentum=hypers.momentum)
  if static.optimizer == "adam":
    return optax.adam(hypers.eta)
  raise ValueError(f"unknown optimizer {static.optimizer!r}")


def train(key, spec: Spec):
  """Train one network; pure in (key, spec), jit- and vmap-able (static parts in spec's treedef).

  `static.backend` picks how: "direct" (explicit d-dimensional vectors) or "gram" (inner
  products only, cost free of d; `jaxcut.gram`). Both return the same trajectories and
  metrics; only params differ.

  Returns
    params: direct {"W": [2, m, d_in] final filters, "W0": initial filters}, at the
      compiled width Static.d (`unpadded` cuts them to the run's d); gram {"feat":
      [2, m, 2K] final feature coordinates, "c": [2, m, N] noise coefficients (Lambda w =
      Lambda w0 + sum c xi), "W0_feat": initial feature coordinates}; both with "theta",
      the final later layers (`jaxcut.networks`), when depth > 1
    trajectories, each with a leading time axis of static.n_log points t = 0, log_every, ...:
      gamma [.., 2, m, 2, K]   <w_c,j - w0_c,j, v_{s',k}>
      feature_output [.., 2, K]  s' f_W(v_{s',k})  (output on v_{s',k} as a single patch)
      feature_margin [.., 2, K]  sum_j <w_{s',j} - w_{-s',j}, v_{s',k}>
      rho_mean [.., 2, 2, G], rho_max [.., 2, 2]   (see metrics.rho_summaries)
      objective, train_loss, train_acc [..]
    metrics: test_acc, test_acc_group [G], output_group [G] and margin_group [G] (the two
      above, averaged over each group's features and signs), train_acc, train_loss,
      objective, train_share [3], test_share [3] (feature / dominant / background),
      n_train_group [G], rho_final [2, m, n, P] (0 at feature patches), span_residual
      (0 by construction in the gram backend), diverged (anything non-finite: loss,
      weights, coefficients, metrics; the float metrics are then NaN).
  """
  if spec.static.backend == "gram":
    return train_gram(key, spec)
  return train_direct(key, spec)


def descend(grad_fn, log, state0, opt, static: Static):
  """Run static.steps steps of `opt` on grad_fn(state, t); log at t = 0, log_every, ...

  The loop only snapshots the state; the logged quantities are computed after it for all
  log points at once (batched matmuls). Inside the loop they cost ~4x their standalone
  time (measured: 8.5 ms vs 2.2 ms per log point, direct backend).
  """
  def step(carry, t):
    state, opt_state = carry
    updates, opt_state = opt.update(grad_fn(state, t), opt_state, state)
    return (optax.apply_updates(state, updates), opt_state), None

  def block(carry, b):
    ts = b * static.log_every + jnp.arange(static.log_every)
    carry, _ = jax.lax.scan(step, carry, ts)
    return carry, carry[0]

  (state, _), snaps = jax.lax.scan(block, (state0, opt.init(state0)),
                                   jnp.arange(static.n_log - 1))
  first = log(state0, 0)  # apart, so that t = 0 gives exactly gamma = rho = 0
  rest = jax.vmap(log)(snaps, jnp.arange(1, static.n_log) * static.log_every)
  traj = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
  return state, traj


def _log_entry(static, hypers, out, W, W0_feat, rho, layout, index, objective,
               outputs_metrics):
  """W: the filters (direct) or their feature coordinates (gram); out: pre-activations ->
  per-patch outputs at the logged state (`networks.bound`)."""
  return {"gamma": coefficients.gamma(W[..., :2 * static.K], W0_feat, static.K),
          "feature_output": metrics.feature_outputs(W, out, static, hypers),
          "feature_margin": metrics.feature_margins(W, static, hypers),
          **metrics.rho_summaries(rho, layout, index, static),
          "objective": objective,
          "train_loss": outputs_metrics["train_loss"],
          "train_acc": outputs_metrics["train_acc"]}


def _final(static, hypers, out, W, traj, tm, test, rho, layout, index, span_residual, state):
  """The run's metrics. `diverged`: anything non-finite (trajectories, final state,
  coefficients, metrics); then every float metric is NaN, never a number that looks
  like a result (a NaN output compares as a wrong answer, so accuracy would read 0)."""
  out = {
      **test,
      "output_group": metrics.group_outputs(W, out, static, hypers),
      "margin_group": metrics.group_margins(W, static, hypers),
      **tm,
      "objective": traj["objective"][-1],
      "n_train_group": jnp.bincount(layout.group, length=static.G),
      "rho_final": coefficients.rho_full(rho, index, static.P),
      "span_residual": span_residual,
  }
  finite = jnp.array(True)
  for x in jax.tree.leaves((traj, state, out)):
    if jnp.issubdtype(x.dtype, jnp.floating):
      finite &= jnp.all(jnp.isfinite(x))
  nan = lambda x: jnp.where(finite, x, jnp.nan) if jnp.issubdtype(x.dtype, jnp.floating) else x
  return {**jax.tree.map(nan, out), "diverged": ~finite}


def train_direct(key, spec: Spec):
  """The direct backend: explicit [n, P, d] data; state {"W": [2, m, d_in]} (+ "theta")."""
  static, hypers = spec.static, spec.hypers
  K = static.K
  batch = sample(jax.random.fold_in(key, DATA), static, hypers, static.n)
  W0 = model.init(jax.random.fold_in(key, INIT), static, hypers)
  theta0 = networks.init(jax.random.fold_in(key, LAYERS), static, hypers)
  aug = jax.random.fold_in(key, AUG)
  net = networks.network(static, hypers)
  obj = preact_objective(static, hypers, net)
  d = static.d  # the coefficient decomposition leaves out the bias coordinate (bias=True)
  basis = coefficients.noise_basis(batch.replace(x=batch.x[..., :d]), K, hypers.d)

  def loss_fn(state, t):
    return obj(model.preactivations(state["W"], batch.x), state.get("theta"), batch.y,
               jax.random.fold_in(aug, t))

  def log(state, t):
    W, out = state["W"], networks.bound(static, hypers, state.get("theta"))
    return _log_entry(static, hypers, out, W, W0[..., :2 * K],
                      coefficients.rho(W[..., :d], W0[..., :d], basis, K), batch,
                      basis.index, loss_fn(state, t), metrics.train_metrics(W, batch, out))

  state0 = {"W": W0, "theta": theta0} if theta0 else {"W": W0}
  state, traj = descend(jax.grad(loss_fn), log, state0, make_optimizer(static, hypers), static)
  W, out = state["W"], networks.bound(static, hypers, state.get("theta"))
  test = metrics.test_metrics(jax.random.fold_in(key, TEST), W, static, hypers, out)
  final = _final(static, hypers, out, W, traj, metrics.train_metrics(W, batch, out), test,
                 coefficients.rho(W[..., :d], W0[..., :d], basis, K), batch, basis.index,
                 coefficients.span_residual(W[..., :d], W0[..., :d], basis, K), state)
  return {**state, "W0": W0}, traj, final


def train_gram(key, spec: Spec, data=None):
  """The gram backend (`jaxcut.gram`): state = feature coordinates + noise coefficients
  (+ "theta", the later layers, whose gradient is the plain one: they have no d axis).

  data: optional `gram.GramData` to train on (e.g. `gram.from_vectors` of the direct
  backend's batch, for checks); by default drawn from the run key.
  """
  static, hypers = spec.static, spec.hypers
  if data is None:
    data = gram.sample(jax.random.fold_in(key, DATA), jax.random.fold_in(key, INIT),
                       static, hypers)
  theta0 = networks.init(jax.random.fold_in(key, LAYERS), static, hypers)
  aug = jax.random.fold_in(key, AUG)
  net = networks.network(static, hypers)
  obj = preact_objective(static, hypers, net)
  y, roles = data.layout.y, data.layout.roles

  def loss_of_preacts(Z, theta, t):
    return obj(Z, theta, y, jax.random.fold_in(aug, t))

  def grad_fn(state, t):
    gZ, g_theta = jax.grad(loss_of_preacts, argnums=(0, 1))(
        gram.preactivations(state, data), state.get("theta"), t)
    step = gram.descent_direction(gZ, data)
    return {**step, "theta": g_theta} if "theta" in state else step

  def log(state, t):
    Z = gram.preactivations(state, data)
    out = networks.bound(static, hypers, state.get("theta"))
    return _log_entry(static, hypers, out, state["feat"], data.W0_feat, gram.rho(state, data),
                      data.layout, data.index, loss_of_preacts(Z, state.get("theta"), t),
                      metrics.output_metrics(out(Z), y, roles))

  state, traj = descend(grad_fn, log, gram.init_state(data, theta0),
                        make_optimizer(static, hypers), static)
  out = networks.bound(static, hypers, state.get("theta"))
  a = out(gram.preactivations(state, data))
  test = metrics.stratified_accuracy(
      jax.random.fold_in(key, TEST), static, hypers,
      gram.test_outputs(state, data, static, hypers, out), data.gram.dtype,
      batch=gram.TEST_BATCH)
  final = _final(static, hypers, out, state["feat"], traj, metrics.output_metrics(a, y, roles),
                 test, gram.rho(state, data), data.layout, data.index,
                 jnp.zeros((), data.gram.dtype), state)
  return {**state, "W0_feat": data.W0_feat}, traj, final


def unpadded(params: dict, d: int, bias: bool) -> dict:
  """A direct run's params at the run's own d (coordinates d.. of the compiled width are
  zero padding), the bias column kept; gram params, which have no d axis, as they are."""
  def cut(W):
    return jnp.concatenate([W[..., :d], W[..., -1:]], -1) if bias else W[..., :d]
  return {k: cut(v) if k in ("W", "W0") else v for k, v in params.items()}


def log_steps(static: Static):
  """The step number of each logged point."""
  return jnp.arange(static.n_log) * static.log_every


@functools.cache
def _train_program(xla: str):
  del xla  # the cache key: `compiler.choice()` when the program is built
  return compiler.jit(train)


def train_jit(key, spec: Spec):
  """`train`, jitted with jaxcut's compiler options (built at first call, once the backend
  is chosen)."""
  return _train_program(compiler.choice())(key, spec)
