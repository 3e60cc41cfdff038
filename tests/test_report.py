"""Reports: figures that fit the grid, numbers in summary.md recomputed from the raw files."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxcut import grid as grid_mod
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid
from jaxcut.report import fmt, write_report
from jaxcut.store import load_trajectories, read_results
from jaxcut.sweep import run_sweep

TINY = PRESETS["tiny"].replace(steps=20, log_every=5)


def valid_png(path):
  import matplotlib.image
  with open(path, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  img = matplotlib.image.imread(path)
  assert img.shape[0] > 200 and img.shape[1] > 300
  assert img[..., :3].std() > 0.05  # not blank


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("smoke"))
  run_sweep(grid_mod.load("smoke"), out, quiet=True)
  summary, figures = write_report(out)
  return out, summary, figures


def test_smoke_report_writes_the_figures_that_fit(smoke_report):
  out, summary, figures = smoke_report
  names = sorted(os.path.basename(f) for f in figures)
  assert names == ["evenness.png", "noise_memorisation.png", "trajectories.png"]
  for f in figures:
    valid_png(f)
    assert os.path.basename(f) in open(summary).read()


def t95(n):
  return {1: 12.706, 2: 4.303, 3: 3.182}[n - 1]


def ci(v):
  v = np.asarray(v, float)
  half = t95(len(v)) * v.std(ddof=1) / math.sqrt(len(v))
  return v.mean(), v.mean() - half, v.mean() + half


def test_summary_numbers_recompute_from_results_and_trajectories(smoke_report):
  out, summary, _ = smoke_report
  text = open(summary).read()
  claims = {c["id"]: c for c in json.load(open(os.path.join(out, "report", "claims.json")))["claims"]}
  # every number in claims.json is in summary.md
  for c in claims.values():
    assert f"**{c['verdict']}**" in text
    for q in c["quantities"].values():
      assert fmt(q) in text
  # independent recomputation on the base setting (sigma_d = 0.25)
  rows = [r for r in read_results(out) if float(r["sigma_d"]) == 0.25]
  get = lambda m, k: {int(r["seed"]): float(r[k]) for r in rows if r["method"] == m}

  def check(q, values):
    mean, lo, hi = ci(values)
    np.testing.assert_allclose([q["mean"], q["lo"], q["hi"]], [mean, lo, hi], rtol=1e-9)

  erm_rare, erm_common = get("erm", "margin_rare"), get("erm", "margin_common")
  check(claims["erm_misses_rare"]["quantities"]["erm_rare_over_common_margin"],
        [erm_rare[s] / erm_common[s] for s in (0, 1)])
  check(claims["erm_misses_rare"]["quantities"]["erm_train_acc"], list(get("erm", "train_acc").values()))
  acc = {m: get(m, "test_acc_rare") for m in ("erm", "cutout", "cutmix")}
  q = claims["rare_accuracy_order"]["quantities"]
  check(q["cutout_minus_erm"], [acc["cutout"][s] - acc["erm"][s] for s in (0, 1)])
  check(q["cutmix_minus_cutout"], [acc["cutmix"][s] - acc["cutout"][s] for s in (0, 1)])
  tot = {m: get(m, "test_acc") for m in ("erm", "cutmix")}
  check(claims["cutmix_best_accuracy"]["quantities"]["cutmix_minus_erm"],
        [tot["cutmix"][s] - tot["erm"][s] for s in (0, 1)])
  shares = lambda m: {s: [get(m, f"share_train_{r}")[s] for r in ("feature", "dominant", "background")]
                      for s in (0, 1)}
  check(claims["cutmix_even_activation"]["quantities"]["difference"],
        [np.ptp(shares("erm")[s]) - np.ptp(shares("cutmix")[s]) for s in (0, 1)])
  t = load_trajectories(out)
  ids = [int(r["run_id"]) for r in rows if r["method"] == "cutmix"]
  fo = t["trajectories"]["feature_output"][np.searchsorted(t["run_id"], ids)]
  count = int(rows[0]["count_common"])
  curves = fo[:, :, :, :count].mean(axis=(2, 3))
  check(claims["cutmix_common_nonmonotone"]["quantities"]["overshoot"],
        (curves.max(1) - curves[:, -1]) / np.abs(curves[:, -1]))


def test_report_leaves_out_diverged_runs(tmp_path):
  g = Grid(name="div", base=TINY, seeds=2, axes=(Axis("method", ("erm", "cutout", "cutmix")),
                                                 Axis("sigma_d", (0.25, 1e20))))
  out = str(tmp_path / "d")
  result = run_sweep(g, out, quiet=True)
  assert len(result.diverged) == 6
  summary, figures = write_report(out)
  text = open(summary).read()
  assert "Diverged runs, left out" in text
  assert all(str(i) in text for i in result.diverged)
  assert "seeds=2" in text and "1e+20" not in text
  assert json.load(open(os.path.join(out, "report", "claims.json")))["diverged"] == result.diverged


def test_rarity_noise_and_cutsize_figures(tmp_path):
  base = TINY.replace(group_names=("common", "probe"), group_counts=(1, 1),
                      group_masses=(0.5, 0.5))
  rar = Grid(name="r", base=base, seeds=2,
             axes=(Axis("method", ("erm", "cutout", "cutmix")),
                   Axis("probe_freq", (0.5, 0.1, 0.02), fields=lambda q: {"group_masses": (1 - q, q)})))
  noise = Grid(name="n", base=TINY, seeds=1,
               axes=(Axis("method", ("erm", "cutmix")), Axis("sigma_d", (0.2, 0.4)),
                     Axis("sigma_b", (0.05, 0.1))))
  points = [{"P": P, "method": "cutout", "C": C} for P in (3, 4) for C in range(1, P)]
  points += [{"P": P, "method": m} for P in (3, 4) for m in ("erm", "cutmix")]
  cut = Grid(name="c", base=TINY, seeds=1, points=tuple(points))
  for g, fig in ((rar, "rarity.png"), (noise, "noise_heatmap.png"), (cut, "cutsize.png")):
    out = str(tmp_path / g.name)
    run_sweep(g, out, quiet=True)
    _, figures = write_report(out)
    path = os.path.join(out, "report", fig)
    assert path in figures
    valid_png(path)
  claims = json.load(open(tmp_path / "r" / "report" / "claims.json"))["claims"]
  assert "rarity_thresholds" in {c["id"] for c in claims}


def test_report_cli(smoke_report, tmp_path):
  out = smoke_report[0]
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", out], capture_output=True, text=True)
  assert r.returncode == 0 and "summary.md" in r.stdout, r.stderr
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", str(tmp_path)], capture_output=True,
                     text=True)
  assert r.returncode == 2 and r.stderr.startswith("error:") and len(r.stderr.splitlines()) == 1


def test_dimension_grid_report_and_contrast_table(tmp_path):
  """A d axis (gram backend): dimension.png, the crossover claim, and the sweep's paired
  contrast table, each difference recomputed here from results.csv."""
  from jaxcut.sweep import contrast_table
  dims = (200, 2000, 20000)
  g = Grid(name="dim", base=TINY.replace(backend="gram", n_test=2000), seeds=3,
           axes=(Axis("method", ("erm", "cutout", "cutmix")),
                 Axis("d", dims, fields=lambda d: {"d": d, "sigma_d": 0.5 * math.sqrt(200 / d),
                                                   "sigma_b": 0.1 * math.sqrt(200 / d)})),
           contrasts=(("cutmix", "erm", "test_acc"),))
  out = str(tmp_path / "dim")
  result = run_sweep(g, out, quiet=True)
  _, figures = write_report(out)
  valid_png(os.path.join(out, "report", "dimension.png"))
  rows = read_results(out)
  diffs = {}
  for d in dims:
    acc = {m: {r["seed"]: float(r["test_acc"]) for r in rows
               if r["method"] == m and int(r["d"]) == d} for m in ("cutmix", "erm")}
    diffs[d] = ci([acc["cutmix"][s] - acc["erm"][s] for s in acc["erm"]])
  table = contrast_table(g, result.rows)
  for d in dims:
    mean, lo, hi = diffs[d]
    assert f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]" in table, (d, table)
  start = next((d for i, d in enumerate(dims) if all(diffs[x][1] > 0 for x in dims[i:])), None)
  assert (f"from d = {start:g} on" if start else "nowhere in this grid") in table, table
  claim = {c["id"]: c for c in json.load(open(os.path.join(out, "report", "claims.json")))
           ["claims"]}["cutmix_overtakes_erm_with_d"]
  assert np.isclose(claim["quantities"]["d=20000"]["lo"], diffs[20000][1])
  assert claim["verdict"] == ("supported" if diffs[20000][1] > 0 else
                              "contradicted" if diffs[20000][2] < 0 else "inconclusive")


def test_phase_grid_draws_a_heatmap_not_a_pooled_rarity_curve(tmp_path):
  base = TINY.replace(group_names=("common", "probe"), group_counts=(1, 1),
                      group_masses=(0.5, 0.5), backend="gram")
  g = Grid(name="ph", base=base, seeds=2,
           axes=(Axis("probe_freq", (0.5, 0.1, 0.02), fields=lambda q: {"group_masses": (1 - q, q)}),
                 Axis("sigma_d", (0.1, 0.5))))
  out = str(tmp_path / "ph")
  run_sweep(g, out, quiet=True)
  _, figures = write_report(out)
  names = {os.path.basename(f) for f in figures}
  assert "phase.png" in names and "rarity.png" not in names
  valid_png(os.path.join(out, "report", "phase.png"))
