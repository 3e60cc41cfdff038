"""jaxcut's `benign` grid against Kou et al.'s own code, cell by cell, and the speed of both.

    pip install torch                       # the peer's framework (not a jaxcut dependency)
    python -m benchmarks.kou_peer           # ~3 min on 2 CPU cores
    python -m benchmarks.kou_peer --seeds 4 --mus 2,4 --ds 100,400   # a quick look

The peer is the heatmap loop of uclaml/Benign_ReLU_CNN, `syntheticrelu.py` (Kou, Chen, Chen
and Gu, ICML 2023), transcribed below line for line (data generation, LinearCNN,
CrossEntropyLoss, SGD lr 0.1, 100 full-batch steps, test error against the flipped test
labels) with one change: each run seeds numpy and torch with its seed (their notebook
seeds only Python's `random`, which none of its draws use, so their runs are unseeded).
jaxcut runs the same cells through `sweeps/benign.py`'s configuration. Per cell: each
side's mean test error over seeds with its 95% interval and the Welch 95% interval of the
difference; "agree" when that interval holds 0. Speed: seconds per run of each, measured
in this process on the same cells (jaxcut's cold, compile included, and again with
the programs compiled), and the
full 100 x 100 x 10 heatmap extrapolated from those per-run times (labelled an estimate).
Writes benchmarks/kou_peer.json (or --out) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time

import numpy as np

from jaxcut.stats import interval, t95


def peer_run(seed: int, bmu: float, patch_len: int, flip: float = 0.1, data_num: int = 20,
             test_num: int = 1000, epochs: int = 100, m: int = 10) -> float:
  """One cell of the peer's heatmap loop (their code, seeded); returns the test error."""
  import torch
  import torch.nn as nn
  import torch.optim as optim
  np.random.seed(seed)
  torch.manual_seed(seed)

  class LinearCNN(nn.Module):  # theirs, verbatim in substance
    def __init__(self, input_dim, out_channel, patch_num):
      super().__init__()
      self.conv1 = nn.Conv1d(1, out_channel * 2, int(input_dim / patch_num),
                             int(input_dim / patch_num))
      self.out_channel = out_channel

    def forward(self, x):
      x = self.conv1(x)
      x = torch.nn.functional.relu(x)
      x = torch.mean(x, 2)
      return torch.stack([torch.sum(x[:, :self.out_channel], 1),
                          torch.sum(x[:, self.out_channel:], 1)]).transpose(1, 0)

  data, labels = [], []
  for _ in range(data_num + test_num):
    features = torch.zeros(1, patch_len)
    features[0, 0] = 1
    y = np.random.choice([-1, 1], 1)[0]
    k = torch.randint(0, 1, (1,))
    xi = torch.tensor(np.random.normal(0, 1.0, size=(patch_len)))
    x = torch.stack([features[k][0] * bmu * y, xi])
    idx = torch.randperm(len(x))
    x = x[idx].flatten()
    y = np.random.choice([-1, 1], 1, p=[flip, 1 - flip])[0] * y
    data.append(x)
    labels.append(y)
  data = torch.stack(data)
  labels = torch.tensor(labels)
  labels[labels == -1] = 0
  train_x, test_x = data[:data_num].unsqueeze(1).float(), data[data_num:].unsqueeze(1).float()
  train_y, test_y = labels[:data_num], labels[data_num:]
  model = LinearCNN(2 * patch_len, m, 2)
  criterion = torch.nn.CrossEntropyLoss()
  opt = optim.SGD(model.parameters(), lr=0.1, momentum=0, weight_decay=0)
  for _ in range(epochs):
    opt.zero_grad()
    loss = criterion(model(train_x), train_y)
    loss.backward()
    opt.step()
  with torch.no_grad():
    pred = torch.max(model(test_x).data, 1).indices
  return 1 - (pred == test_y).sum().item() / test_x.shape[0]


def jaxcut_runs(mus, ds, seeds: int, out: str) -> tuple[list[dict], float]:
  """The benign grid's configuration on these cells; (rows, wall seconds incl. compile)."""
  from jaxcut.driver import run_sweep
  from sweeps.benign import heatmap
  grid = heatmap(mus, ds, seeds, name="benign_slice")
  t0 = time.perf_counter()
  res = run_sweep(grid, out, quiet=True)
  return res.rows, time.perf_counter() - t0


def welch(a, b) -> dict:
  """Mean of a - b with the Welch 95% interval."""
  a, b = np.asarray(a, float), np.asarray(b, float)
  va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
  diff, se = a.mean() - b.mean(), math.sqrt(va + vb)
  if se == 0:
    return {"mean": diff, "lo": diff, "hi": diff}
  df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
  h = t95(df) * se
  return {"mean": diff, "lo": diff - h, "hi": diff + h}


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--seeds", type=int, default=16)
  ap.add_argument("--peer_seed0", type=int, default=1000,
                  help="the peer's first seed (a fresh range re-tests a cell without reusing "
                       "the seeds that flagged it)")
  ap.add_argument("--mus", default="1,2,3,4,5,7")
  ap.add_argument("--ds", default="100,400,1000")
  ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "kou_peer.json"))
  args = ap.parse_args()
  mus = [float(x) for x in args.mus.split(",")]
  ds = [int(x) for x in args.ds.split(",")]
  import torch
  torch.set_num_threads(1)  # the peer's runs are one small model each

  peer_run(0, 1.0, ds[0], test_num=10, epochs=2)  # warm-up: torch's first-call costs
  peer, peer_seconds = {}, {}
  for d in ds:
    t0 = time.perf_counter()
    for mu in mus:
      peer[(mu, d)] = [peer_run(args.peer_seed0 + s, mu, d) for s in range(args.seeds)]
    peer_seconds[d] = (time.perf_counter() - t0) / (len(mus) * args.seeds)
    print(f"peer d={d}: {peer_seconds[d]:.3f} s/run", flush=True)

  with tempfile.TemporaryDirectory() as tmp:  # cold (compiling), then warm (in-process)
    rows, wall = jaxcut_runs(mus, ds, args.seeds, os.path.join(tmp, "cold"))
    rows_warm, wall_warm = jaxcut_runs(mus, ds, args.seeds, os.path.join(tmp, "warm"))
  assert [r["test_acc"] for r in rows] == [r["test_acc"] for r in rows_warm]
  jax_err = {}
  for r in rows:
    jax_err.setdefault((float(r["mu"]), int(r["d"])), []).append(1 - float(r["test_acc"]))

  cells = []
  print(f"\n{'||mu||':>6} {'d':>5}  {'peer error':>22}  {'jaxcut error':>22}  "
        f"{'jaxcut - peer':>24}  verdict")
  for d in ds:
    for mu in mus:
      p, j = interval(peer[(mu, d)]), interval(jax_err[(mu, d)])
      w = welch(jax_err[(mu, d)], peer[(mu, d)])
      agree = w["lo"] <= 0 <= w["hi"]
      cells.append({"mu": mu, "d": d, "peer": p, "jaxcut": j, "difference": w,
                    "agree": bool(agree)})
      f = lambda q: f"{q['mean']:.3f} [{q['lo']:.3f}, {q['hi']:.3f}]"
      print(f"{mu:>6g} {d:>5}  {f(p):>22}  {f(j):>22}  {f(w):>24}  "
            f"{'agree' if agree else 'DIFFER'}")
  n_runs = len(rows)
  jax_per_run, jax_compute_per_run = wall / n_runs, wall_warm / n_runs
  peer_per_run = float(np.mean(list(peer_seconds.values())))
  # the full heatmap (100 x 100 cells x 10 seeds): per-run peer time linear in d
  full_d = np.arange(100, 1100, 10)
  slope, icept = np.polyfit(ds, [peer_seconds[d] for d in ds], 1) if len(ds) > 1 else (0, peer_per_run)
  peer_full = float(np.sum(icept + slope * full_d) * 100 * 10)
  speed = {"peer_s_per_run": peer_seconds, "peer_s_per_run_mean": peer_per_run,
           "jaxcut_s_per_run_with_compile": jax_per_run,
           "jaxcut_s_per_run_compiled": jax_compute_per_run,
           "ratio_per_run_with_compile": peer_per_run / jax_per_run,
           "ratio_per_run_compiled": peer_per_run / jax_compute_per_run,
           "peer_full_heatmap_estimate_s": peer_full}
  print(f"\nspeed, same cells, this process: peer {peer_per_run:.4f} s/run; jaxcut "
        f"{jax_per_run:.4f} s/run with compile ({peer_per_run / jax_per_run:.1f}x), "
        f"{jax_compute_per_run:.5f} s/run compiled ({peer_per_run / jax_compute_per_run:.1f}x)")
  print(f"full 100 x 100 x 10 heatmap, estimated from the peer's per-run times: "
        f"{peer_full / 3600:.1f} h")
  agree = sum(c["agree"] for c in cells)
  print(f"cells agreeing (Welch 95% interval of the difference holds 0): {agree} / {len(cells)}")
  with open(args.out, "w") as fh:
    json.dump({"seeds": args.seeds, "peer_seed0": args.peer_seed0, "mus": mus, "ds": ds, "cells": cells, "speed": speed},
              fh, indent=1, default=float)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
