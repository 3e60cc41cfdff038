"""A sweep's output directory: committed parts, results.csv, manifest, trajectories.

    DIR/.lock             held (flock) by the one sweep writing DIR; names its holder
    DIR/manifest.json     grid name, size, fingerprint, run count, versions, devices
                          (written first, atomically)
    DIR/grid.json         the grid (base config, axes, points, seeds, claims)
    DIR/results.csv       one row per finished run, sorted by run_id (a view of the parts)
    DIR/parts/P.json      one committed chunk's record: the grid fingerprint, its run ids
                          and run keys, a SHA-256 of its array files, and its rows; written
                          last
    DIR/parts/P/          orbax arrays of that chunk: run_id [r], step [r, L],
                          trajectories {...: [r, L, ...]}, rho_final [r, 2, m, n, P]

One writer per directory: a sweep takes DIR/.lock (`fcntl.flock`, released by the OS
when the process dies) before it changes anything, so a second sweep on the same --out,
--overwrite included, is refused with one line naming the holder. A chunk is committed
by saving its arrays (to P.partial, renamed to P) and then writing P.json atomically. On
start, the sweep removes what interrupted writes left (*.tmp, *.partial, arrays without
a record) and verifies every record against the grid's fingerprint, run ids and its
arrays' checksum: a part that is foreign, incomplete, truncated or altered is removed,
with a one-line warning, and its runs are computed again.

A sweep grows in place: when every committed run of the directory's sweep is a run of
the new grid (same seed, config and labels: `Grid.run_keys`; more seeds, more axis
values, or the full grid after an `--only` subset), its parts are renumbered into the new
grid (`SweepDir.grow`) and only the new runs are computed.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io as _io
import os
import shutil
import socket
import sys
import tempfile
from typing import Iterable, Optional, Sequence

import numpy as np

from jaxcut import io
from jaxcut.config import InputError

LOCK = ".lock"
RECORD_FIELDS = ("part", "fingerprint", "run_ids", "checksum", "rows")


class SweepDirError(InputError):
  """The output directory cannot take this sweep (another sweep, a lock, a bad path)."""


def part_name(process: int, first_run: int) -> str:
  return f"p{process:03d}-r{first_run:07d}"


def tree_checksum(path: str) -> str:
  """SHA-256 over the relative names and contents of every file under `path`."""
  h = hashlib.sha256()
  for root, dirs, files in os.walk(path):
    dirs.sort()
    for f in sorted(files):
      full = os.path.join(root, f)
      h.update(os.path.relpath(full, path).encode() + b"\0")
      with open(full, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
          h.update(block)
      h.update(b"\0")
  return h.hexdigest()


class SweepDir:
  def __init__(self, path: str):
    self.path = os.path.abspath(path)
    self.parts = os.path.join(self.path, "parts")
    self._lock_fd: Optional[int] = None

  def file(self, name: str) -> str:
    return os.path.join(self.path, name)

  # ------------------------------------------------------------------ state of the directory

  def manifest(self) -> Optional[dict]:
    f = self.file("manifest.json")
    if not os.path.exists(f):
      return None
    try:
      return io.read_json(f)
    except (OSError, ValueError) as e:
      raise SweepDirError(f"--out {self.path}: manifest.json is unreadable ({e}); use "
                          f"--overwrite to start over or another --out") from None

  def check_writable(self) -> None:
    """--out must be a directory this process can write (it is created if missing);
    one line otherwise. Tried, not inferred: root passes every permission check, and a
    read-only file system passes os.access."""
    if os.path.exists(self.path) and not os.path.isdir(self.path):
      raise SweepDirError(f"--out {self.path} is a file, not a directory")
    parent = self.path
    while not os.path.exists(parent):
      parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
      raise SweepDirError(f"--out {self.path} lies under {parent}, which is a file")
    try:
      os.makedirs(self.path, exist_ok=True)
      fd, probe = tempfile.mkstemp(dir=self.path, suffix=".tmp")
      os.close(fd)
      os.remove(probe)
    except OSError as e:
      raise SweepDirError(f"--out {self.path} is not writable: {e.strerror}") from None

  def _entries(self) -> list[str]:
    """What the directory holds, beside the lock and leftovers of interrupted writes."""
    if not os.path.isdir(self.path):
      return []
    out = []
    for name in os.listdir(self.path):
      if name == LOCK or name.endswith(".tmp"):
        continue
      if name == "parts" and not any(f.endswith(".json") for f in _listdir(self.parts)):
        continue  # created, nothing committed yet
      out.append(name)
    return out

  def holds(self) -> str:
    """What the directory holds, in words ("" when empty): a sweep, a run, other files."""
    entries = self._entries()
    if not entries:
      return ""
    if "manifest.json" in entries:
      try:
        m = self.manifest() or {}
      except SweepDirError:
        m = {}
      return (f"a sweep (grid {m.get('grid')}, size {m.get('size')}, {self.committed()} "
              f"parts committed)")
    if "metrics.json" in entries:
      try:
        rec = io.read_json(self.file("metrics.json"))
        return f"a run (method {rec['config']['method']}, seed {rec['seed']})"
      except (OSError, ValueError, KeyError, TypeError):
        return "a run (metrics.json)"
    shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
    return f"{len(entries)} other file{'s' if len(entries) > 1 else ''} ({shown})"

  def committed(self) -> int:
    return sum(f.endswith(".json") for f in _listdir(self.parts))

  def plan(self, fingerprint: str, overwrite: bool, keys: Iterable[str] = ()) -> str:
    """What starting this sweep here means: "fresh", "resume", "grow" (renumber the
    committed parts into this grid first) or "replace" (wipe first).

    `keys`: this grid's run keys. Refuses (SweepDirError) a directory that holds other
    files, or another sweep with committed runs that are not all this grid's, unless
    overwrite. Another sweep with nothing committed (it stopped before its first chunk)
    is replaced: nothing is lost.
    """
    if not self._entries():
      return "fresh"
    if overwrite:
      return "replace"
    old = self.manifest()
    if old is None:
      raise SweepDirError(f"--out {self.path} is not empty and holds no sweep; use another "
                          f"--out or --overwrite")
    if old.get("fingerprint") == fingerprint:
      return "resume"
    if self.committed() == 0:
      return "replace"
    keys = set(keys)
    records = self._readable_records()
    have = [k for rec in records for k in rec.get("run_keys") or []]
    if records and all(rec.get("run_keys") for rec in records) and set(have) <= keys:
      return "grow"
    why = ("its parts were written by a jaxcut without run keys, so it cannot grow"
           if not all(rec.get("run_keys") for rec in records) else
           f"only {len(set(have) & keys)} of its {len(set(have))} committed runs are runs "
           f"of this grid, so it cannot grow into it (a subset goes to another --out)")
    raise SweepDirError(
        f"--out {self.path} holds another sweep (grid {old.get('grid')}, size "
        f"{old.get('size')}, fingerprint {old.get('fingerprint')}, {self.committed()} parts "
        f"committed): {why}; use another --out or --overwrite")

  def _readable_records(self) -> list[dict]:
    out = []
    for f in sorted(_listdir(self.parts)):
      if f.endswith(".json"):
        try:
          rec = io.read_json(os.path.join(self.parts, f))
        except (OSError, ValueError):
          continue  # verify() removes it
        if isinstance(rec, dict):
          out.append(rec)
    return out

  def grow(self, fingerprint: str, new_rows: dict) -> int:
    """Renumber every committed part of another fingerprint into this sweep's: `new_rows`
    maps a run key to the columns that change ({"run_id", "compiled_group"}). Each part
    is written again under a new name, then the old one removed, so that an interrupted
    grow loses nothing (the rerun grows what is left; a run found in both is dropped from
    the old part). Returns the number of runs kept."""
    records = [r for r in self._readable_records() if all(k in r for k in RECORD_FIELDS)]
    done = {k for r in records if r["fingerprint"] == fingerprint for k in r.get("run_keys", [])}
    kept = len(done)
    for rec in records:
      if rec["fingerprint"] == fingerprint:
        continue
      old = os.path.join(self.parts, rec["part"])
      keys = rec["run_keys"]
      if not set(keys) <= done:
        arrays = io.load_tree(old)
        ids = [new_rows[k]["run_id"] for k in keys]
        arrays["run_id"] = np.array(ids, np.int64)
        rows = [{**row, **new_rows[k]} for row, k in zip(rec["rows"], keys)]
        name = f"{rec['part'].split('-g')[0]}-g{fingerprint[:8]}"  # p000-r0000005-g1a2b3c4d
        self.commit(name, rows, arrays, fingerprint, keys)
        done |= set(keys)
        kept += len(keys)
      os.remove(old + ".json")
      shutil.rmtree(old, ignore_errors=True)
    return kept

  # ------------------------------------------------------------------------------ the lock

  def lock(self) -> None:
    """Take DIR/.lock for this process's life (or until `unlock`); refuse if held."""
    import fcntl
    os.makedirs(self.path, exist_ok=True)
    fd = os.open(self.file(LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown process"
      os.close(fd)
      raise SweepDirError(f"--out {self.path} is being written by another sweep ({holder}); "
                          f"wait for it to finish or use another --out") from None
    who = (f"pid {os.getpid()} on {socket.gethostname()}, since "
           f"{datetime.datetime.now().isoformat(timespec='seconds')}: "
           f"{' '.join(sys.argv)[:300]}")
    os.ftruncate(fd, 0)
    os.pwrite(fd, who.encode(), 0)
    self._lock_fd = fd

  def unlock(self) -> None:
    if self._lock_fd is not None:
      os.close(self._lock_fd)  # releases the flock
      self._lock_fd = None

  # ------------------------------------------------------------------------- setting up

  def wipe(self) -> None:
    """Remove everything but the lock (held by this process)."""
    for name in os.listdir(self.path):
      if name == LOCK:
        continue
      full = self.file(name)
      if os.path.isdir(full) and not os.path.islink(full):
        shutil.rmtree(full)
      else:
        os.remove(full)

  def start(self, manifest: dict, grid: dict) -> None:
    """manifest.json first (atomically), then grid.json and parts/."""
    io.write_json(self.file("manifest.json"), manifest)
    io.write_json(self.file("grid.json"), grid)
    os.makedirs(self.parts, exist_ok=True)

  def clean_partial(self) -> None:
    """Remove what interrupted writes left: temporary files and uncommitted arrays."""
    for base in (self.path, self.parts):
      for name in _listdir(base):
        full = os.path.join(base, name)
        if name.endswith(".tmp") and os.path.isfile(full):
          os.remove(full)
    for name in _listdir(self.parts):
      full = os.path.join(self.parts, name)
      if os.path.isdir(full) and (name.endswith(".partial") or not os.path.exists(full + ".json")):
        shutil.rmtree(full, ignore_errors=True)

  def verify(self, fingerprint: str, run_ids: set, remove: bool = True) -> list[str]:
    """Check every part record against the grid; returns one warning per bad part (removed
    when `remove`, so that its runs are computed again)."""
    warnings, seen = [], set()
    for f in sorted(_listdir(self.parts)):
      if not f.endswith(".json"):
        continue
      name = f[:-len(".json")]
      why = self._bad_part(name, fingerprint, run_ids, seen)
      if why:
        warnings.append(f"part {name} {why}: " + ("removed, its runs will be computed "
                                                   "again" if remove else "rerun the sweep"))
        if remove:
          os.remove(os.path.join(self.parts, f))
          shutil.rmtree(os.path.join(self.parts, name), ignore_errors=True)
    return warnings

  def _bad_part(self, name, fingerprint, run_ids, seen) -> Optional[str]:
    try:
      rec = io.read_json(os.path.join(self.parts, name + ".json"))
    except (OSError, ValueError):
      return "has an unreadable record"
    if not isinstance(rec, dict) or any(k not in rec for k in RECORD_FIELDS):
      return "has an incomplete record (or one written by an older jaxcut)"
    if rec["fingerprint"] != fingerprint:
      return "belongs to another sweep (its grid fingerprint differs)"
    ids = rec["run_ids"]
    if [r.get("run_id") for r in rec["rows"]] != ids or not set(ids) <= run_ids:
      return "holds runs that are not this grid's"
    if set(ids) & seen:
      return "repeats runs of another part"
    arrays = os.path.join(self.parts, name)
    if not os.path.isdir(arrays):
      return "has no arrays"
    if tree_checksum(arrays) != rec["checksum"]:
      return "has arrays that fail their checksum (truncated or altered)"
    seen.update(ids)
    return None

  # --------------------------------------------------------------------------- records

  def has_parts(self) -> bool:
    """Whether any part is committed (without reading the records)."""
    return any(f.endswith(".json") for f in _listdir(self.parts))

  def part_records(self) -> list[dict]:
    return [io.read_json(os.path.join(self.parts, f))
            for f in sorted(_listdir(self.parts)) if f.endswith(".json")]

  def finished_rows(self) -> dict[int, dict]:
    return {row["run_id"]: row for rec in self.part_records() for row in rec["rows"]}

  def run_arrays(self, keys) -> dict[int, dict]:
    """{run_id: {key: that run's slice of the array}} over every committed part, for
    parts whose arrays are stacked along a leading run axis beside `run_id`."""
    out: dict[int, dict] = {}
    for rec in self.part_records():
      arrays = io.load_tree(os.path.join(self.parts, rec["part"]))
      for i, rid in enumerate(np.asarray(arrays["run_id"]).tolist()):
        out[rid] = {k: np.asarray(arrays[k][i]) for k in keys}
    return out

  def commit(self, name: str, rows: list[dict], arrays: dict, fingerprint: str,
             keys: Sequence[str] = ()) -> None:
    """Save a chunk's arrays, then its record (`keys`: its runs' `Grid.run_keys`)."""
    path = os.path.join(self.parts, name)
    io.save_tree(path, arrays)
    io.write_json(path + ".json", {
        "part": name, "fingerprint": fingerprint, "run_ids": [r["run_id"] for r in rows],
        "run_keys": list(keys), "checksum": tree_checksum(path), "rows": rows})

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
    try:
      with open(tmp, "w") as f:
        f.write(buf.getvalue())
      os.replace(tmp, self.file("results.csv"))
    except BaseException:
      if os.path.exists(tmp):
        os.remove(tmp)
      raise


def _listdir(path: str) -> list[str]:
  return os.listdir(path) if os.path.isdir(path) else []


def read_rows(path: str) -> list[dict]:
  """results.csv of a sweep directory as written: dicts of strings, '' where blank."""
  with open(os.path.join(path, "results.csv")) as f:
    return list(csv.DictReader(f))


def _typed(v: str):
  if v == "":
    return None
  if v in ("True", "False"):
    return v == "True"
  for kind in (int, float):
    try:
      return kind(v)
    except ValueError:
      pass
  return v


def read_results(path: str, frame: bool = False):
  """results.csv of a sweep directory, typed: a list of dicts of int, float, bool and str
  values, None where blank (a setting that does not apply, a diverged run's metrics).

  frame=True returns a pandas DataFrame instead (pandas is an extra: pip install
  'jaxcut[frame]').
  """
  rows = [{k: _typed(v) for k, v in r.items()} for r in read_rows(path)]
  if not frame:
    return rows
  try:
    import pandas as pd
  except ImportError:
    raise ImportError("read_results(..., frame=True) needs pandas: pip install 'jaxcut[frame]'") from None
  return pd.DataFrame(rows)


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


def load_run(path: str, run_id: Optional[int] = None) -> dict:
  """One run's arrays, without a leading run axis.

  `path` a sweep directory: run `run_id`'s {"run_id", "step", "trajectories",
  "rho_final"}. `path` a `python -m jaxcut.train --out` directory (run_id None): its
  {"step", "trajectories", "params", "rho_final"} plus "config", "seed" and "metrics"
  from metrics.json.
  """
  if run_id is None:
    single = os.path.join(path, "metrics.json")
    if not os.path.isfile(single):
      raise FileNotFoundError(f"{path} holds no metrics.json: for a sweep, give run_id")
    rec = io.read_json(single)
    tree = io.load_tree(os.path.join(path, "trajectories"))
    return {**tree, "config": rec["config"], "seed": rec["seed"], "metrics": rec["metrics"]}
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
