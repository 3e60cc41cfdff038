"""Image classifiers in flax linen (docs/realdata.md).

linen, not nnx: a linen module is a pair of pure functions, `init(key, x) -> variables`
and `apply(variables, x) -> logits`, over plain pytrees, so a whole training run stays
one pure function of (key, hyperparameters) and `jax.vmap` over seeds applies to it
unchanged, as in the rest of jaxcut; nnx modules are mutable objects that need
`nnx.split`/`nnx.vmap` to do the same.

* `SmallCNN` (CPU-sized): conv 3x3 (c) - ReLU - conv 3x3 (2c) - ReLU - 2x2 average pool -
  dense (classes). No normalisation layers.
* `ResNet18`, CIFAR-style (He et al. 2016, as used for CIFAR-10 by DeVries & Taylor and
  Yun et al.): 3x3 stem conv of width w without max-pool, four stages of two basic blocks
  (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2; 1x1 projection shortcuts where the shape
  changes), batch normalisation, global average pool, dense. w = 64 is the usual net
  (11.2M parameters); smaller w for tests.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

MODELS = ("small_cnn", "resnet18")


def patches3x3(x):
  """[B, H, W, C] -> [B, H, W, 9C]: each pixel's 3x3 neighbourhood (zero padded), ordered
  (row offset, column offset, channel), as nn.Conv's kernel [3, 3, C, F] is."""
  H, W = x.shape[1:3]
  p = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  return jnp.concatenate([p[:, i:i + H, j:j + W] for i in range(3) for j in range(3)], -1)


class Conv3x3(nn.Module):
  """A 3x3 'SAME' convolution with bias, computed as patches @ kernel: the same function
  as nn.Conv(features, (3, 3)), but a matrix product, which XLA on CPU runs several times
  faster than a small convolution, and which stays a (batched) matrix product under vmap
  over seeds instead of becoming a grouped convolution."""
  features: int

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (3, 3, c, self.features))
    bias = self.param("bias", nn.initializers.zeros, (self.features,))
    return patches3x3(x) @ kernel.reshape(9 * c, self.features) + bias


class SmallCNN(nn.Module):
  classes: int
  width: int = 16

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = nn.relu(Conv3x3(self.width)(x))
    x = nn.relu(Conv3x3(2 * self.width)(x))
    x = nn.avg_pool(x, (2, 2), (2, 2))
    return nn.Dense(self.classes)(x.reshape(x.shape[0], -1))


class BasicBlock(nn.Module):
  width: int
  stride: int

  @nn.compact
  def __call__(self, x, train: bool):
    norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9)
    y = nn.Conv(self.width, (3, 3), (self.stride, self.stride), use_bias=False)(x)
    y = nn.relu(norm()(y))
    y = nn.Conv(self.width, (3, 3), use_bias=False)(y)
    y = norm()(y)
    if self.stride != 1 or x.shape[-1] != self.width:
      x = nn.Conv(self.width, (1, 1), (self.stride, self.stride), use_bias=False)(x)
      x = norm()(x)
    return nn.relu(x + y)


class ResNet18(nn.Module):
  classes: int
  width: int = 64
  blocks: Sequence[int] = (2, 2, 2, 2)

  @nn.compact
  def __call__(self, x, train: bool = True):
    x = nn.Conv(self.width, (3, 3), use_bias=False)(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
    for stage, n in enumerate(self.blocks):
      for b in range(n):
        x = BasicBlock(self.width * 2 ** stage, 2 if (stage and not b) else 1)(x, train)
    return nn.Dense(self.classes)(jnp.mean(x, axis=(1, 2)))


def make(name: str, classes: int, width: int) -> nn.Module:
  if name == "small_cnn":
    return SmallCNN(classes, width)
  if name == "resnet18":
    return ResNet18(classes, width)
  raise ValueError(name)
