"""Reports: figures that fit the grid, numbers in summary.md recomputed from the raw files."""

import dataclasses
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxcut import grid as grid_mod
from jaxcut.config import PRESETS
from conftest import cli_here, ci
from jaxcut.analysis.figures import STANDARD
from jaxcut.grid import Axis, Grid
from jaxcut.analysis.report import write_report
from jaxcut.analysis.sweepdata import Sweep
from jaxcut.stats import fmt
from jaxcut.store import load_trajectories, read_rows
from jaxcut.driver import run_sweep
from sweeps.paper import CUTMIX_BEST_OVERALL, PAPER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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


def rule(lo, hi):
  return "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"


def test_summary_numbers_recompute_from_results_and_trajectories(smoke_report):
  out, summary, _ = smoke_report
  text = open(summary).read()
  report = json.load(open(os.path.join(out, "report", "claims.json")))
  claims = {c["id"]: c for c in report["claims"]}
  assert "one verdict rule" not in text and "Verdict rule (every claim)" in text
  assert report["rule"] in text
  # every decisive and evidence number in claims.json is in summary.md
  for c in claims.values():
    assert f"**{c['verdict']}**" in text
    for k in c["decisive"] + c["evidence"]:
      assert fmt(c["quantities"][k]) in text
  # independent recomputation on the base setting (sigma_d = 0.25)
  rows = [r for r in read_rows(out) if float(r["sigma_d"]) == 0.25]
  get = lambda m, k: {int(r["seed"]): float(r[k]) for r in rows if r["method"] == m}
  seeds = (0, 1)

  def check(claim, name, values, decisive=True):
    q = claims[claim]["quantities"][name]
    mean, lo, hi = ci(values)
    np.testing.assert_allclose([q["mean"], q["lo"], q["hi"]], [mean, lo, hi], rtol=1e-9)
    return rule(lo, hi)

  acc = {m: get(m, "test_acc_rare") for m in ("erm", "cutout", "cutmix")}
  v = check("rare_cutout_over_erm", "test_acc_rare_cutout_minus_erm",
            [acc["cutout"][s] - acc["erm"][s] for s in seeds])
  assert claims["rare_cutout_over_erm"]["verdict"] == v
  ext = {m: get(m, "test_acc_extreme") for m in ("cutout", "cutmix")}
  v = check("extreme_cutmix_over_cutout", "test_acc_extreme_cutmix_minus_cutout",
            [ext["cutmix"][s] - ext["cutout"][s] for s in seeds])
  assert claims["extreme_cutmix_over_cutout"]["verdict"] == v
  check("rare_cutout_over_erm", "train_acc_erm", list(get("erm", "train_acc").values()))
  out_r, out_c = get("cutout", "output_rare"), get("cutout", "output_common")
  erm_r, erm_c = get("erm", "output_rare"), get("erm", "output_common")
  check("rare_cutout_over_erm", "rare_over_common_output_ratio_cutout_minus_erm",
        [out_r[s] / out_c[s] - erm_r[s] / erm_c[s] for s in seeds])
  tot = {m: get(m, "test_acc") for m in ("erm", "cutout", "cutmix")}
  v1 = check("cutmix_best_overall", "test_acc_cutmix_minus_erm",
             [tot["cutmix"][s] - tot["erm"][s] for s in seeds])
  v2 = check("cutmix_best_overall", "test_acc_cutmix_minus_cutout",
             [tot["cutmix"][s] - tot["cutout"][s] for s in seeds])
  parts = {v1, v2}
  expect = ("supported" if parts == {"supported"} else "contradicted" if "contradicted" in parts
            else "inconclusive")
  assert claims["cutmix_best_overall"]["verdict"] == expect
  groups = ("common", "rare", "extreme")
  gap = lambda m: {s: np.ptp([get(m, f"test_acc_{g}")[s] for g in groups]) for s in seeds}
  check("cutmix_most_even", "acc_gap_erm_minus_cutmix",
        [gap("erm")[s] - gap("cutmix")[s] for s in seeds])
  worst = [min(get("cutmix", f"test_acc_{g}")[s] for g in groups) for s in seeds]
  check("three_way_separation", "cutmix_worst_group_test_acc", worst)
  shares = lambda m: {s: [get(m, f"share_train_{r}")[s] for r in ("feature", "dominant", "background")]
                      for s in seeds}
  check("cutmix_even_activation", "share_spread_erm_minus_cutmix",
        [np.ptp(shares("erm")[s]) - np.ptp(shares("cutmix")[s]) for s in seeds])
  t = load_trajectories(out)
  count = int(rows[0]["count_common"])

  def overshoot(m):
    ids = [int(r["run_id"]) for r in sorted(rows, key=lambda r: int(r["seed"])) if r["method"] == m]
    fo = t["trajectories"]["feature_output"][np.searchsorted(t["run_id"], ids)]
    curves = fo[:, :, :, :count].mean(axis=(2, 3))
    return (curves.max(1) - curves[:, -1]) / np.abs(curves[:, -1])

  check("cutmix_common_nonmonotone", "overshoot_cutmix_minus_erm",
        overshoot("cutmix") - overshoot("erm"))


def test_claims_a_grid_cannot_test_are_reported_not_dropped(tmp_path):
  """No Cutout runs and two groups: Cutout's claims and the extreme-group claims are listed
  as not tested, each with its reason; the others are tested."""
  base = TINY.replace(group_names=("common", "rare"), group_counts=(1, 2), group_masses=(0.8, 0.2))
  g = Grid(name="two", base=base, seeds=2, axes=(Axis("method", ("erm", "cutmix")),),
           claims=PAPER)
  out = str(tmp_path / "two")
  run_sweep(g, out, quiet=True)
  summary, _ = write_report(out, g)
  claims = {c["id"]: c for c in json.load(open(os.path.join(out, "report", "claims.json")))["claims"]}
  assert set(claims) == set(g.describe()["claims"][i]["name"] for i in range(len(claims)))
  assert claims["rare_cutout_over_erm"]["verdict"] == "not tested"
  assert "cutout" in claims["rare_cutout_over_erm"]["reason"]
  assert claims["extreme_cutmix_over_cutout"]["verdict"] == "not tested"
  assert "rarity groups" in claims["extreme_cutmix_over_cutout"]["reason"]
  assert claims["rare_cutmix_over_erm"]["verdict"] in ("supported", "contradicted", "inconclusive")
  text = open(summary).read()
  assert text.count("not tested:") == sum(c["verdict"] == "not tested" for c in claims.values())


def test_claims_are_tested_at_their_declared_setting(tmp_path):
  """A claim declared at sigma_d = 0.5 reads only those runs."""
  g = Grid(name="at", base=TINY, seeds=2,
           axes=(Axis("method", ("erm", "cutout", "cutmix")), Axis("sigma_d", (0.25, 0.5))),
           claims=(CUTMIX_BEST_OVERALL.at(sigma_d=0.5), CUTMIX_BEST_OVERALL))
  out = str(tmp_path / "at")
  run_sweep(g, out, quiet=True)
  write_report(out, g)
  at, base = json.load(open(os.path.join(out, "report", "claims.json")))["claims"]
  rows = read_rows(out)
  for c, sd in ((at, 0.5), (base, 0.25)):
    acc = {m: {r["seed"]: float(r["test_acc"]) for r in rows
               if r["method"] == m and float(r["sigma_d"]) == sd} for m in ("cutmix", "erm")}
    mean, lo, hi = ci([acc["cutmix"][s] - acc["erm"][s] for s in acc["erm"]])
    np.testing.assert_allclose(c["quantities"]["test_acc_cutmix_minus_erm"]["mean"], mean)
    assert f"sigma_d={sd:g}" in c["setting"]


def test_report_leaves_out_diverged_runs(tmp_path):
  g = Grid(name="div", base=TINY, seeds=2, axes=(Axis("method", ("erm", "cutout", "cutmix")),
                                                 Axis("eta", (1.0, 1e30))), claims=PAPER)
  out = str(tmp_path / "d")
  result = run_sweep(g, out, quiet=True)
  assert len(result.diverged) == 6
  summary, figures = write_report(out, g)
  text = open(summary).read()
  assert "runs diverged and are left out" in text
  assert all(str(i) in text for i in result.diverged)
  assert "seeds=2" in text and "eta=1e+30" not in text
  assert json.load(open(os.path.join(out, "report", "claims.json")))["diverged"] == result.diverged


def test_rarity_noise_and_cutsize_figures(tmp_path):
  from sweeps.cutsize import fig_cutsize
  from sweeps.noise import fig_noise_grid
  from sweeps.rarity import RARITY_THRESHOLDS, fig_rarity
  base = TINY.replace(group_names=("common", "probe"), group_counts=(1, 1),
                      group_masses=(0.5, 0.5))
  rar = Grid(name="r", base=base, seeds=2,
             axes=(Axis("method", ("erm", "cutout", "cutmix")),
                   Axis("probe_freq", (0.5, 0.1, 0.02), fields=lambda q: {"group_masses": (1 - q, q)})),
             claims=(RARITY_THRESHOLDS,), figures=(fig_rarity,))
  noise = Grid(name="n", base=TINY, seeds=1,
               axes=(Axis("method", ("erm", "cutmix")), Axis("sigma_d", (0.2, 0.4)),
                     Axis("sigma_b", (0.05, 0.1))), figures=(fig_noise_grid,))
  points = [{"P": P, "method": "cutout", "C": C} for P in (3, 4) for C in range(1, P)]
  points += [{"P": P, "method": m} for P in (3, 4) for m in ("erm", "cutmix")]
  cut = Grid(name="c", base=TINY, seeds=1, points=tuple(points), figures=(fig_cutsize,))
  for g, fig in ((rar, "rarity.png"), (noise, "noise_heatmap.png"), (cut, "cutsize.png")):
    out = str(tmp_path / g.name)
    run_sweep(g, out, quiet=True)
    _, figures = write_report(out, g)
    path = os.path.join(out, "report", fig)
    assert figures == [path]  # the figures the grid names, no others
    valid_png(path)
  claims = {c["id"]: c for c in json.load(open(tmp_path / "r" / "report" / "claims.json"))["claims"]}
  assert claims["rarity_thresholds"]["verdict"] != "not tested"
  # thresholds recomputed here: where probe test accuracy falls below 0.75, per seed
  rows = read_rows(str(tmp_path / "r"))
  for m in ("erm", "cutmix"):
    th = []
    for s in ("0", "1"):
      rs = sorted([r for r in rows if r["method"] == m and r["seed"] == s],
                  key=lambda r: -float(r["probe_freq"]))
      f = [float(r["probe_freq"]) for r in rs]
      a = [float(r["test_acc_probe"]) for r in rs]
      t = f[-1]
      if a[0] < 0.75:
        t = f[0]
      else:
        for i in range(1, len(f)):
          if a[i] < 0.75:
            w = (a[i - 1] - 0.75) / (a[i - 1] - a[i])
            t = math.exp((1 - w) * math.log(f[i - 1]) + w * math.log(f[i]))
            break
      th.append(math.log2(t))
    q = claims["rarity_thresholds"]["quantities"][f"log2_threshold_{m}"]
    np.testing.assert_allclose(q["mean"], np.mean(th), rtol=1e-9)


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
  from jaxcut.driver import contrast_table
  from sweeps.dimension import CUTMIX_OVERTAKES_ERM_WITH_D, fig_dimension
  dims = (200, 2000, 20000)
  g = Grid(name="dim", base=TINY.replace(backend="gram", n_test=2000), seeds=3,
           axes=(Axis("method", ("erm", "cutout", "cutmix")),
                 Axis("d", dims, fields=lambda d: {"d": d, "sigma_d": 0.5 * math.sqrt(200 / d),
                                                   "sigma_b": 0.1 * math.sqrt(200 / d)})),
           contrasts=(("cutmix", "erm", "test_acc"),), claims=(CUTMIX_OVERTAKES_ERM_WITH_D,),
           figures=STANDARD + (fig_dimension,))
  out = str(tmp_path / "dim")
  result = run_sweep(g, out, quiet=True)
  _, figures = write_report(out, g)
  valid_png(os.path.join(out, "report", "dimension.png"))
  rows = read_rows(out)
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
  # the same contrast in summary.md and claims.json (issue #28 item 5: it reached stdout only)
  summary = open(os.path.join(out, "report", "summary.md")).read()
  saved = json.load(open(os.path.join(out, "report", "claims.json")))["contrasts"]
  assert [(k["a"], k["b"], k["column"]) for k in saved] == [("cutmix", "erm", "test_acc")]
  for cell, d in zip(saved[0]["cells"], dims):
    mean, lo, hi = diffs[d]
    assert int(cell["at"]["d"]) == d and np.allclose([cell["mean"], cell["lo"], cell["hi"]],
                                                     [mean, lo, hi], rtol=1e-9)
    assert f"| {d:.4g} | {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] | 3 |" in summary, summary
  assert (f"from d = {start:g} on." if start else "nowhere in this grid.") in summary
  claim = {c["id"]: c for c in json.load(open(os.path.join(out, "report", "claims.json")))
           ["claims"]}["cutmix_overtakes_erm_with_d"]
  assert np.isclose(claim["quantities"]["test_acc_cutmix_minus_erm_at_d=20000"]["lo"],
                    diffs[20000][1])
  assert claim["verdict"] == ("supported" if diffs[20000][1] > 0 else
                              "contradicted" if diffs[20000][2] < 0 else "inconclusive")


def test_figures_are_the_ones_the_grid_names_not_guessed_from_its_axes(tmp_path):
  """A phase-like grid (probe_freq x sigma_d) draws the heatmap it names, and no rarity
  curve although it sweeps probe_freq; the same directory reported with the standard
  figures draws those three only."""
  from sweeps.phase import fig_phase
  base = TINY.replace(group_names=("common", "probe"), group_counts=(1, 1),
                      group_masses=(0.5, 0.5), backend="gram")
  freqs = (1 / 4, 1 / 16, 1 / 64)
  g = Grid(name="ph", base=base, seeds=2,
           axes=(Axis("probe_freq", freqs, fields=lambda q: {"group_masses": (1 - q, q)}),
                 Axis("sigma_d", (0.1, 0.5))), figures=(fig_phase,))
  out = str(tmp_path / "ph")
  run_sweep(g, out, quiet=True)
  _, figures = write_report(out, g)
  assert [os.path.basename(f) for f in figures] == ["phase.png"]
  valid_png(os.path.join(out, "report", "phase.png"))
  # issue #28 item 6: cells at geometric midpoints (edges were at -0.0078 on a log axis, the
  # 1/64 column a sliver), ticks at the grid's own values
  ax = fig_phase(Sweep(out)).figure.axes[0]
  edges = ax.collections[0].get_coordinates()[0, :, 0]
  np.testing.assert_allclose(edges, [1 / 128, 1 / 32, 1 / 8, 1 / 2], rtol=1e-12)
  np.testing.assert_allclose(sorted(ax.get_xticks()), sorted(freqs), rtol=1e-12)
  assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0156", "0.0625", "0.25"]
  _, figures = write_report(out, dataclasses.replace(g, figures=None))
  assert sorted(os.path.basename(f) for f in figures) == [
      "evenness.png", "noise_memorisation.png", "trajectories.png"]
  assert not os.path.exists(os.path.join(out, "report", "phase.png"))  # an old figure goes


def test_figures_draw_the_setting_they_are_given(tmp_path):
  """Issue #28 item 6: the standard figures drew the base setting only (benign: d = 100,
  ||mu|| = 0, a flat line). `at(fig, label=value)` names the setting; without it, the
  grid's first claim's setting; a label the grid does not sweep is refused."""
  from jaxcut.analysis.figures import at, fig_trajectories
  g = Grid(name="at", base=TINY, seeds=2, axes=(Axis("method", ("erm", "cutmix")),
                                                  Axis("sigma_d", (0.25, 0.5))),
           claims=(CUTMIX_BEST_OVERALL.at(sigma_d=0.5),))
  out = str(tmp_path / "at")
  run_sweep(g, out, quiet=True)
  rows, traj = read_rows(out), load_trajectories(out)
  where = {int(r): i for i, r in enumerate(traj["run_id"])}

  def expected(sigma_d, method):  # first group's feature output, mean over seeds and signs
    ids = [int(r["run_id"]) for r in rows if r["method"] == method and r["sigma_d"] == sigma_d]
    f = np.stack([traj["trajectories"]["feature_output"][where[i]] for i in ids])
    return f[:, :, :, 0].mean(-1).mean(0)

  def drawn(figure, method="erm"):
    line = next(l for l in figure.axes[0].lines if l.get_label() == method)
    return line.get_ydata()

  sweep = Sweep(out)
  for sd in ("0.25", "0.5"):
    fig = at(fig_trajectories, sigma_d=float(sd))(sweep).figure
    for m in ("erm", "cutmix"):
      np.testing.assert_allclose(drawn(fig, m), expected(sd, m), rtol=1e-6)
    assert f"sigma_d={sd}" in fig._suptitle.get_text()
  assert not np.allclose(expected("0.25", "erm"), expected("0.5", "erm"))
  from jaxcut.analysis.sweepdata import OneOf  # a label taking either value: both settings' runs
  fig = at(fig_trajectories, sigma_d=OneOf((0.25, 0.5)))(sweep).figure
  np.testing.assert_allclose(drawn(fig), (expected("0.25", "erm") + expected("0.5", "erm")) / 2,
                             rtol=1e-6)
  # the default: the first declared claim's setting (here sigma_d = 0.5), else the base
  np.testing.assert_allclose(drawn(fig_trajectories(sweep).figure), expected("0.5", "erm"),
                             rtol=1e-6)
  sweep.grid["claims"] = []
  np.testing.assert_allclose(drawn(fig_trajectories(sweep).figure), expected("0.25", "erm"),
                             rtol=1e-6)
  with pytest.raises(grid_mod.GridError, match="figure fig_trajectories is drawn at mu=..., "
                     "which the grid does not sweep"):
    dataclasses.replace(g, figures=(at(fig_trajectories, mu=4.0),)).runs()
  from sweeps.phase import fig_phase
  with pytest.raises(TypeError, match="takes no setting"):
    at(fig_phase, sigma_d=0.5)
  # the benign study draws its standard figures at a cell with signal
  benign = grid_mod.load("benign")
  assert [getattr(f, "at", None) for f in benign.figure_functions()][:3] == [
      {"d": 550, "mu": 4.0}] * 3
  assert {550} <= set(benign.axes[0].values) and {4.0} <= set(benign.axes[1].values)


class _FakeSweep:
  """What a claim function reads of a sweep, for hand-made rows."""

  def __init__(self, labels, groups=("common", "rare", "extreme")):
    self.labels, self._groups = labels, list(groups)

  def groups(self):
    return self._groups

  def methods(self, rows):
    return [m for m in ("erm", "cutout", "cutmix") if any(r["method"] == m for r in rows)]


@pytest.mark.parametrize("sign", [1, -1])
def test_cutsize_rule_reads_the_slope_of_the_best_share(sign):
  """Rows built so that the best C/P rises (sign 1) or falls (sign -1) with the ratio: the
  rule claim must come out supported, then contradicted; best_cut names the argmax."""
  from jaxcut.analysis.claims import Ctx
  from sweeps.cutsize import best_cut, cutsize_cells, cutsize_rule
  rng = np.random.default_rng(0)
  rows = []
  for P in (3, 4):
    for ratio in (2.5, 5.0, 10.0, 20.0):
      target = (0.25 + 0.5 * math.log2(ratio / 2.5) / 3) if sign > 0 else \
               (0.75 - 0.5 * math.log2(ratio / 2.5) / 3)
      for C in range(1, P):
        for seed in range(8):
          acc = 0.9 - abs(C / P - target) + rng.normal(0, 0.005)
          rows.append({"method": "cutout", "P": P, "C": C, "ratio": ratio, "rare_mass": 0.2,
                       "seed": seed, "test_acc_rare": acc, "test_acc": acc})
  sweep = _FakeSweep(["P", "C", "ratio", "rare_mass", "method"])
  res = cutsize_rule(Ctx(sweep, rows, {}, ()))
  assert res["verdict"] == ("supported" if sign > 0 else "contradicted"), res["quantities"]
  cells = cutsize_cells(rows, "test_acc_rare")
  b, ru, d = best_cut(cells[(4, 20.0, 0.2)])
  assert b == (3 if sign > 0 else 1) and d["mean"] > 0


def test_width_claim_needs_every_cell():
  """One (m, activation) cell where Cutout does not beat ERM on the rare group makes
  width_separation_everywhere contradicted; with that cell fixed it is supported."""
  from jaxcut.analysis.claims import Ctx
  from sweeps.width import width_separation_everywhere
  rng = np.random.default_rng(1)
  acc = {"erm": (0.95, 0.6, 0.5), "cutout": (1.0, 0.95, 0.6), "cutmix": (1.0, 1.0, 0.97)}

  def rows(bad_cell):
    out = []
    for m in (1, 2):
      for method, (c, r, e) in acc.items():
        if bad_cell and m == 2 and method == "cutout":
          r = 0.4
        for seed in range(8):
          v = [x + rng.normal(0, 0.005) for x in (c, r, e)]
          out.append({"method": method, "m": m, "activation": "relu", "seed": seed,
                      "test_acc_common": v[0], "test_acc_rare": v[1], "test_acc_extreme": v[2]})
    return out

  sweep = _FakeSweep(["m", "activation", "method"])
  good = width_separation_everywhere(Ctx(sweep, rows(False), {}, ()))
  bad = width_separation_everywhere(Ctx(sweep, rows(True), {}, ()))
  assert good["verdict"] == "supported" and "2 of 2 cells" in good["claim"]
  assert bad["verdict"] == "contradicted" and "1 of 2 cells" in bad["claim"]


def test_a_contrast_is_asked_for_on_the_command_line(tmp_path):
  """Issue #28 item 5: --contrast on a shipped grid's sweep (printed, recorded in grid.json,
  reported) and on the report command; a bad one is one line before anything is written."""
  out = str(tmp_path / "s")
  r = subprocess.run([sys.executable, "-m", "jaxcut.sweep", "--grid=smoke", "--steps=20",
                      "--seeds=3", "--quiet", "--contrast=cutmix,erm,test_acc_rare",
                      f"--out={out}", "--report"], capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr
  assert "paired cutmix - erm, test_acc_rare" in r.stdout
  rows = read_rows(out)
  for sd in ("0.25", "0.5"):
    v = {m: {x["seed"]: float(x["test_acc_rare"]) for x in rows
             if x["method"] == m and x["sigma_d"] == sd} for m in ("cutmix", "erm")}
    mean, lo, hi = ci([v["cutmix"][s] - v["erm"][s] for s in v["erm"]])
    assert f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]" in r.stdout
    assert f"| {float(sd):g} | {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] | 3 |" in open(
        os.path.join(out, "report", "summary.md")).read()
  r = subprocess.run([sys.executable, "-m", "jaxcut.report", out, "--contrast",
                      "cutout,erm,test_acc"], capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 0, r.stderr
  saved = json.load(open(os.path.join(out, "report", "claims.json")))["contrasts"]
  assert [(k["a"], k["b"], k["column"]) for k in saved] == [
      ("cutmix", "erm", "test_acc_rare"), ("cutout", "erm", "test_acc")]
  before = open(os.path.join(out, "report", "summary.md")).read()
  for args, needle in ((["--contrast=cutout,mixup,test_acc"], "the sweep has no mixup runs"),
                       (["--contrast=cutout,erm,acc"], "'acc' is not a results.csv column"),
                       (["--contrast=cutout,erm"], "must look like METHOD_A,METHOD_B,COLUMN")):
    r = cli_here("report", out, *args)  # in this process: refused before anything runs
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and needle in r.stderr, r.stderr
  assert open(os.path.join(out, "report", "summary.md")).read() == before
  r = subprocess.run([sys.executable, "-m", "jaxcut.sweep", "--grid=smoke",
                      "--contrast=cutmix,mixup,test_acc", f"--out={tmp_path / 'x'}"],
                     capture_output=True, text=True, cwd=ROOT)
  assert r.returncode == 2 and "method 'mixup'" in r.stderr and not (tmp_path / "x").exists()
