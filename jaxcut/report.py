"""`python -m jaxcut.report DIR`: figures and a claim-by-claim summary of a finished sweep.

Writes into DIR/report/: PNG figures chosen by the grid's axes, `summary.md` (each claim of
the paper, SETTING.md "What the paper claims", with a verdict, the numbers and 95%
intervals over seeds) and `claims.json` (the same numbers, machine-readable).

Intervals are Student-t 95% intervals of the mean over seeds; comparisons between methods
use per-seed paired differences (runs with the same seed share data and init). A claim is
"supported" when its interval lies on the claimed side, "contradicted" when it lies on the
other side, "inconclusive" otherwise. Diverged runs are left out and listed.
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence

import numpy as np

from jaxcut import io
from jaxcut.store import load_trajectories, read_results

METHOD_ORDER = ("erm", "cutout", "cutmix")
COLORS = {"erm": "tab:blue", "cutout": "tab:orange", "cutmix": "tab:green"}
ROLES = ("feature", "dominant", "background")
THRESHOLD_FRACTION = 0.5  # a feature counts as learned when its margin >= this x common's
OVERSHOOT = 0.02  # a peak this far (relative) above the final value counts as non-monotone
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
        16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042,
        40: 2.021, 60: 2.000, 120: 1.980}


def t95(df: int) -> float:
  """Two-sided 95% Student-t quantile (table; the next lower tabulated df, 1.96 past 120)."""
  if df > 120:
    return 1.96
  return _T95[max(k for k in _T95 if k <= df)]


def interval(values: Sequence[float]) -> dict:
  """Mean and 95% t-interval over seeds: {mean, lo, hi, n} (lo = hi = nan when n < 2)."""
  v = np.asarray(values, float)
  n = len(v)
  mean = float(v.mean()) if n else float("nan")
  if n < 2:
    return {"mean": mean, "lo": float("nan"), "hi": float("nan"), "n": n}
  half = t95(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
  return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}


def fmt(q: dict) -> str:
  if q["n"] < 2 or not math.isfinite(q["lo"]):
    return f"{q['mean']:.3f} (n={q['n']})"
  return f"{q['mean']:.3f} [{q['lo']:.3f}, {q['hi']:.3f}] (n={q['n']})"


def side(q: dict, sign: int = 1) -> str:
  """Verdict of 'sign * quantity > 0' from its interval."""
  if q["n"] < 2 or not math.isfinite(q["lo"]):
    return "inconclusive"
  lo, hi = sorted((sign * q["lo"], sign * q["hi"]))
  return "supported" if lo > 0 else "contradicted" if hi < 0 else "inconclusive"


def both(first: str, second: str) -> str:
  """Verdict of a claim made of two parts: supported if both are, contradicted if one is."""
  if first == second == "supported":
    return "supported"
  return "contradicted" if "contradicted" in (first, second) else "inconclusive"


class Sweep:
  """A finished sweep directory: rows, grid description, trajectories."""

  def __init__(self, path: str):
    self.path = path
    self.grid = io.read_json(os.path.join(path, "grid.json"))
    self.manifest = io.read_json(os.path.join(path, "manifest.json"))
    rows = read_results(path)
    self.diverged = [int(r["run_id"]) for r in rows if r["diverged"] == "True"]
    self.rows = [r for r in rows if r["diverged"] != "True"]
    labels = []
    for p in self.grid["points"]:
      labels += [k for k in p if k not in labels]
    labels += [a["name"] for a in self.grid["axes"] if a["name"] not in labels]
    self.labels = labels
    self.others = [k for k in labels if k != "method"]
    self._traj = None

  @property
  def traj(self) -> Optional[dict]:
    if self._traj is None:
      t = load_trajectories(self.path)
      self._traj = t if "groups" not in t else None
    return self._traj

  def groups(self) -> list[str]:
    return self.rows[0]["groups"].split("|") if self.rows else []

  def base_key(self) -> tuple:
    """Label values (other than method, C) of the first run: the setting figures show."""
    return self.setting_of(self.rows[0]) if self.rows else ()

  def setting_of(self, row) -> tuple:
    return tuple(row.get(k, "") for k in self.others if k != "C")

  def base_rows(self, method: Optional[str] = None) -> list[dict]:
    """Rows of the base setting; for Cutout, those with the base config's C."""
    base_c = str(self.grid["base"]["C"])
    out = [r for r in self.rows if self.setting_of(r) == self.base_key()
           and (r["method"] != "cutout" or "C" not in self.others or r["C"] == base_c)]
    return [r for r in out if method is None or r["method"] == method]

  def methods(self, rows=None) -> list[str]:
    present = {r["method"] for r in (rows if rows is not None else self.rows)}
    return [m for m in METHOD_ORDER if m in present]

  def setting_text(self, rows=None) -> str:
    rows = rows if rows is not None else self.base_rows()
    r = rows[0]
    seeds = len({x["seed"] for x in rows})
    fixed = ", ".join(f"{k}={r[k]}" for k in self.others if k != "C" and k in r)
    text = f"n={r['n']}, d={r['d']}, P={r['P']}, T={r['steps']}, seeds={seeds}"
    return text + (f"; {fixed}" if fixed else "")


def col(rows, name) -> np.ndarray:
  return np.array([float(r[name]) for r in rows])


def by_seed(rows, name) -> dict:
  return {r["seed"]: float(r[name]) for r in rows}


def paired(a: dict, b: dict) -> list[float]:
  """a - b over the seeds both have."""
  return [a[s] - b[s] for s in a if s in b]


# --------------------------------------------------------------------------- figures


def _plt():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _band(ax, x, runs, color, label):
  runs = np.asarray(runs)
  mean = runs.mean(0)
  sd = runs.std(0, ddof=1) if len(runs) > 1 else np.zeros_like(mean)
  ax.plot(x, mean, color=color, label=label)
  ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, linewidth=0)


def _axes_text(ax, title, xlabel, ylabel):
  ax.set_title(title)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.legend()


def _traj_rows(sweep: Sweep, method: str):
  idx = {int(r): i for i, r in enumerate(sweep.traj["run_id"])}
  return [idx[int(r["run_id"])] for r in sweep.base_rows(method)]


def fig_trajectories(sweep: Sweep, out: str) -> Optional[str]:
  """Learned-feature output s f(v_{s,k}) over steps, first feature of each group."""
  if sweep.traj is None:
    return None
  plt = _plt()
  groups = sweep.groups()
  counts = [int(sweep.rows[0][f"count_{g}"]) for g in groups]
  first = np.concatenate([[0], np.cumsum(counts)[:-1]])
  fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
  fo = sweep.traj["trajectories"]["feature_output"]  # [R, T, 2, K]
  for ax, g, k in zip(axes[0], groups, first):
    for m in sweep.methods(sweep.base_rows()):
      idx = _traj_rows(sweep, m)
      _band(ax, sweep.traj["step"][idx[0]], fo[idx][:, :, :, k].mean(-1), COLORS[m], m)
    _axes_text(ax, f"{g} feature (k={k})", "step", "learned-feature output s f(v_{s,k})")
  fig.suptitle(f"Feature learning over time (mean +- sd over seeds): {sweep.setting_text()}")
  return _save(fig, out, "trajectories.png")


def fig_noise(sweep: Sweep, out: str) -> Optional[str]:
  """rho (own-class filter) over steps, dominant vs background noise, per method."""
  if sweep.traj is None:
    return None
  plt = _plt()
  groups = sweep.groups()
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
  rm = sweep.traj["trajectories"]["rho_mean"]  # [R, T, own/other, dom/bg, G]
  for t, (ax, kind) in enumerate(zip(axes, ("dominant", "background"))):
    for m in sweep.methods(sweep.base_rows()):
      idx = _traj_rows(sweep, m)
      w = np.array([[float(r[f"n_train_{g}"]) for g in groups] for r in sweep.base_rows(m)])
      curves = (rm[idx][:, :, 0, t, :] * w[:, None, :]).sum(-1) / w.sum(-1)[:, None]
      _band(ax, sweep.traj["step"][idx[0]], curves, COLORS[m], m)
    _axes_text(ax, f"{kind} noise", "step", "mean rho (own-class filter)")
  fig.suptitle(f"Noise memorisation: {sweep.setting_text()}")
  return _save(fig, out, "noise_memorisation.png")


def fig_evenness(sweep: Sweep, out: str) -> Optional[str]:
  plt = _plt()
  rows = sweep.base_rows()
  methods = sweep.methods(rows)
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
  for ax, split in zip(axes, ("train", "test")):
    bottom = np.zeros(len(methods))
    for role, color in zip(ROLES, ("tab:purple", "tab:red", "tab:gray")):
      vals = np.array([col([r for r in rows if r["method"] == m], f"share_{split}_{role}").mean()
                       for m in methods])
      ax.bar(methods, vals, bottom=bottom, color=color, label=role)
      bottom += vals
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of |per-patch output|")
    ax.set_xlabel("method")
    ax.set_title(f"{split} points")
    ax.legend(fontsize=8)
  fig.suptitle(f"Evenness (which patches carry the output): {sweep.setting_text()}")
  return _save(fig, out, "evenness.png")


def learning_threshold(freqs, probe, common) -> float:
  """Largest frequency, scanning from frequent to rare, where probe / common margin drops
  below THRESHOLD_FRACTION (log-linear interpolation); nan if it never does; the largest
  frequency if it starts below."""
  order = np.argsort(freqs)[::-1]
  f, ratio = np.asarray(freqs)[order], (np.asarray(probe) / np.asarray(common))[order]
  if ratio[0] < THRESHOLD_FRACTION:
    return float(f[0])
  for i in range(1, len(f)):
    if ratio[i] < THRESHOLD_FRACTION:
      a, b = ratio[i - 1] - THRESHOLD_FRACTION, THRESHOLD_FRACTION - ratio[i]
      w = a / (a + b)
      return float(np.exp((1 - w) * np.log(f[i - 1]) + w * np.log(f[i])))
  return float("nan")


def rarity_thresholds(sweep: Sweep, method: str) -> dict:
  """Per seed: the probe's learning threshold (see learning_threshold)."""
  rows = [r for r in sweep.rows if r["method"] == method]
  out = {}
  for seed in sorted({r["seed"] for r in rows}):
    rs = sorted([r for r in rows if r["seed"] == seed], key=lambda r: float(r["probe_freq"]))
    out[seed] = learning_threshold(col(rs, "probe_freq"), col(rs, "margin_probe"),
                                   col(rs, "margin_common"))
  return out


def fig_rarity(sweep: Sweep, out: str) -> Optional[str]:
  if "probe_freq" not in sweep.labels or len(sweep.others) > 1:  # (phase grids: fig_phase)
    return None
  plt = _plt()
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    freqs = sorted({float(r["probe_freq"]) for r in rows})
    for ax, name in zip(axes, ("margin_probe", "test_acc_probe")):
      qs = [interval(col([r for r in rows if float(r["probe_freq"]) == f], name)) for f in freqs]
      mean = np.array([q["mean"] for q in qs])
      err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for q in qs]).T
      ax.errorbar(freqs, mean, yerr=np.nan_to_num(err), color=COLORS[m], marker="o", ms=3,
                  capsize=2, label=m)
    th = interval([np.log2(x) for x in rarity_thresholds(sweep, m).values() if np.isfinite(x)])
    if th["n"]:
      for ax in axes:
        ax.axvline(2 ** th["mean"], color=COLORS[m], ls="--", lw=1)
  for ax, name in zip(axes, ("probe feature margin", "test accuracy on probe points")):
    ax.set_xscale("log")
    ax.set_xlabel("probe feature frequency per sample")
    ax.set_ylabel(name)
    ax.legend()
  axes[1].axhline(0.5, color="k", lw=0.5)
  rows = sweep.rows
  fig.suptitle(f"Rarity (95% intervals; dashed: margin < {THRESHOLD_FRACTION} x common): "
               f"n={rows[0]['n']}, d={rows[0]['d']}, P={rows[0]['P']}, T={rows[0]['steps']}, "
               f"seeds={len({r['seed'] for r in rows})}")
  return _save(fig, out, "rarity.png")


def rare_group(sweep: Sweep) -> str:
  g = sweep.groups()
  return "rare" if "rare" in g else g[min(1, len(g) - 1)]


def fig_noise_grid(sweep: Sweep, out: str) -> Optional[str]:
  if not {"sigma_d", "sigma_b"} <= set(sweep.labels):
    return None
  plt = _plt()
  rare = rare_group(sweep)
  sd = sorted({float(r["sigma_d"]) for r in sweep.rows})
  sb = sorted({float(r["sigma_b"]) for r in sweep.rows})
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.6), squeeze=False,
                           layout="constrained")
  for ax, m in zip(axes[0], methods):
    grid = np.full((len(sd), len(sb)), np.nan)
    for i, a in enumerate(sd):
      for j, b in enumerate(sb):
        v = [float(r[f"test_acc_{rare}"]) for r in sweep.rows if r["method"] == m
             and float(r["sigma_d"]) == a and float(r["sigma_b"]) == b]
        grid[i, j] = np.mean(v) if v else np.nan
    im = ax.imshow(grid, origin="lower", vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    for i in range(len(sd)):
      for j in range(len(sb)):
        ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(len(sb)), [f"{b:.3g}" for b in sb])
    ax.set_yticks(range(len(sd)), [f"{a:.3g}" for a in sd])
    ax.set_xlabel("sigma_b (background noise)")
    ax.set_ylabel("sigma_d (dominant noise)")
    ax.set_title(m)
  fig.colorbar(im, ax=axes[0].tolist(), label=f"test accuracy, {rare} group")
  r = sweep.rows[0]
  fig.suptitle(f"{rare}-group accuracy over noise levels: n={r['n']}, d={r['d']}, P={r['P']}, "
               f"T={r['steps']}, seeds={len({x['seed'] for x in sweep.rows})}")
  return _save(fig, out, "noise_heatmap.png")


def fig_phase(sweep: Sweep, out: str) -> Optional[str]:
  """Probe-group test accuracy over (probe frequency, sigma_d), mean over seeds, per method."""
  if not {"probe_freq", "sigma_d"} <= set(sweep.labels):
    return None
  plt = _plt()
  fq = np.array([float(r["probe_freq"]) for r in sweep.rows])
  sd = np.array([float(r["sigma_d"]) for r in sweep.rows])
  acc = col(sweep.rows, "test_acc_probe")
  meth = np.array([r["method"] for r in sweep.rows])
  xs, xi = np.unique(fq, return_inverse=True)
  ys, yi = np.unique(sd, return_inverse=True)
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(max(6.5, 4.6 * len(methods)), 4.2),
                           squeeze=False, layout="constrained")
  from matplotlib.ticker import NullFormatter
  for ax, m in zip(axes[0], methods):
    sel = meth == m
    total, count = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
    np.add.at(total, (yi[sel], xi[sel]), acc[sel])
    np.add.at(count, (yi[sel], xi[sel]), 1)
    grid = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    im = ax.pcolormesh(xs, ys, grid, shading="nearest", vmin=0.5, vmax=1.0, cmap="viridis")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("probe feature frequency per sample")
    ax.set_ylabel("sigma_d (dominant noise)")
    ax.set_title(m)
  fig.colorbar(im, ax=axes[0].tolist(), label="test accuracy, probe group")
  r = sweep.rows[0]
  fig.suptitle(f"Phase diagram ({len(xs)} x {len(ys)} points, "
               f"{len({x['seed'] for x in sweep.rows})} seeds)\nn={r['n']}, d={r['d']}, "
               f"P={r['P']}, T={r['steps']}")
  return _save(fig, out, "phase.png")


def fig_cutsize(sweep: Sweep, out: str) -> Optional[str]:
  if not {"C", "P"} <= set(sweep.labels):
    return None
  plt = _plt()
  Ps = sorted({int(r["P"]) for r in sweep.rows})
  groups = sweep.groups()
  fig, axes = plt.subplots(1, len(Ps), figsize=(4.2 * len(Ps), 3.6), squeeze=False)
  cmap = plt.get_cmap("tab10")
  for ax, P in zip(axes[0], Ps):
    rows = [r for r in sweep.rows if int(r["P"]) == P]
    cut = [r for r in rows if r["method"] == "cutout"]
    Cs = sorted({int(r["C"]) for r in cut})
    for gi, g in enumerate(groups):
      acc = [col([r for r in cut if int(r["C"]) == C], f"test_acc_{g}").mean() for C in Cs]
      ax.plot(Cs, acc, marker="o", color=cmap(gi), label=f"Cutout, {g}")
      for m, ls in (("erm", ":"), ("cutmix", "--")):
        ref = [r for r in rows if r["method"] == m]
        if ref:
          ax.axhline(col(ref, f"test_acc_{g}").mean(), color=cmap(gi), ls=ls, lw=1)
    ax.set_xticks(Cs)
    ax.set_xlabel("cut size C")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"P={P} (dotted: ERM, dashed: CutMix)")
    ax.legend(fontsize=7)
  r = sweep.rows[0]
  fig.suptitle(f"Accuracy per rarity group vs cut size: n={r['n']}, d={r['d']}, T={r['steps']}, "
               f"seeds={len({x['seed'] for x in sweep.rows})}")
  return _save(fig, out, "cutsize.png")


def dimension_curve(sweep: Sweep, a: str, b: str, column: str) -> list[tuple[float, dict]]:
  """[(d, interval of the paired a - b difference of column)] over the grid's d values."""
  out = []
  for d in sorted({float(r["d"]) for r in sweep.rows}):
    rows = [r for r in sweep.rows if float(r["d"]) == d]
    diff = paired(by_seed([r for r in rows if r["method"] == a], column),
                  by_seed([r for r in rows if r["method"] == b], column))
    out.append((d, interval(diff)))
  return out


def crossover(curve: list[tuple[float, dict]]) -> float:
  """The smallest d from which every interval lies above 0 (nan if none)."""
  for i, (d, _) in enumerate(curve):
    if all(q["n"] > 1 and q["lo"] > 0 for _, q in curve[i:]):
      return d
  return float("nan")


def fig_dimension(sweep: Sweep, out: str) -> Optional[str]:
  if "d" not in sweep.labels:
    return None
  plt = _plt()
  rare = rare_group(sweep)
  fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    dims = sorted({float(r["d"]) for r in rows})
    for ax, name in zip(axes[:2], ("test_acc", f"test_acc_{rare}")):
      qs = [interval(col([r for r in rows if float(r["d"]) == d], name)) for d in dims]
      err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for q in qs]).T
      ax.errorbar(dims, [q["mean"] for q in qs], yerr=np.nan_to_num(err), color=COLORS[m],
                  marker="o", ms=3, capsize=2, label=m)
  for other in ("erm", "cutout"):
    if {"cutmix", other} <= set(sweep.methods()):
      curve = dimension_curve(sweep, "cutmix", other, "test_acc")
      err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for _, q in curve]).T
      axes[2].errorbar([d for d, _ in curve], [q["mean"] for _, q in curve],
                       yerr=np.nan_to_num(err), color=COLORS[other], marker="o", ms=3,
                       capsize=2, label=f"cutmix - {other}")
  axes[2].axhline(0, color="k", lw=0.5)
  for ax, name in zip(axes, ("overall test accuracy", f"{rare}-group test accuracy",
                             "paired difference in overall test accuracy")):
    ax.set_xscale("log")
    ax.set_xlabel("dimension d (sigma^2 d fixed)")
    ax.set_ylabel(name)
    ax.legend()
  rows = sweep.rows
  fig.suptitle(f"Dimension (95% intervals over seeds): n={rows[0]['n']}, P={rows[0]['P']}, "
               f"T={rows[0]['steps']}, backend={rows[0].get('backend', 'direct')}, "
               f"seeds={len({r['seed'] for r in rows})}")
  return _save(fig, out, "dimension.png")


def _save(fig, out, name) -> str:
  path = os.path.join(out, name)
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  fig.savefig(path, dpi=110)
  _plt().close(fig)
  return path


FIGURES = (fig_trajectories, fig_noise, fig_rarity, fig_noise_grid, fig_phase, fig_cutsize,
           fig_dimension, fig_evenness)


# --------------------------------------------------------------------------- claims


def claims(sweep: Sweep) -> list[dict]:
  """The paper's claims that this sweep can test, each with its numbers and verdict."""
  rows = sweep.base_rows()
  methods = sweep.methods(rows)
  groups = sweep.groups()
  out = []

  def add(cid, text, verdict, how, **quantities):
    out.append({"id": cid, "claim": text, "verdict": verdict, "test": how,
                "quantities": quantities})

  def per(m, name):
    return by_seed([r for r in rows if r["method"] == m], name)

  def ratio(m, g):
    a, c = per(m, f"margin_{g}"), per(m, f"margin_{groups[0]}")
    return {s: a[s] / c[s] for s in a if s in c and c[s] != 0}

  have = set(methods) == set(METHOD_ORDER)
  if have and len(groups) >= 3:
    rare, extreme = groups[1], groups[-1]
    r_erm, r_cut, r_mix = (ratio(m, rare) for m in METHOD_ORDER)
    x_cut, x_mix = ratio("cutout", extreme), ratio("cutmix", extreme)
    erm_ratio = interval(list(r_erm.values()))
    erm_train = interval(list(per("erm", "train_acc").values()))
    erm_rare_acc = interval(list(per("erm", f"test_acc_{rare}").values()))
    ok = (erm_ratio["mean"] < 0.25 and erm_train["mean"] >= 0.99
          and erm_rare_acc["mean"] < 0.7)
    add("erm_misses_rare", "ERM learns common features, memorises noise on rare-feature data: "
        "it fits the training set but is near chance on rare-feature test points",
        "supported" if ok else "contradicted",
        f"mean {rare}/{groups[0]} margin ratio < 0.25, train acc >= 0.99, {rare} test acc < 0.7",
        erm_rare_over_common_margin=erm_ratio, erm_train_acc=erm_train,
        erm_rare_test_acc=erm_rare_acc)
    d = interval(paired(r_cut, r_erm))
    add("cutout_learns_rare", "Cutout learns rare features (more than ERM)", side(d),
        f"paired (Cutout - ERM) {rare}/{groups[0]} margin ratio > 0", difference=d,
        cutout_ratio=interval(list(r_cut.values())))
    d1 = interval(paired(x_cut, r_cut))
    d2 = interval(paired(x_mix, x_cut))
    v = both(side(d1, -1), side(d2))
    add("cutout_misses_extreme", "Cutout does not learn extremely rare features (as it does "
        "rare ones, and as CutMix does)", v,
        f"paired Cutout ({extreme} - {rare}) ratio < 0 and (CutMix - Cutout) {extreme} ratio > 0",
        cutout_extreme_minus_rare=d1, cutmix_minus_cutout_extreme=d2)
    d1, d2 = interval(paired(r_mix, r_cut)), interval(paired(x_mix, x_cut))
    v = both(side(d1), side(d2))
    add("cutmix_learns_all", "CutMix learns all features: the most even margins across rarity",
        v, f"paired (CutMix - Cutout) {rare}/{groups[0]} and {extreme}/{groups[0]} margin "
        "ratios > 0", rare_ratio_difference=d1, extreme_ratio_difference=d2,
        cutmix_rare_ratio=interval(list(r_mix.values())),
        cutmix_extreme_ratio=interval(list(x_mix.values())))
    acc = {m: per(m, f"test_acc_{rare}") for m in METHOD_ORDER}
    d1 = interval(paired(acc["cutout"], acc["erm"]))
    d2 = interval(paired(acc["cutmix"], acc["cutout"]))
    v = both(side(d1), side(d2))
    add("rare_accuracy_order", f"{rare}-group test accuracy: ERM < Cutout < CutMix", v,
        "paired differences > 0", cutout_minus_erm=d1, cutmix_minus_cutout=d2,
        **{f"{m}_{rare}_test_acc": interval(list(acc[m].values())) for m in METHOD_ORDER})
  if have:
    tot = {m: per(m, "test_acc") for m in METHOD_ORDER}
    d1 = interval(paired(tot["cutmix"], tot["erm"]))
    d2 = interval(paired(tot["cutmix"], tot["cutout"]))
    v = both(side(d1), side(d2))
    add("cutmix_best_accuracy", "CutMix reaches the best (overall) test accuracy", v,
        "paired (CutMix - ERM) and (CutMix - Cutout) overall test accuracy > 0",
        cutmix_minus_erm=d1, cutmix_minus_cutout=d2,
        **{f"{m}_test_acc": interval(list(tot[m].values())) for m in METHOD_ORDER})
    spread = {m: {s: max(v) - min(v) for s, v in _shares(rows, m).items()} for m in METHOD_ORDER}
    d = interval(paired(spread["erm"], spread["cutmix"]))
    add("cutmix_even_activation", "CutMix activates nearly uniformly across patches (its "
        "train output shares are more even than ERM's)", side(d),
        "paired (ERM - CutMix) spread (max - min) of train output shares over patch roles > 0",
        difference=d, cutmix_spread=interval(list(spread["cutmix"].values())),
        erm_spread=interval(list(spread["erm"].values())))
  if "cutmix" in methods and sweep.traj is not None:
    bump = _nonmonotone(sweep)
    excess = {k: (v - OVERSHOOT if k in ("mean", "lo", "hi") else v) for k, v in bump.items()}
    add("cutmix_common_nonmonotone", "CutMix's common-feature output can move "
        "non-monotonically in time", side(excess),
        f"(peak - final) / final of the {groups[0]}-group learned-feature output > "
        f"{OVERSHOOT}", overshoot=bump)
  if "probe_freq" in sweep.labels and have:
    th = {m: rarity_thresholds(sweep, m) for m in METHOD_ORDER}
    log = {m: {s: math.log2(x) for s, x in th[m].items() if math.isfinite(x)} for m in th}
    d1 = interval(paired(log["erm"], log["cutout"]))
    d2 = interval(paired(log["erm"], log["cutmix"]))
    v = both(side(d1), side(d2))
    add("rarity_thresholds", "Cutout and CutMix learn rarer features than ERM (lower "
        "learning threshold on the rarity curve)", v,
        f"paired log2 threshold (ERM - method) > 0; threshold = frequency where the probe "
        f"margin falls below {THRESHOLD_FRACTION} x the common margin",
        erm_minus_cutout_log2=d1, erm_minus_cutmix_log2=d2,
        **{f"{m}_log2_threshold": interval(list(log[m].values())) for m in METHOD_ORDER})
  if "d" in sweep.labels and have:
    curve = dimension_curve(sweep, "cutmix", "erm", "test_acc")
    at = {f"d={d:g}": q for d, q in curve}
    cross = crossover(curve)
    add("cutmix_overtakes_erm_with_d", "CutMix's overall test accuracy exceeds ERM's once d is "
        "large (the paper's regime, d >> n (sigma_d / sigma_b)^2)", side(curve[-1][1]),
        f"paired (CutMix - ERM) overall test accuracy > 0 at the largest d; crossover: the "
        f"smallest d from which it stays > 0 is {cross:g}", crossover_d={
            "mean": cross, "lo": float("nan"), "hi": float("nan"), "n": 1}, **at)
  return out


def _shares(rows, m):
  return {r["seed"]: [float(r[f"share_train_{role}"]) for role in ROLES]
          for r in rows if r["method"] == m}


def _nonmonotone(sweep: Sweep) -> dict:
  groups = sweep.groups()
  count = int(sweep.rows[0][f"count_{groups[0]}"])
  fo = sweep.traj["trajectories"]["feature_output"]
  vals = []
  for i in _traj_rows(sweep, "cutmix"):
    curve = fo[i][:, :, :count].mean(axis=(1, 2))
    vals.append((curve.max() - curve[-1]) / abs(curve[-1]))
  return interval(vals)


def summary_markdown(sweep: Sweep, results: list[dict], figures: list[str]) -> str:
  g = sweep.grid
  lines = [f"# jaxcut report: grid `{g['name']}` ({g['size']} size)", "",
           f"{len(sweep.rows) + len(sweep.diverged)} runs; claims are tested on the base "
           f"setting: {sweep.setting_text()}. jaxcut {sweep.manifest['jaxcut_version']}, "
           f"jax {sweep.manifest['jax_version']}, {sweep.manifest['backend']}.", "",
           "Verdicts: *supported* when the 95% interval over seeds lies on the claimed side, "
           "*contradicted* when it lies on the other, *inconclusive* otherwise. Numbers are "
           "mean [95% interval] (n seeds).", ""]
  if sweep.diverged:
    lines += [f"**Diverged runs, left out**: {', '.join(map(str, sweep.diverged))}.", ""]
  lines += ["| claim | verdict | test | numbers |", "|---|---|---|---|"]
  for c in results:
    nums = "<br>".join(f"{k}: {fmt(q)}" for k, q in c["quantities"].items())
    lines.append(f"| {c['claim']} | **{c['verdict']}** | {c['test']} | {nums} |")
  if not results:
    lines.append("| (this grid has no three-method comparison to test) | | | |")
  lines += ["", "## Figures", ""]
  lines += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figures]
  return "\n".join(lines) + "\n"


def write_report(path: str) -> tuple[str, list[str]]:
  """Write DIR/report/{*.png, summary.md, claims.json}; returns (summary path, figures)."""
  sweep = Sweep(path)
  if not sweep.rows:
    raise ValueError(f"{path}: no finished, non-diverged runs to report")
  out = os.path.join(path, "report")
  os.makedirs(out, exist_ok=True)
  figures = [f for f in (fn(sweep, out) for fn in FIGURES) if f]
  results = claims(sweep)
  io.write_json(os.path.join(out, "claims.json"), {"grid": sweep.grid["name"],
                                                   "diverged": sweep.diverged,
                                                   "claims": results})
  summary = os.path.join(out, "summary.md")
  with open(summary, "w") as f:
    f.write(summary_markdown(sweep, results, figures))
  return summary, figures


def main(argv: Sequence[str]) -> int:
  from jaxcut.cli import UsageError
  args = [a for a in argv[1:]]
  if len(args) != 1 or args[0].startswith("-"):
    raise UsageError("usage: python -m jaxcut.report SWEEP_DIR")
  if not os.path.exists(os.path.join(args[0], "results.csv")):
    raise UsageError(f"{args[0]} holds no results.csv (run python -m jaxcut.sweep first)")
  summary, figures = write_report(args[0])
  print(f"wrote {len(figures)} figures and {summary}")
  return 0


if __name__ == "__main__":
  from jaxcut.cli import run
  run(main)
