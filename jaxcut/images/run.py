"""One real-data training run as one pure function of (key, hyperparameters), vmappable
over seeds (docs/realdata.md).

    fit(key, images, labels, train_idx, setup, hyper) -> (variables, epoch_loss [E])

* Streams: init = fold_in(key, 0), batch order = fold_in(key, 1) (epoch e permutes the
  training indices with fold_in(order, e)), augmentation = fold_in(key, 2) (step t uses
  fold_in(aug, t)). So a run's numbers do not depend on which runs share its vmap.
* Steps: E epochs of floor(n / B) minibatches (the last partial batch dropped), one
  `lax.scan` over epochs around one over steps.
* Objective: cross-entropy -sum_k t_k log softmax(f(x))_k against the (possibly mixed)
  target t of the augmented batch, averaged over the batch.
* Optimiser (optax): SGD with heavy-ball momentum on the gradient plus weight_decay x
  weights, learning rate lr (1 + cos(pi t / T)) / 2 over the T steps (cosine to 0).
* Batch normalisation (ResNet-18) uses batch statistics in training and the running
  averages (momentum 0.9) for prediction.
"""

from __future__ import annotations

import dataclasses

import flax
import jax
import jax.numpy as jnp
import optax

from jaxcut.images import augment
from jaxcut.images.models import make


@flax.struct.dataclass
class Hyper:
  """Traced: one compiled program serves every value."""
  lr: float
  momentum: float
  weight_decay: float
  cutmix_alpha: float
  cutmix_prob: float


@dataclasses.dataclass(frozen=True)
class Setup:
  """Static: shapes and code paths."""
  model: str
  width: int
  classes: int
  method: str
  epochs: int
  batch: int
  n_train: int
  cutout_size: int = 4
  patch_grid: int = 2
  patch_C: int = 1

  @property
  def steps_per_epoch(self) -> int:
    return self.n_train // self.batch


def augment_batch(setup: Setup, hyper: Hyper, key, x, t):
  m = setup.method
  if m == "erm":
    return x, t
  if m == "cutout":
    return augment.cutout(key, x, t, setup.cutout_size)
  if m == "cutmix":
    return augment.cutmix(key, x, t, hyper.cutmix_alpha, hyper.cutmix_prob)
  if m == "patch_cutout":
    return augment.patch_cutout(key, x, t, setup.patch_grid, setup.patch_C)
  if m == "patch_cutmix":
    return augment.patch_cutmix(key, x, t, setup.patch_grid)
  raise ValueError(m)


def init(key, setup: Setup, example):
  return make(setup.model, setup.classes, setup.width).init(key, example[:1], train=False)


def fit(key, images, labels, train_idx, setup: Setup, hyper: Hyper):
  """Train from scratch on images[train_idx]; returns (variables, mean loss per epoch)."""
  net = make(setup.model, setup.classes, setup.width)
  k_init, k_order, k_aug = (jax.random.fold_in(key, i) for i in range(3))
  variables = net.init(k_init, images[:1], train=False)
  params = variables["params"]
  state = {k: v for k, v in variables.items() if k != "params"}
  spe, total = setup.steps_per_epoch, setup.epochs * setup.steps_per_epoch
  schedule = lambda t: hyper.lr * 0.5 * (1.0 + jnp.cos(jnp.pi * t / total))
  tx = optax.chain(optax.add_decayed_weights(hyper.weight_decay),
                   optax.sgd(schedule, momentum=hyper.momentum))
  opt = tx.init(params)
  onehot = jax.nn.one_hot(labels, setup.classes, dtype=images.dtype)

  def loss_fn(params, state, x, t):
    if state:
      logits, new_state = net.apply({"params": params, **state}, x, train=True,
                                    mutable=list(state))
    else:
      logits, new_state = net.apply({"params": params}, x, train=True), {}
    return optax.softmax_cross_entropy(logits, t).mean(), new_state

  def step(carry, inp):
    params, state, opt = carry
    t_global, idx = inp
    x, t = augment_batch(setup, hyper, jax.random.fold_in(k_aug, t_global),
                         images[idx], onehot[idx])
    (loss, state), g = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, t)
    updates, opt = tx.update(g, opt, params)
    return (optax.apply_updates(params, updates), state, opt), loss

  def epoch(carry, e):
    perm = jax.random.permutation(jax.random.fold_in(k_order, e), train_idx)
    idx = perm[:spe * setup.batch].reshape(spe, setup.batch)
    carry, losses = jax.lax.scan(step, carry, (e * spe + jnp.arange(spe), idx))
    return carry, losses.mean()

  (params, state, _), losses = jax.lax.scan(epoch, (params, state, opt),
                                            jnp.arange(setup.epochs))
  return {"params": params, **state}, losses


def predict(variables, images, setup: Setup, chunk: int = 1024):
  """[N] predicted classes, in chunks of `chunk` images (lax.map, fixed shapes)."""
  net = make(setup.model, setup.classes, setup.width)
  n = images.shape[0]
  chunk = min(chunk, n)
  pad = -n % chunk
  x = jnp.concatenate([images, jnp.zeros((pad,) + images.shape[1:], images.dtype)])
  x = x.reshape((-1, chunk) + images.shape[1:])
  pred = jax.lax.map(lambda b: jnp.argmax(net.apply(variables, b, train=False), -1), x)
  return pred.reshape(-1)[:n]


def fit_predict(key, images, labels, train_idx, eval_images, setup: Setup, hyper: Hyper):
  """(predictions on eval_images [M], predictions on images[train_idx] [n], epoch loss)."""
  variables, losses = fit(key, images, labels, train_idx, setup, hyper)
  return (predict(variables, eval_images, setup), predict(variables, images[train_idx], setup),
          losses)

