"""The real-data check, driven outside jit: consistency scores, then ERM / Cutout / CutMix
over seeds, committed chunk by chunk, resumable (docs/realdata.md).

    OUT/.lock, manifest.json   as a sweep's (`jaxcut.store`): one writer, written first
    OUT/config.json            the resolved RealConfig, the split and the bin edges
    OUT/eval_set.npz           pool index, label and consistency score of every
                               evaluation example (what each bin holds)
    OUT/cscore/                the consistency models (when estimated): parts with each
                               model's subset membership and pool predictions, scores.npz
    OUT/parts/                 committed chunks of method runs: run_id, eval predictions
                               [r, M], train predictions [r, n], loss per epoch [r, E]
    OUT/results.csv            one row per method run (columns: `RESULT_COLUMNS`)

Run ids: method i (in `methods` order), seed first_seed + j -> i x seeds + j. A run's
numbers depend only on its method, seed and the config: every method sees the same
seeds, so methods are compared paired by seed (same init, same batch order).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Callable, Optional

import numpy as np

from jaxcut import io, signals
from jaxcut.images import cscore as cs
from jaxcut.images import data as data_mod
from jaxcut.images.config import RealConfig, check_shapes
from jaxcut.store import SweepDir, part_name

RESULT_COLUMNS = {
    "run_id": "method index x seeds + seed index",
    "method": "erm, cutout, cutmix, patch_cutout or patch_cutmix",
    "seed": "the run's seed (init, batch order, augmentation)",
    "eval_acc": "accuracy on the held-out evaluation split",
    "acc_bin<k>": "accuracy on the evaluation examples whose consistency score lies in bin k "
                  "([bins[k], bins[k+1]), the last bin closed); blank when the bin is empty",
    "err_cscore_mean": "mean consistency score of the evaluation examples the run gets wrong",
    "n_errors": "evaluation examples the run gets wrong",
    "train_acc": "accuracy on the (unaugmented) training split at the end",
    "test_acc": "cifar10: accuracy on the official test batch (blank for digits)",
    "final_loss": "training objective, mean over the last epoch",
    "diverged": "true when the loss is not finite (the run is left out of summaries)",
    "run_seconds": "wall time of the run's chunk divided by its runs",
}


@dataclasses.dataclass
class Prepared:
  cfg: RealConfig
  ds: data_mod.Dataset
  train_idx: np.ndarray
  eval_idx: np.ndarray
  fingerprint: str


def split(n: int, holdout: float, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(train indices, evaluation indices), sorted; numpy PCG64 seeded with split_seed."""
  perm = np.random.default_rng(split_seed).permutation(n)
  m = int(round(holdout * n))
  return np.sort(perm[m:]), np.sort(perm[:m])


def prepare(cfg: RealConfig) -> Prepared:
  """Validate, load the data, split: every input error before anything is written."""
  cfg.validate()
  ds = data_mod.load(cfg.dataset, cfg.data_dir)
  tr, ev = split(len(ds.labels), cfg.holdout, cfg.split_seed)
  if min(len(tr), len(ev)) < 2:
    from jaxcut.config import InputError
    raise InputError(f"holdout={cfg.holdout} is out of range: both splits of the "
                     f"{len(ds.labels)} examples need at least 2")
  check_shapes(cfg, ds.images.shape[1], ds.images.shape[2], len(tr), len(ds.labels))
  fp = hashlib.sha256(json.dumps({"config": cfg.as_dict(), "data": ds.fingerprint()},
                                 sort_keys=True).encode()).hexdigest()[:16]
  return Prepared(cfg, ds, tr, ev, fp)


def setup_for(p: Prepared, method: str, n_train: int, epochs: Optional[int] = None):
  from jaxcut.images.run import Setup
  cfg = p.cfg
  return Setup(cfg.model, cfg.width, p.ds.classes, method, epochs or cfg.epochs, cfg.batch,
               n_train, cfg.cutout_size, cfg.patch_grid, cfg.patch_C)


def hyper_for(cfg: RealConfig):
  from jaxcut.images.run import Hyper
  return Hyper(cfg.lr, cfg.momentum, cfg.weight_decay, cfg.cutmix_alpha, cfg.cutmix_prob)


def _batched(fn, width: int):
  """jit(lax.map(fn, batch_size=width)) over the leading axis of every argument."""
  import jax
  from jaxcut import compiler
  return compiler.jit(lambda *xs: jax.lax.map(lambda a: fn(*a), xs, batch_size=width))


def _chunks(ids: list, size: int):
  return [ids[i:i + size] for i in range(0, len(ids), size)]


# ------------------------------------------------------------------- consistency scores

def cscore_fingerprint(p: Prepared) -> str:
  c = p.cfg
  keep = {k: getattr(c, k) for k in ("dataset", "model", "width", "batch", "lr", "momentum",
                                     "weight_decay", "split_seed", "cscore_models",
                                     "cscore_subset", "cscore_epochs")}
  return hashlib.sha256(json.dumps({"c": keep, "data": p.ds.fingerprint()},
                                   sort_keys=True).encode()).hexdigest()[:16]


def consistency(p: Prepared, out: str, log: Callable[[str], None]) -> np.ndarray:
  """[N] consistency scores of the pool: read from --cscores, or estimated (resumably)."""
  cfg = p.cfg
  if cfg.cscores:
    return data_mod.load_cscores(cfg.cscores, p.ds.labels)
  import jax
  import jax.numpy as jnp
  from jaxcut.images import run
  d = SweepDir(os.path.join(out, "cscore"))
  fp = cscore_fingerprint(p)
  K, N = cfg.cscore_models, len(p.ds.labels)
  old = d.manifest() if os.path.isdir(d.path) else None
  if not old or old.get("fingerprint") != fp:  # the main directory's plan decided already
    if os.path.isdir(d.path):
      d.wipe()
    d.start({"kind": "consistency models", "fingerprint": fp, "models": K}, {})
  d.clean_partial()
  for w in d.verify(fp, set(range(K))):
    log(f"warning: consistency {w}")
  done = d.finished_rows()
  todo = [k for k in range(K) if k not in done]
  n_done = K - len(todo)
  S = cs.subset_size(N, cfg.cscore_subset)
  setup = setup_for(p, "erm", S, cfg.cscore_epochs)
  hyper = hyper_for(cfg)
  images, labels = jnp.asarray(p.ds.images), jnp.asarray(p.ds.labels)

  def one(k):
    key = cs.model_key(cfg.split_seed, k)
    idx = cs.subset(key, N, S)
    variables, losses = run.fit(key, images, labels, idx, setup, hyper)
    member = jnp.zeros(N, bool).at[idx].set(True)
    return member, run.predict(variables, images, setup), losses[-1]

  fn = _batched(one, cfg.vmap)
  t0 = time.time()
  for chunk in _chunks(todo, cfg.vmap * max(1, 32 // cfg.vmap)):
    t = time.time()
    member, pred, loss = jax.device_get(fn(jnp.asarray(chunk, jnp.int32)))
    sec = (time.time() - t) / len(chunk)
    rows = [{"run_id": k, "heldout_acc": float((pred[i] == p.ds.labels)[~member[i]].mean()),
             "final_loss": float(loss[i]), "run_seconds": sec} for i, k in enumerate(chunk)]
    d.commit(part_name(0, chunk[0]), rows, {"run_id": np.asarray(chunk), "member": member,
                                            "pred": pred.astype(np.int32)}, fp)
    n_done += len(chunk)
    log(f"consistency models: {n_done}/{K} ({time.time() - t0:.0f} s)")
  arrays = d.run_arrays(("member", "pred"))
  member, pred = (np.stack([arrays[k][key] for k in range(K)]) for key in ("member", "pred"))
  c, held = cs.scores(member, pred == p.ds.labels[None, :])
  io.write_npz(d.file("scores.npz"), scores=c, heldout_models=held, labels=p.ds.labels)
  if np.isnan(c).any():
    log(f"warning: {int(np.isnan(c).sum())} examples were held out by no consistency model "
        f"(raise cscore_models): they are in no bin")
  return c


# ------------------------------------------------------------------------- method runs

def run_ids(cfg: RealConfig) -> list[tuple[int, str, int]]:
  return [(i * cfg.seeds + j, m, cfg.first_seed + j)
          for i, m in enumerate(cfg.methods) for j in range(cfg.seeds)]


def bin_of(scores: np.ndarray, edges) -> np.ndarray:
  """[M] bin index per score (-1: none, e.g. nan); the last bin is closed."""
  e = np.asarray(edges, float)
  b = np.searchsorted(e, scores, side="right") - 1
  b = np.where(scores == e[-1], len(e) - 2, b)
  return np.where(np.isfinite(scores) & (b >= 0) & (b < len(e) - 1), b, -1)


def row_for(cfg, rid, method, seed, eval_pred, eval_y, eval_c, bins, train_pred, train_y,
            losses, test_pred=None, test_y=None, seconds=float("nan")) -> dict:
  ok = eval_pred == eval_y
  row = {"run_id": rid, "method": method, "seed": seed, "eval_acc": float(ok.mean())}
  for k in range(len(cfg.bins) - 1):
    inside = bins == k
    row[f"acc_bin{k}"] = float(ok[inside].mean()) if inside.any() else ""
  wrong = ~ok & np.isfinite(eval_c)
  row["err_cscore_mean"] = float(eval_c[wrong].mean()) if wrong.any() else ""
  row["n_errors"] = int((~ok).sum())
  row["train_acc"] = float((train_pred == train_y).mean())
  row["test_acc"] = float((test_pred == test_y).mean()) if test_pred is not None else ""
  row["final_loss"] = float(losses[-1])
  row["diverged"] = bool(not np.all(np.isfinite(losses)))
  row["run_seconds"] = seconds
  return row


def run_experiment(cfg: RealConfig, out: str, overwrite: bool = False, quiet: bool = False
                   ) -> dict:
  """Everything: returns {"rows", "computed", "seconds", "out", "eval", "prepared"}."""
  log = (lambda s: None) if quiet else (lambda s: print(s, file=sys.stderr, flush=True))
  t_start = time.time()
  p = prepare(cfg)
  d = SweepDir(out)
  d.check_writable()
  d.lock()
  try:
    return _run(p, d, overwrite, log, t_start)
  finally:
    d.unlock()


def _run(p: Prepared, d: SweepDir, overwrite, log, t_start) -> dict:
  import jax
  import jax.numpy as jnp
  from jaxcut.images import run
  cfg = p.cfg
  mode = d.plan(p.fingerprint, overwrite)
  if mode == "replace":
    d.wipe()
  if mode != "resume":
    d.start({"kind": "realdata", "grid": "realdata", "size": cfg.dataset, "fingerprint": p.fingerprint,
             "runs": len(cfg.methods) * cfg.seeds, "data_fingerprint": p.ds.fingerprint(),
             **io.provenance()},
            {"config": cfg.as_dict(), "n_pool": len(p.ds.labels), "n_train": len(p.train_idx),
             "n_eval": len(p.eval_idx), "result_columns": RESULT_COLUMNS})
    os.replace(d.file("grid.json"), d.file("config.json"))
  d.clean_partial()
  ids = run_ids(cfg)
  for w in d.verify(p.fingerprint, {r for r, _, _ in ids}):
    log(f"warning: {w}")

  c = consistency(p, d.path, log)
  eval_c, eval_y = c[p.eval_idx], p.ds.labels[p.eval_idx]
  bins = bin_of(eval_c, cfg.bins)
  io.write_npz(d.file("eval_set.npz"), pool_index=p.eval_idx, label=eval_y, cscore=eval_c,
               bin=bins, edges=np.asarray(cfg.bins))

  done = d.finished_rows()
  computed = []
  images, labels = jnp.asarray(p.ds.images), jnp.asarray(p.ds.labels)
  tr = jnp.asarray(p.train_idx, jnp.int32)
  extra = p.ds.test_images is not None
  eval_x = np.concatenate([p.ds.images[p.eval_idx]] + ([p.ds.test_images] if extra else []))
  eval_x = jnp.asarray(eval_x)
  M = len(p.eval_idx)
  hyper = hyper_for(cfg)
  try:
    for method in cfg.methods:
      todo = [(r, s) for r, m, s in ids if m == method and r not in done]
      if not todo:
        continue
      setup = setup_for(p, method, len(p.train_idx))
      fn = _batched(lambda seed: run.fit_predict(jax.random.key(seed), images, labels, tr,
                                                 eval_x, setup, hyper), cfg.vmap)
      for chunk in _chunks(todo, cfg.vmap * max(1, 16 // cfg.vmap)):
        t = time.time()
        seeds = jnp.asarray([s for _, s in chunk], jnp.uint32)
        pe, pt, losses = jax.device_get(fn(seeds))
        sec = (time.time() - t) / len(chunk)
        rows = [row_for(cfg, r, method, s, pe[i, :M], eval_y, eval_c, bins, pt[i],
                        p.ds.labels[p.train_idx], losses[i],
                        pe[i, M:] if extra else None, p.ds.test_labels, sec)
                for i, (r, s) in enumerate(chunk)]
        d.commit(part_name(0, chunk[0][0]), rows,
                 {"run_id": np.asarray([r for r, _ in chunk]), "eval_pred": pe.astype(np.int32),
                  "train_pred": pt.astype(np.int32), "epoch_loss": losses}, p.fingerprint)
        computed += [r for r, _ in chunk]
        log(f"{method}: {len(done) + len(computed)}/{len(ids)} runs "
            f"({time.time() - t_start:.0f} s)")
        signals.check()  # a Ctrl-C / SIGTERM whose exception native code swallowed
  except KeyboardInterrupt:
    rows = list(d.finished_rows().values())
    d.write_results(rows)
    raise KeyboardInterrupt(f"interrupted: {len(rows)} of {len(ids)} runs committed and in "
                            f"{d.file('results.csv')}; rerun the same command to resume")
  rows = sorted(d.finished_rows().values(), key=lambda r: r["run_id"])
  d.write_results(rows)
  return {"rows": rows, "computed": computed, "seconds": time.time() - t_start, "out": d.path,
          "eval": {"cscore": eval_c, "label": eval_y, "bin": bins}, "prepared": p}
