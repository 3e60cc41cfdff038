"""A finished sweep grows (more seeds, the full grid after an --only subset) in place and
equals a fresh sweep; a subset is its own sweep; what cannot grow is refused in one line."""

import os
import shutil

import numpy as np
import pytest

from conftest import cli_here, rows_without_timing
from jaxcut import grid as grid_mod
from jaxcut.store import SweepDir, load_trajectories

SMOKE = ("--grid=smoke", "--steps=20", "--chunk=2")


def sweep(*args):
  return cli_here("sweep", *SMOKE, *args)


def ok(r):
  assert r.returncode == 0, r.stderr[-3000:]
  return r


def one_error_line(r, needle):
  lines = r.stderr.strip().splitlines()
  assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr[-2000:]


def trajectories_by_run(out):
  t = load_trajectories(out)
  groups = t.get("groups", [t])
  return {int(rid): {k: np.asarray(v[i]) for k, v in g["trajectories"].items()}
          for g in groups for i, rid in enumerate(g["run_id"])}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
  """The 2-seed smoke sweep (12 runs) computed from scratch: what grown sweeps must equal."""
  out = str(tmp_path_factory.mktemp("fresh") / "s2")
  ok(sweep("--seeds=2", "--quiet", f"--out={out}"))
  return out


def assert_same_sweep(out, fresh):
  assert rows_without_timing(out) == rows_without_timing(fresh)
  a, b = trajectories_by_run(out), trajectories_by_run(fresh)
  assert sorted(a) == sorted(b) == list(range(12))
  for rid in a:
    for k in a[rid]:
      np.testing.assert_array_equal(a[rid][k], b[rid][k], err_msg=f"run {rid} {k}")
  assert SweepDir(out).verify(SweepDir(fresh).manifest()["fingerprint"], set(range(12)),
                              remove=False) == []


def test_more_seeds_grow_a_finished_sweep_in_place(fresh, tmp_path):
  """Issue #28 item 2: --seeds 2 over a finished 1-seed sweep was refused ("holds another
  sweep"). Now the 6 committed runs are renumbered into the 12-run grid and 6 computed."""
  out = str(tmp_path / "g")
  ok(sweep("--seeds=1", "--quiet", f"--out={out}"))
  r = ok(sweep("--seeds=2", f"--out={out}"))
  assert "6 committed runs kept, renumbered into this grid's 12" in r.stderr
  assert "12 runs, 6 computed" in r.stdout
  assert_same_sweep(out, fresh)
  m = SweepDir(out).manifest()
  assert [h["n_runs"] for h in m["grown_from"]] == [6] and m["n_runs"] == 12
  r = ok(sweep("--seeds=2", "--quiet", f"--out={out}"))  # a finished grown sweep resumes
  assert "12 runs, 0 computed" in r.stdout


def test_a_subset_is_its_own_sweep_and_grows_into_the_full_grid(fresh, tmp_path):
  """--only method=cutmix runs 2 x 2 runs with their own fingerprint and out; the full
  grid on the same --out then computes only the other 8 (compiled groups renumbered)."""
  out = str(tmp_path / "sub")
  r = ok(sweep("--seeds=2", "--only=method=cutmix", "--quiet", f"--out={out}"))
  assert "4 runs, 4 computed" in r.stdout
  sub = SweepDir(out)
  assert sub.manifest()["fingerprint"] != SweepDir(fresh).manifest()["fingerprint"]
  rows = rows_without_timing(out)
  assert {r["method"] for r in rows} == {"cutmix"} and {r["compiled_group"] for r in rows} == {"0"}
  import json
  assert json.load(open(os.path.join(out, "grid.json")))["only"] == {"method": ["cutmix"]}
  r = ok(sweep("--seeds=2", "--quiet", f"--out={out}"))
  assert "12 runs, 8 computed" in r.stdout
  assert_same_sweep(out, fresh)
  # two labels, several values, numbers as the tables print them
  r = ok(sweep("--seeds=1", "--only=method=erm,cutout", "--only=sigma_d=0.5", "--quiet",
               f"--out={tmp_path / 'two'}"))
  rows = rows_without_timing(str(tmp_path / "two"))
  assert [(r["method"], r["sigma_d"]) for r in rows] == [("erm", "0.5"), ("cutout", "0.5")]


def test_an_interrupted_grow_is_grown_again_and_loses_nothing(fresh, tmp_path, monkeypatch):
  """A grow killed after writing a renumbered part but before removing the old one: the
  rerun drops the old copy and grows the rest."""
  out = str(tmp_path / "int")
  ok(sweep("--seeds=1", "--quiet", f"--out={out}"))
  grid = grid_mod.with_overrides(grid_mod.load("smoke"), seeds=2, steps=20)
  runs = grid.runs()
  from jaxcut import store
  real = os.remove

  def crash(path):
    if path.endswith(".json") and "parts" in path:
      raise KeyboardInterrupt("killed")
    real(path)
  monkeypatch.setattr(store.os, "remove", crash)
  with pytest.raises(KeyboardInterrupt):
    SweepDir(out).grow(grid.fingerprint(runs), {k: {"run_id": r.run_id, "compiled_group": 0}
                                                for k, r in zip(grid.run_keys(runs), runs)})
  monkeypatch.setattr(store.os, "remove", real)
  assert len([f for f in os.listdir(os.path.join(out, "parts")) if f.endswith(".json")]) == 4
  r = ok(sweep("--seeds=2", f"--out={out}"))
  assert "6 committed runs kept" in r.stderr and "warning" not in r.stderr
  assert_same_sweep(out, fresh)


def test_what_cannot_grow_is_refused_in_one_line(fresh, tmp_path):
  out = str(tmp_path / "n")
  shutil.copytree(fresh, out)
  one_error_line(sweep("--seeds=2", "--only=method=cutmix", f"--out={out}"),
                 "only 4 of its 12 committed runs are runs of this grid, so it cannot grow "
                 "into it (a subset goes to another --out)")
  one_error_line(sweep("--seeds=2", "--sigma_b=2", f"--out={out}"), "only 0 of its 12")
  assert rows_without_timing(out) == rows_without_timing(fresh)
  # parts written before run keys: resumed as ever, but cannot grow
  old = str(tmp_path / "old")
  shutil.copytree(fresh, old)
  import json
  for f in os.listdir(os.path.join(old, "parts")):
    if f.endswith(".json"):
      p = os.path.join(old, "parts", f)
      rec = json.load(open(p))
      del rec["run_keys"]
      json.dump(rec, open(p, "w"))
  assert "12 runs, 0 computed" in ok(sweep("--seeds=2", "--quiet", f"--out={old}")).stdout
  one_error_line(sweep("--seeds=3", f"--out={old}"), "without run keys, so it cannot grow")


@pytest.mark.parametrize("args, needle", [
    (("--method=cutmix",), "grid smoke sweeps method (erm, cutout, cutmix), so --method (or "
     "--set method=...) cannot fix it; to run some of them use --only method=erm[,...]"),
    (("--only=mixing=beta",), "--only mixing=...: grid smoke has no label 'mixing' (its "
     "labels: method, sigma_d)"),
    (("--only=sigma_d=0.3",), "--only sigma_d=0.3: 0.3 is not a value of sigma_d in grid "
     "smoke (values: 0.25, 0.5)"),
    (("--only=method",), "--only 'method' must look like LABEL=VALUE[,VALUE...]"),
])
def test_bad_subsets_are_one_line(tmp_path, args, needle):
  one_error_line(sweep(*args, f"--out={tmp_path / 'x'}"), needle)
  assert not (tmp_path / "x").exists()
