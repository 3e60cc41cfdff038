"""The real-data path (jaxcut.images, python -m jaxcut.realdata): augmentations against
explicit-loop references given the same draws, the im2col convolution against nn.Conv,
consistency scores against their definition, the CIFAR-10 and C-score readers on small
files in the real formats, bad inputs, resume and chunking invariance."""

import os
import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcut.config import InputError
from jaxcut.images import augment, cscore, data
from jaxcut.images.config import PRESETS, RealConfig
from jaxcut.images.experiment import bin_of, split

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ("--epochs=1", "--seeds=2", "--cscore_models=4", "--cscore_epochs=1", "--quiet",
        "--cache_dir=off")


def realdata(*args):
  return subprocess.run([sys.executable, "-m", "jaxcut.realdata", *args], cwd=ROOT,
                        capture_output=True, text=True)


def realdata_here(*args):
  from conftest import cli_here
  return cli_here("realdata", *args)


def batch(B=5, H=6, W=7, C=2, K=3, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(B, H, W, C)).astype(np.float32) + 3.0  # no pixel is 0 by chance
  t = np.eye(K, dtype=np.float32)[rng.integers(0, K, B)]
  return x, t


# ------------------------------------------------------------------ augmentations vs loops

def test_cutout_matches_loop():
  x, t = batch()
  size = 3
  centres = np.asarray(augment.draw_cutout(jax.random.key(1), *x.shape[:3]))
  got, t2 = augment.cutout(jax.random.key(1), jnp.asarray(x), jnp.asarray(t), size)
  ref = x.copy()
  for b in range(x.shape[0]):
    cy, cx = centres[b]
    for r in range(x.shape[1]):
      for c in range(x.shape[2]):
        if cy - size // 2 <= r < cy - size // 2 + size and cx - size // 2 <= c < cx - size // 2 + size:
          ref[b, r, c] = 0.0
  np.testing.assert_array_equal(np.asarray(got), ref)
  np.testing.assert_array_equal(np.asarray(t2), t)


@pytest.mark.parametrize("prob", [1.0, 0.0])
def test_cutmix_matches_loop(prob):
  x, t = batch(B=6)
  key = jax.random.key(3)
  perm, box, apply = (np.asarray(a) for a in augment.draw_cutmix(key, *x.shape[:3], 1.0, prob))
  got_x, got_t = augment.cutmix(key, jnp.asarray(x), jnp.asarray(t), 1.0, prob)
  ref = x.copy()
  area = 0
  if apply:
    for r in range(box[0], box[1]):
      for c in range(box[2], box[3]):
        area += 1
        for b in range(x.shape[0]):
          ref[b, r, c] = x[perm[b], r, c]
  lam = 1 - area / (x.shape[1] * x.shape[2])
  np.testing.assert_array_equal(np.asarray(got_x), ref)
  np.testing.assert_allclose(np.asarray(got_t), lam * t + (1 - lam) * t[perm], atol=1e-6)
  assert sorted(perm.tolist()) == list(range(6))


def test_cutmix_box_follows_yun_et_al():
  """Box side floor(H sqrt(1 - lam)) around a uniform centre, clipped; lam ~ Beta(1, 1):
  over many draws the unclipped kept share 1 - (side/H)^2 is ~ uniform (mean 1/2)."""
  H = W = 32
  keys = jax.random.split(jax.random.key(0), 4000)
  boxes = np.asarray(jax.vmap(lambda k: augment.draw_cutmix(k, 4, H, W, 1.0, 1.0)[1])(keys))
  assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] <= H).all() and (boxes[:, 0] <= boxes[:, 1]).all()
  area = (boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2]) / (H * W)
  assert 0.5 < 1 - area.mean() < 0.8  # clipping only shrinks the box: kept share >= 1/2 on average


def test_patch_cutout_matches_loop():
  x, t = batch(B=4, H=8, W=8)
  g, C = 2, 2
  cut = np.asarray(augment.draw_patch_cutout(jax.random.key(5), 4, g * g, C))
  assert (cut.sum(1) == C).all()
  got, _ = augment.patch_cutout(jax.random.key(5), jnp.asarray(x), jnp.asarray(t), g, C)
  ref = x.copy()
  for b in range(4):
    for r in range(8):
      for c in range(8):
        if cut[b, (r * g // 8) * g + c * g // 8]:
          ref[b, r, c] = 0.0
  np.testing.assert_array_equal(np.asarray(got), ref)


def test_patch_cutmix_matches_loop_and_sizes_are_uniform():
  x, t = batch(B=5, H=9, W=9)
  g = 3
  key = jax.random.key(7)
  partner, keep = (np.asarray(a) for a in augment.draw_patch_cutmix(key, 5, g * g))
  got_x, got_t = augment.patch_cutmix(key, jnp.asarray(x), jnp.asarray(t), g)
  ref = x.copy()
  for b in range(5):
    for r in range(9):
      for c in range(9):
        if not keep[b, (r * g // 9) * g + c * g // 9]:
          ref[b, r, c] = x[partner[b], r, c]
  lam = keep.sum(1, keepdims=True) / (g * g)
  np.testing.assert_array_equal(np.asarray(got_x), ref)
  np.testing.assert_allclose(np.asarray(got_t), lam * t + (1 - lam) * t[partner], atol=1e-6)
  sizes = np.asarray(augment.draw_patch_cutmix(jax.random.key(1), 20000, 4)[1]).sum(1)
  freq = np.bincount(sizes, minlength=5) / sizes.size
  np.testing.assert_allclose(freq, 0.2, atol=0.02)  # |S| uniform on {0, ..., P}


def test_im2col_convolution_equals_flax_conv():
  import flax.linen as nn
  from jaxcut.images.models import Conv3x3
  x = jax.random.normal(jax.random.key(0), (3, 8, 8, 5))
  ours = Conv3x3(7)
  v = ours.init(jax.random.key(1), x)
  ref = nn.Conv(7, (3, 3)).apply({"params": v["params"]}, x)
  np.testing.assert_allclose(np.asarray(ours.apply(v, x)), np.asarray(ref), atol=1e-5)


# -------------------------------------------------------------------- scores and bins

def test_consistency_scores_follow_the_definition():
  rng = np.random.default_rng(0)
  member = rng.random((30, 12)) < 0.5
  correct = rng.random((30, 12)) < 0.7
  member[:, 3] = True  # held out by no model: nan
  c, n = cscore.scores(member, correct)
  for i in range(12):
    held = [k for k in range(30) if not member[k, i]]
    assert n[i] == len(held)
    if held:
      assert c[i] == pytest.approx(np.mean([correct[k, i] for k in held]))
    else:
      assert np.isnan(c[i])


def test_subsets_have_the_stated_size_and_are_distinct():
  idx = np.asarray(cscore.subset(cscore.model_key(0, 3), 100, 40))
  assert len(set(idx.tolist())) == 40 and idx.max() < 100
  other = np.asarray(cscore.subset(cscore.model_key(0, 4), 100, 40))
  assert set(idx.tolist()) != set(other.tolist())


def test_bins_and_split():
  s = np.array([0.0, 0.5, 0.8, 0.95, 1.0, np.nan])
  assert bin_of(s, (0.0, 0.8, 0.95, 1.0)).tolist() == [0, 0, 1, 2, 2, -1]
  tr, ev = split(10, 0.3, 0)
  assert len(ev) == 3 and sorted(tr.tolist() + ev.tolist()) == list(range(10))


# ------------------------------------------------------------------------ CIFAR-10 files

def write_cifar(root, n=12, seed=0):
  """data_batch_1..5 and test_batch in the python-pickle format of cifar-10-batches-py."""
  rng = np.random.default_rng(seed)
  os.makedirs(root, exist_ok=True)
  labels = []
  for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    y = rng.integers(0, 10, n).tolist()
    d = {b"batch_label": name.encode(), b"labels": y,
         b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         b"filenames": [b"x.png"] * n}
    with open(os.path.join(root, name), "wb") as f:
      pickle.dump(d, f)
    if name != "test_batch":
      labels += y
  return np.asarray(labels)


def test_cifar_reader_and_cscore_file(tmp_path):
  labels = write_cifar(tmp_path / "c")
  ds = data.load_cifar10(str(tmp_path / "c"))
  assert ds.images.shape == (60, 32, 32, 3) and ds.test_images.shape == (12, 32, 32, 3)
  np.testing.assert_array_equal(ds.labels, labels)
  # CHW bytes land as HWC pixels: pixel (0, 0) of image 0 is bytes 0, 1024, 2048
  with open(tmp_path / "c" / "data_batch_1", "rb") as f:
    raw = pickle.load(f, encoding="bytes")[b"data"][0]
  pix = raw[[0, 1024, 2048]].astype(np.float32) / 255.0
  all_raw = np.concatenate([pickle.load(open(tmp_path / "c" / f"data_batch_{i}", "rb"),
                                        encoding="bytes")[b"data"] for i in range(1, 6)])
  hwc = all_raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
  mean, std = hwc.mean((0, 1, 2)), hwc.std((0, 1, 2)) + 1e-6
  np.testing.assert_allclose(ds.images[0, 0, 0], (pix - mean) / std, rtol=1e-5)
  good = tmp_path / "s.npz"
  np.savez(good, labels=labels, scores=np.linspace(0, 1, 60))
  np.testing.assert_allclose(data.load_cscores(str(good), ds.labels), np.linspace(0, 1, 60))
  bad = tmp_path / "b.npz"
  np.savez(bad, labels=(labels + 1) % 10, scores=np.linspace(0, 1, 60))
  with pytest.raises(InputError, match="labels differ"):
    data.load_cscores(str(bad), ds.labels)
  np.savez(bad, labels=labels[:10], scores=np.zeros(10))
  with pytest.raises(InputError, match="10 scores"):
    data.load_cscores(str(bad), ds.labels)
  (tmp_path / "c" / "data_batch_3").write_bytes(b"not a pickle")
  with pytest.raises(InputError, match="data_batch_3 is not a CIFAR-10 python batch"):
    data.load_cifar10(str(tmp_path / "c"))


@pytest.mark.slow
def test_cifar_end_to_end_with_resnet(tmp_path):
  """The GPU path on a CPU: ResNet-18 (width 4), published-format scores, the patch
  methods (the pixel ones run in the digits test)."""
  labels = write_cifar(tmp_path / "c", n=16)
  np.savez(tmp_path / "s.npz", labels=labels, scores=np.random.default_rng(0).random(80))
  out = tmp_path / "o"
  r = realdata("--dataset=cifar10", f"--data_dir={tmp_path / 'c'}",
               f"--cscores={tmp_path / 's.npz'}", "--width=4", "--epochs=1", "--batch=16",
               "--seeds=2", "--vmap=2", "--methods=erm,patch_cutout,patch_cutmix",
               "--bins=0,0.5,1", f"--out={out}", "--quiet", "--cache_dir=off", "--report")
  assert r.returncode == 0, r.stderr
  from jaxcut.store import read_results
  rows = read_results(str(out))
  assert len(rows) == 6 and all(row["test_acc"] is not None for row in rows)
  assert os.path.exists(out / "report" / "consistency.png")
  assert not os.path.exists(out / "cscore")  # scores were given, not estimated


# ------------------------------------------------------------------ CLI, resume, inputs

@pytest.mark.parametrize("args, field", [
    (("--methods=erm,mixup",), "methods=erm,mixup is out of range"),
    (("--holdout=1.5",), "holdout=1.5 is out of range"),
    (("--cutout_size=9",), "cutout_size=9 is out of range"),
    (("--batch=5000",), "batch=5000 is out of range"),
    (("--bins=0,0.9,0.5",), "bins=0.0,0.9,0.5 is out of range"),
    (("--patch_C=5",), "patch_C=5 is out of range"),
    (("--dataset=cifar10",), "needs --data_dir"),
    (("--set", "epochs=x"), "epochs='x' is not a valid int"),
    (("--set", "nope=1"), "'nope' is not a real-data setting"),
    (("--first_seed=4294967295",), "first_seed=4294967295 is out of range"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, field):
  out = tmp_path / "o"
  r = realdata_here(*args, f"--out={out}", "--cache_dir=off")
  assert r.returncode == 2 and r.stdout == ""
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], r.stderr
  assert not out.exists()


def test_digits_runs_resumes_and_does_not_depend_on_chunking(tmp_path):
  from jaxcut.store import read_results
  a, b = tmp_path / "a", tmp_path / "b"
  r = realdata(*TINY, "--vmap=2", f"--out={a}", "--report")
  assert r.returncode == 0, r.stderr
  assert "| erm |" in r.stdout and "cutmix_gain_concentrates_low" in r.stdout
  rows = read_results(str(a))
  assert [x["method"] for x in rows] == ["erm"] * 2 + ["cutout"] * 2 + ["cutmix"] * 2
  assert all(0.5 < x["eval_acc"] <= 1 for x in rows)
  assert os.path.exists(a / "report" / "consistency.png")
  assert os.path.exists(a / "cscore" / "scores.npz")
  # one run at a time gives the same numbers
  assert realdata(*TINY, "--vmap=1", f"--out={b}").returncode == 0
  for x, y in zip(rows, read_results(str(b))):
    for k in ("eval_acc", "acc_bin0", "train_acc", "n_errors"):
      assert x[k] == pytest.approx(y[k], abs=1e-6), k
  # a lost part is computed again, the rest kept
  parts = sorted(p for p in os.listdir(a / "parts") if p.endswith(".json"))
  os.remove(a / "parts" / parts[-1])
  r = realdata_here(*TINY, "--vmap=2", f"--out={a}")
  assert r.returncode == 0 and "2 computed" in r.stdout, r.stdout
  strip = lambda rs: [{k: v for k, v in x.items() if k != "run_seconds"} for x in rs]
  assert strip(read_results(str(a))) == strip(rows)
  # another experiment in the same directory is refused
  r = realdata_here(*TINY, "--vmap=2", "--epochs=2", f"--out={a}")
  assert r.returncode == 2 and "holds another sweep" in r.stderr


def test_presets_are_valid():
  for cfg in PRESETS.values():
    cfg.validate()
  assert RealConfig().replace(methods="erm, cutmix").methods == ("erm", "cutmix")


def test_bootstrap_adds_the_examples_uncertainty():
  """Seeds that agree exactly give a seed interval of width 0; resampling the examples of
  each bin must still give a wide interval when the bin is small, and a narrow one around
  the same mean when it is large."""
  from jaxcut.images.analysis import bootstrap_concentration
  rng = np.random.default_rng(0)
  row = np.concatenate([rng.random(20) < 0.5, np.zeros(2000, bool)]).astype(float)
  diff = np.tile(row, (16, 1))  # every seed the same: no seed variance at all
  low, high = np.arange(20), np.arange(20, 2020)
  b = bootstrap_concentration(diff, low, high, draws=500)
  assert b["mean"] == pytest.approx(row[:20].mean())
  assert b["hi"] - b["lo"] > 0.3  # 20 examples of 0/1: about +-0.22
  big = np.tile(np.concatenate([rng.random(2000) < 0.5, np.zeros(2000, bool)]).astype(float),
                (16, 1))
  b2 = bootstrap_concentration(big, np.arange(2000), np.arange(2000, 4000), draws=500)
  assert b2["lo"] < b2["mean"] < b2["hi"] and b2["hi"] - b2["lo"] < 0.06
