"""A finished sweep directory as rows and labels, and the settings claims are tested at.

A *setting* fixes every swept label except `method` (and Cutout's `C`, which picks the
Cutout variant compared): `Sweep.rows_at(at)` returns the runs of every method there.
Labels that `at` does not name take the grid's first value (the base setting). A run
where a label is blank (the setting does not apply to its method, e.g. `mixing` for ERM)
belongs to every value of that label.
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Optional

import numpy as np

from jaxcut import io
from jaxcut.store import SweepDir, load_trajectories, read_rows
from jaxcut.summary import short

PAPER_METHODS = ("erm", "cutout", "cutmix")  # the three the paper's claims compare
METHOD_ORDER = PAPER_METHODS + ("mixup",)  # display order


class OneOf(tuple):
  """A setting's label that takes any of these values (`rows_at`): e.g. a figure that draws
  the baselines (law "none") beside CutMix with one law, `law=OneOf(("none", "uniform"))`."""


class NoTrajectories(Exception):
  """The directory holds results.csv but no committed trajectories (parts/): a committed
  reproduction, or a copy of a sweep's tables. Claims and figures that need them skip."""


class Sweep:
  """A finished sweep directory: rows (diverged runs set apart), grid description, trajectories."""

  def __init__(self, path: str):
    self.path = path
    self.grid = io.read_json(os.path.join(path, "grid.json"))
    self.manifest = io.read_json(os.path.join(path, "manifest.json"))
    rows = read_rows(path)
    self.diverged = [int(r["run_id"]) for r in rows if r["diverged"] == "True"]
    self.rows = [r for r in rows if r["diverged"] != "True"]
    labels = []
    for p in self.grid["points"]:
      labels += [k for k in p if k not in labels]
    labels += [a["name"] for a in self.grid["axes"] if a["name"] not in labels]
    self.labels = labels
    self.others = [k for k in labels if k != "method"]
    self._traj = None

  def has_trajectories(self) -> bool:
    return SweepDir(self.path).has_parts()

  def _load_traj(self) -> list[dict]:
    if self._traj is None:
      if not self.has_trajectories():
        raise NoTrajectories(f"needs the trajectories, which {self.path} does not hold "
                             f"(no parts/)")
      t = load_trajectories(self.path)
      self._traj = t.get("groups", [t])
      self._where = {int(r): (g, i) for g, tr in enumerate(self._traj)
                     for i, r in enumerate(tr["run_id"])}
    return self._traj

  def trajectory(self, run_ids, name: str) -> np.ndarray:
    """[R, time, ...] trajectory `name` of the given runs (which must share its shape)."""
    groups = self._load_traj()
    return np.stack([groups[g]["trajectories"][name][i]
                     for g, i in (self._where[int(r)] for r in run_ids)])

  def steps(self, run_id) -> np.ndarray:
    """[time] the logged steps of a run."""
    groups = self._load_traj()
    g, i = self._where[int(run_id)]
    return groups[g]["step"][i]

  def groups(self) -> list[str]:
    return self.rows[0]["groups"].split("|") if self.rows else []

  def seeds(self, rows=None) -> int:
    return len({r["seed"] for r in (self.rows if rows is None else rows)})

  # ------------------------------------------------------------------------- settings

  def first_value(self, label: str) -> str:
    """The label's first value in run order (the grid's base setting), skipping runs where
    it is blank (a setting that does not apply to their method, e.g. mixing for ERM)."""
    return next((r[label] for r in self.rows if r.get(label, "") != ""), "")

  def rows_at(self, at: Optional[Mapping] = None, over: tuple = ()) -> list[dict]:
    """Runs of every method at the setting `at` (label -> value); labels in `over` are
    left free (a claim that spans an axis). Cutout runs use `at`'s C, else the base
    config's C when C is swept."""
    at = dict(at or {})
    want = {}
    for k in self.others:
      if k in over or k == "C":
        continue
      v = at[k] if k in at else self.first_value(k)
      want[k] = {_norm(x) for x in v} if isinstance(v, OneOf) else {_norm(v)}
    out = [r for r in self.rows
           if all(r.get(k, "") == "" or _norm(r[k]) in v for k, v in want.items())]
    # Cutout at several cut sizes here (a C axis): compare the one `at` names, else the base's
    cs = {_norm(r["C"]) for r in out if r["method"] == "cutout"}
    if len(cs) > 1 and "C" not in over:
      base_c = _norm(at.get("C", self.grid["base"]["C"]))
      out = [r for r in out if r["method"] != "cutout" or _norm(r["C"]) == base_c]
    return out

  def base_rows(self, method: Optional[str] = None) -> list[dict]:
    rows = self.rows_at()
    return [r for r in rows if method is None or r["method"] == method]

  def methods(self, rows=None) -> list[str]:
    present = {r["method"] for r in (rows if rows is not None else self.rows)}
    return [m for m in METHOD_ORDER if m in present]

  def setting_text(self, rows=None, over: tuple = ()) -> str:
    rows = rows if rows is not None else self.base_rows()
    if not rows:
      return "(no runs)"
    r = rows[0]
    fixed = ", ".join(f"{k}={short(r[k])}" for k in self.others
                      if k != "C" and r.get(k, "") != "" and k not in over)
    text = (f"n={r['n']}, d={short(r['d'])}, P={r['P']}, T={r['steps']}, "
            f"backend={r.get('backend', 'direct')}, seeds={self.seeds(rows)}")
    if "cutout" in self.methods(rows):
      text += f", Cutout C={next(x['C'] for x in rows if x['method'] == 'cutout')}"
    return text + (f"; {fixed}" if fixed else "")


def _norm(v) -> str:
  """A label value as text that compares equal across '1000', '1000.0' and 1000."""
  try:
    x = float(v)
  except (TypeError, ValueError):
    return str(v)
  return repr(x) if math.isfinite(x) else str(x)




def rare_of(groups) -> str:
  """The group the claims call rare: "rare" if there is one, else the second group."""
  return "rare" if "rare" in groups else groups[min(1, len(groups) - 1)]


def extreme_of(groups) -> str:
  """The group the claims call extremely rare: "extreme" if there is one, else the last."""
  return "extreme" if "extreme" in groups else groups[-1]


def col(rows, name) -> np.ndarray:
  return np.array([float(r[name]) for r in rows])


def by_seed(rows, name, method: Optional[str] = None) -> dict:
  """{seed: value of column `name`} over rows (of one method)."""
  return {r["seed"]: float(r[name]) for r in rows
          if (method is None or r["method"] == method) and r.get(name, "") != ""}
