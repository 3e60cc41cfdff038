"""Studies: a grid, its claims and its figures in one module; the library stays study-free.

A new study is a module outside jaxcut/ (here a temporary file) that the sweep, the report
CLI and its claims.json serve as they serve the shipped ones; the committed reproductions
give the same verdicts and numbers from their results.csv; the entry modules are thin and
jaxcut's imports have no cycle.
"""

import ast
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ci
from jaxcut import grid as grid_mod
from jaxcut.analysis import claims as claims_mod
from jaxcut.analysis.report import study_of
from jaxcut.analysis.sweepdata import Sweep
from jaxcut.driver import run_sweep
from jaxcut.store import read_rows

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPRODUCTIONS = os.path.join(ROOT, "docs", "reproduction")

STUDY = '''
"""Learning rate: does a larger eta help CutMix more than ERM? (a study from a test)"""
import os

from jaxcut.analysis.claims import Claim, result
from jaxcut.analysis.figures import STANDARD, pyplot, save
from jaxcut.analysis.sweepdata import col
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid
from jaxcut.stats import interval, paired, verdict
from sweeps.paper import RARE_CUTMIX_OVER_ERM

SIZES = ("cpu",)


def eta_helps_cutmix(c):
  """Paired over seeds: CutMix's gain in test accuracy from the larger eta, minus ERM's."""
  c.need_methods("erm", "cutmix")
  etas = sorted({float(r["eta"]) for r in c.rows})
  gain = {}
  for m in ("erm", "cutmix"):
    lo = {r["seed"]: float(r["test_acc"]) for r in c.rows if r["method"] == m and float(r["eta"]) == etas[0]}
    hi = {r["seed"]: float(r["test_acc"]) for r in c.rows if r["method"] == m and float(r["eta"]) == etas[-1]}
    gain[m] = {s: hi[s] - lo[s] for s in hi if s in lo}
  d = interval(paired(gain["cutmix"], gain["erm"]))
  return result("A larger eta raises CutMix's test accuracy more than ERM's",
                "paired (CutMix gain - ERM gain) > 0", [verdict(d)],
                {"gain_cutmix_minus_gain_erm": d}, ["gain_cutmix_minus_gain_erm"])


ETA_HELPS_CUTMIX = Claim("eta_helps_cutmix", "A larger eta helps CutMix more than ERM",
                         eta_helps_cutmix, over=("eta",))


def fig_eta(sweep, out=None):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(5, 3.5))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    etas = sorted({float(r["eta"]) for r in rows})
    ax.plot(etas, [col([r for r in rows if float(r["eta"]) == e], "test_acc").mean() for e in etas],
            marker="o", label=m)
  ax.set_xlabel("eta")
  ax.set_ylabel("test accuracy")
  ax.legend()
  return save(fig, out, "eta.png")


def get_grid(size):
  return Grid(name="eta", base=PRESETS["tiny"].replace(steps=20, log_every=10), seeds=3,
              axes=(Axis("method", ("erm", "cutmix")), Axis("eta", (0.5, 2.0))),
              claims=(ETA_HELPS_CUTMIX, RARE_CUTMIX_OVER_ERM.at(eta=2.0)),
              figures=(fig_eta,) + STANDARD[:1])
'''


def test_a_new_study_in_its_own_module_is_swept_and_reported(tmp_path):
  """The study's claim and figure come from its own file, found again by the report CLI
  from grid.json alone; the claim's numbers are recomputed here from results.csv."""
  path = tmp_path / "eta_study.py"
  path.write_text(STUDY)
  g = grid_mod.load(str(path))
  assert g.source == str(path) and [c["name"] for c in g.describe()["claims"]] == [
      "eta_helps_cutmix", "rare_cutmix_over_erm"]
  out = str(tmp_path / "eta")
  run_sweep(g, out, quiet=True)
  assert json.load(open(os.path.join(out, "grid.json")))["figures"] == ["fig_eta",
                                                                       "fig_trajectories"]
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", out], capture_output=True,
                     text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr
  assert sorted(os.listdir(os.path.join(out, "report"))) == [
      "claims.json", "eta.png", "summary.md", "trajectories.png"]
  report = {c["id"]: c for c in json.load(open(os.path.join(out, "report", "claims.json")))["claims"]}
  rows = read_rows(out)
  acc = {(r["method"], float(r["eta"]), r["seed"]): float(r["test_acc"]) for r in rows}
  rare = {(r["method"], r["seed"]): float(r["test_acc_rare"]) for r in rows if float(r["eta"]) == 2}
  seeds = ("0", "1", "2")
  diff = [(acc["cutmix", 2.0, s] - acc["cutmix", 0.5, s]) - (acc["erm", 2.0, s] - acc["erm", 0.5, s])
          for s in seeds]
  q = report["eta_helps_cutmix"]["quantities"]["gain_cutmix_minus_gain_erm"]
  np.testing.assert_allclose([q["mean"], q["lo"], q["hi"]], ci(diff), rtol=1e-9)
  assert report["eta_helps_cutmix"]["verdict"] in ("supported", "contradicted", "inconclusive")
  best = report["rare_cutmix_over_erm"]["quantities"]["test_acc_rare_cutmix_minus_erm"]
  np.testing.assert_allclose(best["mean"], np.mean([rare["cutmix", s] - rare["erm", s]
                                                    for s in seeds]), rtol=1e-9)
  # the study's module gone: the report still runs, says why its claims are not tested
  path.unlink()
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", out], capture_output=True,
                     text=True, cwd=ROOT)
  assert r.returncode == 0 and "no such file" in r.stderr, r.stderr
  report = json.load(open(os.path.join(out, "report", "claims.json")))["claims"]
  assert {c["verdict"] for c in report} == {"not tested"}


def _reproductions():
  return sorted(d for d in os.listdir(REPRODUCTIONS)
                if os.path.isfile(os.path.join(REPRODUCTIONS, d, "grid.json")))


@pytest.mark.parametrize("name", _reproductions())
def test_committed_reproduction_gives_its_verdicts_and_numbers_again(name):
  """Every claim of a committed report, evaluated again from its committed results.csv by
  the study module its grid.json names: the same verdict and numbers (rtol 1e-9), except
  claims that read trajectories, which a reproduction does not commit (not tested)."""
  path = os.path.join(REPRODUCTIONS, name)
  sweep = Sweep(path)
  grid, why = study_of(sweep)
  assert grid is not None, why
  committed = json.load(open(os.path.join(path, "claims.json")))["claims"]
  again = claims_mod.evaluate(sweep, sweep.grid["claims"], grid.claim_objects())
  assert [c["id"] for c in again] == [c["id"] for c in committed]
  compared = 0
  for old, new in zip(committed, again):
    if new["verdict"] == "not tested" and "trajectories" in new["reason"]:
      continue
    assert (new["verdict"], new["at"]) == (old["verdict"], old["at"]), old["id"]
    assert new["quantities"].keys() == old["quantities"].keys(), old["id"]
    for k, q in old["quantities"].items():
      for f in ("mean", "lo", "hi"):
        a, b = float(q[f]), float(new["quantities"][k][f])  # (JSON holds NaN as text)
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9,
                                                                 abs_tol=1e-12), (old["id"], k)
    compared += 1
  assert compared >= max(1, len(committed) // 2)


def _imports(path: str, package: str) -> set:
  """Modules of `package` that the file at `path` imports anywhere (top level or inside
  functions)."""
  tree = ast.parse(open(path).read())
  here = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
  parent = here.rsplit(".", 1)[0] if not here.endswith("__init__") else here[:-9]
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      out |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom):
      mod = node.module or ""
      if node.level:
        mod = ".".join(parent.split(".")[:len(parent.split(".")) - node.level + 1] + ([mod] if mod else []))
      out.add(mod)
      out |= {f"{mod}.{a.name}" for a in node.names}  # `from jaxcut import x`: x a module?
  return {m for m in out if m == package or m.startswith(package + ".")}


def _module_files(package: str) -> dict:
  files = {}
  for dirpath, _, names in os.walk(os.path.join(ROOT, package)):
    for n in names:
      if n.endswith(".py"):
        path = os.path.join(dirpath, n)
        mod = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        files[mod[:-9] if mod.endswith(".__init__") else mod] = path
  return files


def test_jaxcut_imports_have_no_cycle_and_entry_points_are_thin():
  files = _module_files("jaxcut")
  graph = {m: {i for i in _imports(p, "jaxcut") if i in files and i != m} for m, p in files.items()}
  # a cycle, found by depth-first search (a package __init__ imported by its own
  # submodules is no edge back: Python imports the package first either way)
  state, stack = {}, []

  def visit(m):
    state[m] = "open"
    stack.append(m)
    for n in sorted(graph[m]):
      if state.get(n) == "open":
        if not m.startswith(n + "."):
          cycle = stack[stack.index(n):] + [n]
          raise AssertionError("import cycle: " + " -> ".join(cycle))
      elif n not in state:
        visit(n)
    stack.pop()
    state[m] = "done"

  for m in sorted(graph):
    if m not in state:
      visit(m)
  entries = [f"jaxcut.{n}" for n in ("train", "sweep", "report", "realdata")]
  everything = {**files, **_module_files("tests"), **_module_files("sweeps"),
                **_module_files("benchmarks")}
  for m, p in everything.items():
    imported = _imports(p, "jaxcut")
    assert not set(entries) & imported, f"{m} imports an entry module: {set(entries) & imported}"
  for e in entries:
    tree = ast.parse(open(files[e]).read())
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not defs and len(tree.body) <= 4, f"{e} is not a thin entry: {len(tree.body)} statements"


def test_the_library_holds_no_study():
  """No module of jaxcut/ imports a study (sweeps.*), and no study's claim is defined there."""
  files = _module_files("jaxcut")
  for m, p in files.items():
    assert not _imports(p, "sweeps"), f"{m} imports a study"
    calls = [n for n in ast.walk(ast.parse(open(p).read())) if isinstance(n, ast.Call)]
    assert not [n for n in calls if getattr(n.func, "id", getattr(n.func, "attr", "")) == "Claim"], \
        f"{m} declares a claim"


@pytest.mark.parametrize("name", _reproductions())
def test_every_shipped_studys_figures_draw_from_its_committed_results(tmp_path, name):
  """Each figure a shipped grid names draws from its committed results.csv, except those
  that read trajectories (which a reproduction does not commit): no compute needed."""
  import matplotlib.pyplot as plt
  from jaxcut.analysis.sweepdata import NoTrajectories
  sweep = Sweep(os.path.join(REPRODUCTIONS, name))
  grid, why = study_of(sweep)
  assert grid is not None, why
  drawn = []
  for fn in grid.figure_functions():
    try:
      d = fn(sweep, str(tmp_path))
    except NoTrajectories:
      plt.close("all")
      continue
    assert d is not None and os.path.getsize(d.path) > 10_000, fn.__name__
    drawn.append(fn.__name__)
    plt.close(d.figure)
  assert "fig_evenness" in drawn
  own = [f.__name__ for f in grid.figure_functions()[3:]]  # after the standard three
  assert set(own) <= set(drawn), (own, drawn)


def test_a_copied_reproduction_is_reported_from_its_results_alone(tmp_path):
  """results.csv, grid.json and manifest.json of a committed reproduction, copied: the
  report CLI evaluates the claims and draws the figures it can, and names in one line the
  figures it skipped for want of trajectories."""
  import shutil
  for f in ("results.csv", "grid.json", "manifest.json"):
    shutil.copy(os.path.join(REPRODUCTIONS, "rarity", f), tmp_path / f)
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", str(tmp_path)],
                     capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and "skipped the figures fig_trajectories, fig_noise" in lines[0], lines
  assert sorted(os.listdir(tmp_path / "report")) == ["claims.json", "evenness.png", "rarity.png",
                                                     "summary.md"]
  report = {c["id"]: c for c in json.load(open(tmp_path / "report" / "claims.json"))["claims"]}
  assert report["rarity_thresholds"]["verdict"] == "supported"
  assert "trajectories" in report["cutmix_common_nonmonotone"]["reason"]


@pytest.mark.parametrize("name", _reproductions())
def test_committed_reproduction_is_what_the_code_writes_today(name):
  """Issue #28 item 8: five reproductions had an older column layout and the rarity one
  another fingerprint. The grid its grid.json names, expanded today, must give the
  committed fingerprint, run ids and results.csv columns (in order), and every run's config
  columns must equal the committed row's."""
  from jaxcut.results import config_columns, row_columns
  from jaxcut.store import read_rows
  path = os.path.join(REPRODUCTIONS, name)
  sweep = Sweep(path)
  grid, why = study_of(sweep)
  assert grid is not None, why
  runs = grid.runs()
  manifest = json.load(open(os.path.join(path, "manifest.json")))
  assert manifest["fingerprint"] == grid.fingerprint(runs), "stale: regenerate (README)"
  rows = read_rows(path)
  assert [int(r["run_id"]) for r in rows] == [r.run_id for r in runs]
  header = list(rows[0])
  expected = []
  for r in runs:
    expected += [c for c in row_columns(r) if c not in expected]
  assert header == expected
  for run, row in zip(runs, rows):
    want = {k: ("" if v == "" else str(v)) for k, v in config_columns(run.config).items()}
    assert {k: row[k] for k in want} == want, run.run_id
