"""A sweep's output directory: committed parts, results.csv, manifest, trajectories.

    DIR/manifest.json     grid name, size, fingerprint, run count, versions, devices
    DIR/grid.json         the grid (base config, axes, points, seeds): a config snapshot
    DIR/results.csv       one row per finished run, sorted by run_id (rewritten per chunk)
    DIR/parts/P.json      rows of one committed chunk: its commit marker, written last
    DIR/parts/P/          orbax arrays of that chunk: run_id [r], step [r, T],
                          trajectories {...: [r, T, ...]}, rho_final [r, 2, m, n, P]

A chunk is committed by saving its arrays (to P.partial, renamed to P) and then writing
P.json atomically. A part directory without its json is an interrupted chunk: it is
removed and its runs are done again on resume.
"""

from __future__ import annotations

import csv
import io as _io
import os
import shutil
from typing import Iterable, Optional

import numpy as np

from jaxcut import io
from jaxcut.config import InputError


class SweepDirError(InputError):
  """The output directory holds another sweep."""


def part_name(process: int, first_run: int) -> str:
  return f"p{process:03d}-r{first_run:07d}"


class SweepDir:
  def __init__(self, path: str):
    self.path = os.path.abspath(path)
    self.parts = os.path.join(self.path, "parts")

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  def manifest(self) -> Optional[dict]:
    f = self.file("manifest.json")
    return io.read_json(f) if os.path.exists(f) else None

  def check(self, fingerprint: str, overwrite: bool) -> None:
    """Refuse a directory that holds a different sweep, unless overwrite (then wipe it)."""
    old = self.manifest()
    foreign = old is None and os.path.isdir(self.path) and os.listdir(self.path)
    if overwrite and (old is not None or foreign):
      shutil.rmtree(self.path)
      return
    if old is not None and old.get("fingerprint") != fingerprint:
      raise SweepDirError(
          f"--out {self.path} holds another sweep (grid {old.get('grid')}, "
          f"size {old.get('size')}, fingerprint {old.get('fingerprint')}); use another --out "
          f"or --overwrite")
    if foreign:
      raise SweepDirError(f"--out {self.path} is not empty and holds no sweep; use another "
                          f"--out or --overwrite")

  def start(self, manifest: dict, grid: dict) -> None:
    os.makedirs(self.parts, exist_ok=True)
    io.write_json(self.file("grid.json"), grid)
    io.write_json(self.file("manifest.json"), manifest)

  def clean_partial(self) -> None:
    """Remove arrays of chunks that were never committed."""
    if not os.path.isdir(self.parts):
      return
    for name in os.listdir(self.parts):
      full = os.path.join(self.parts, name)
      if os.path.isdir(full) and (name.endswith(".partial") or not os.path.exists(full + ".json")):
        shutil.rmtree(full, ignore_errors=True)

  def part_records(self) -> list[dict]:
    if not os.path.isdir(self.parts):
      return []
    return [io.read_json(os.path.join(self.parts, f))
            for f in sorted(os.listdir(self.parts)) if f.endswith(".json")]

  def finished_rows(self) -> dict[int, dict]:
    return {row["run_id"]: row for rec in self.part_records() for row in rec["rows"]}

  def commit(self, name: str, rows: list[dict], arrays: dict) -> None:
    io.save_tree(os.path.join(self.parts, name), arrays)
    io.write_json(os.path.join(self.parts, name + ".json"), {"part": name, "rows": rows})

  def write_results(self, rows: Iterable[dict]) -> None:
    rows = sorted(rows, key=lambda r: r["run_id"])
    columns: list[str] = []
    for r in rows:
      columns += [k for k in r if k not in columns]
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    w.writeheader()
    for r in rows:
      w.writerow(r)
    tmp = self.file("results.csv.tmp")
    with open(tmp, "w") as f:
      f.write(buf.getvalue())
    os.replace(tmp, self.file("results.csv"))


def read_results(path: str) -> list[dict]:
  """results.csv of a sweep directory as a list of dicts (strings, '' where absent)."""
  with open(os.path.join(path, "results.csv")) as f:
    return list(csv.DictReader(f))


def load_trajectories(path: str) -> dict:
  """Every run's trajectories, stacked in run-id order: {"run_id": [R], "step": [R, T],
  "trajectories": {name: [R, T, ...]}, "rho_final": [R, 2, m, n, P]}.

  Runs whose arrays differ in shape (another n, P, K, m or log count) cannot share a stack:
  then the result is {"groups": [such a dict per shape]}.
  """
  sweep = SweepDir(path)
  trees = [io.load_tree(os.path.join(sweep.parts, rec["part"])) for rec in sweep.part_records()]
  if not trees:
    raise FileNotFoundError(f"no committed runs under {path}")
  by_shape: dict = {}
  for t in trees:
    sig = tuple((k, v.shape[1:]) for k, v in sorted(_flat(t).items()) if k != "run_id")
    by_shape.setdefault(sig, []).append(t)
  groups = [_stack(ts) for ts in by_shape.values()]
  return groups[0] if len(groups) == 1 else {"groups": groups}


def load_run(path: str, run_id: int) -> dict:
  """One run's trajectories (no leading run axis)."""
  data = load_trajectories(path)
  for g in data.get("groups", [data]):
    hit = np.nonzero(g["run_id"] == run_id)[0]
    if len(hit):
      i = int(hit[0])
      return _index(g, i)
  raise KeyError(f"run {run_id} is not in {path}")


def _flat(tree, prefix=""):
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out.update(_flat(v, prefix + k + "."))
    else:
      out[prefix + k] = v
  return out


def _stack(trees):
  order = np.argsort(np.concatenate([t["run_id"] for t in trees]))

  def cat(*xs):
    return np.concatenate(xs)[order]

  import jax
  return jax.tree.map(cat, *trees)


def _index(tree, i):
  if isinstance(tree, dict):
    return {k: _index(v, i) for k, v in tree.items()}
  return tree[i]
