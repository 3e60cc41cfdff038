"""Image augmentations in pure JAX: fixed shapes, keyed, vmappable (docs/realdata.md).

Images are a batch x [B, H, W, C] (already normalised, so a zeroed pixel is the mean
pixel); targets t [B, K] are label distributions (one-hot, or mixed by CutMix). Every
augmentation is split into a draw (key -> the random choices, small integer/float
arrays) and an application (choices -> images, targets), so the slow references in
tests/test_images.py can apply the same draws with explicit loops.

* Cutout (DeVries & Taylor 2017): per image, a `size` x `size` square centred at a
  uniform pixel (cy, cx) is zeroed; it is clipped at the border, so near an edge less
  than size^2 pixels go. Rows cy - size//2 <= r < cy - size//2 + size, likewise columns.
* CutMix (Yun et al. 2019, their reference code): per batch, lam ~ Beta(alpha, alpha),
  one box of side (floor(H sqrt(1 - lam)), floor(W sqrt(1 - lam))) centred at a uniform
  pixel and clipped; every image i takes the box from image perm(i) (perm a uniform
  permutation of the batch), and its target becomes lam' t_i + (1 - lam') t_perm(i) with
  lam' = 1 - (box area after clipping) / (H W), the area actually kept. With probability
  1 - prob the batch is left as it is.
* Patch Cutout (the paper's Cutout on images): the image is a g x g grid of P = g^2
  patches; per image, C of the P patches, uniform among the C-subsets, are zeroed.
* Patch CutMix (the paper's CutMix on images): per image i a partner j uniform on the
  batch (with replacement, j = i allowed, as in the simulation's exact sum) and a subset
  S of patches with |S| uniform on {0, ..., P} and S uniform given its size; image i
  keeps its patches in S and takes j's elsewhere; target lam t_i + (1 - lam) t_j with
  lam = |S| / P.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

METHODS = ("erm", "cutout", "cutmix", "patch_cutout", "patch_cutmix")


# ------------------------------------------------------------------------------- masks

def box_mask(H: int, W: int, y0, y1, x0, x1) -> jax.Array:
  """[H, W] bool: y0 <= row < y1 and x0 <= col < x1 (bounds may lie outside)."""
  r = jnp.arange(H)[:, None]
  c = jnp.arange(W)[None, :]
  return (r >= y0) & (r < y1) & (c >= x0) & (c < x1)


def patch_of_pixel(H: int, W: int, g: int) -> jax.Array:
  """[H, W] int: the patch index (row-major on the g x g grid) of every pixel."""
  r = (jnp.arange(H) * g // H)[:, None]
  c = (jnp.arange(W) * g // W)[None, :]
  return r * g + c


def pixel_mask(per_patch, H: int, W: int, g: int) -> jax.Array:
  """[B, P] per-patch values -> [B, H, W, 1]: each pixel takes its patch's value."""
  B = per_patch.shape[0]
  pix = jnp.broadcast_to(patch_of_pixel(H, W, g).reshape(1, -1), (B, H * W))
  return jnp.take_along_axis(per_patch, pix, axis=1).reshape(B, H, W, 1)


# ------------------------------------------------------------------------------ Cutout

def draw_cutout(key, B: int, H: int, W: int) -> jax.Array:
  """[B, 2] int: the square's centre (cy, cx) per image."""
  ky, kx = jax.random.split(key)
  return jnp.stack([jax.random.randint(ky, (B,), 0, H), jax.random.randint(kx, (B,), 0, W)], 1)


def apply_cutout(x, centres, size: int):
  B, H, W, _ = x.shape
  lo = centres - size // 2
  m = jax.vmap(lambda l: box_mask(H, W, l[0], l[0] + size, l[1], l[1] + size))(lo)
  return x * (1 - m[..., None].astype(x.dtype))


def cutout(key, x, t, size: int):
  return apply_cutout(x, draw_cutout(key, x.shape[0], x.shape[1], x.shape[2]), size), t


# ------------------------------------------------------------------------------ CutMix

def draw_cutmix(key, B: int, H: int, W: int, alpha, prob):
  """(perm [B], box [4] = (y0, y1, x0, x1) clipped, apply: bool)."""
  kl, kp, ky, kx, ku = jax.random.split(key, 5)
  lam = jax.random.beta(kl, alpha, alpha)
  rat = jnp.sqrt(1.0 - lam)
  ch = jnp.floor(H * rat).astype(jnp.int32)
  cw = jnp.floor(W * rat).astype(jnp.int32)
  cy = jax.random.randint(ky, (), 0, H)
  cx = jax.random.randint(kx, (), 0, W)
  box = jnp.stack([jnp.clip(cy - ch // 2, 0, H), jnp.clip(cy + ch // 2, 0, H),
                   jnp.clip(cx - cw // 2, 0, W), jnp.clip(cx + cw // 2, 0, W)])
  return jax.random.permutation(kp, B), box, jax.random.uniform(ku) < prob


def apply_cutmix(x, t, perm, box, apply):
  B, H, W, _ = x.shape
  m = box_mask(H, W, box[0], box[1], box[2], box[3])
  m = m & apply
  mixed = jnp.where(m[None, :, :, None], x[perm], x)
  lam = 1.0 - m.sum().astype(t.dtype) / (H * W)
  return mixed, lam * t + (1.0 - lam) * t[perm]


def cutmix(key, x, t, alpha, prob):
  return apply_cutmix(x, t, *draw_cutmix(key, *x.shape[:3], alpha, prob))


# ------------------------------------------------------------------ the paper's patch forms

def draw_patch_cutout(key, B: int, P: int, C) -> jax.Array:
  """[B, P] bool: the C cut patches per image (uniform among C-subsets)."""
  u = jax.random.uniform(key, (B, P))
  rank = jnp.argsort(jnp.argsort(u, axis=1), axis=1)
  return rank < C


def apply_patch_cutout(x, cut, g: int):
  H, W = x.shape[1:3]
  return x * (1 - pixel_mask(cut, H, W, g).astype(x.dtype))


def patch_cutout(key, x, t, g: int, C):
  return apply_patch_cutout(x, draw_patch_cutout(key, x.shape[0], g * g, C), g), t


def draw_patch_cutmix(key, B: int, P: int):
  """(partner [B], keep [B, P] bool: the patches S each image keeps)."""
  kj, ks, ku = jax.random.split(key, 3)
  partner = jax.random.randint(kj, (B,), 0, B)
  size = jax.random.randint(ks, (B,), 0, P + 1)
  return partner, draw_patch_cutout(ku, B, P, size[:, None])


def apply_patch_cutmix(x, t, partner, keep, g: int):
  H, W = x.shape[1:3]
  mixed = jnp.where(pixel_mask(keep, H, W, g), x, x[partner])
  lam = keep.sum(1, keepdims=True).astype(t.dtype) / keep.shape[1]
  return mixed, lam * t + (1.0 - lam) * t[partner]


def patch_cutmix(key, x, t, g: int):
  return apply_patch_cutmix(x, t, *draw_patch_cutmix(key, x.shape[0], g * g), g)
