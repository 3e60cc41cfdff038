"""Report figures, each chosen by the grid's axes: a function of (sweep, out dir) that
saves a PNG into out (unless out is None) and returns `Drawn(path, figure)`, or None when
the grid has nothing for it to show. In a notebook:

    from jaxcut.analysis.figures import fig_rarity
    from jaxcut.analysis.sweepdata import Sweep
    fig_rarity(Sweep("runs/rarity-cpu")).figure

Quantities are named as in docs/model.md: *feature output* s f_W(v_{s,k}) (the network on
the feature alone) and *feature margin* sum_j <w_{s,j} - w_{-s,j}, v_{s,k}>.
"""

from __future__ import annotations

import math
import os
import textwrap
from typing import NamedTuple, Optional

import numpy as np

from jaxcut.analysis import thresholds
from jaxcut.analysis.sweepdata import Sweep, by_seed, col, extreme_of, rare_of
from jaxcut.stats import interval, paired

COLORS = {"erm": "tab:blue", "cutout": "tab:orange", "cutmix": "tab:green"}
ROLES = ("feature", "dominant", "background")
OUTPUT_LABEL = "feature output s f(v)"
MARGIN_LABEL = "feature margin sum_j <w_s - w_-s, v>"


def _plt():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def _title(fig, text: str, width: int = 110) -> None:
  fig.suptitle("\n".join(textwrap.wrap(text, width)), fontsize=10)


def _shape(sweep: Sweep, *skip: str) -> str:
  """'n=.., d=.., P=.., T=.., seeds=..' of the sweep's first run (without `skip`)."""
  r = sweep.rows[0]
  parts = {"n": r["n"], "d": r["d"], "P": r["P"], "T": r["steps"], "seeds": sweep.seeds()}
  return ", ".join(f"{k}={v}" for k, v in parts.items() if k not in skip)


def _band(ax, x, runs, color, label):
  runs = np.asarray(runs)
  mean = runs.mean(0)
  sd = runs.std(0, ddof=1) if len(runs) > 1 else np.zeros_like(mean)
  ax.plot(x, mean, color=color, label=label)
  ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, linewidth=0)


def _errorbar(ax, x, qs, **kw):
  mean = np.array([q["mean"] for q in qs])
  err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for q in qs]).T
  ax.errorbar(x, mean, yerr=np.nan_to_num(err), marker="o", ms=3, capsize=2, **kw)


def _axes_text(ax, title, xlabel, ylabel, legend=True):
  ax.set_title(title, fontsize=10)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if legend and ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=8)


def _traj(sweep: Sweep, method: str, name: str):
  """(steps, [R, time, ...] trajectory `name`) of the method's runs at the base setting."""
  ids = [r["run_id"] for r in sweep.base_rows(method)]
  return sweep.steps(ids[0]), sweep.trajectory(ids, name)


def fig_trajectories(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Feature output s f(v_{s,k}) over steps, first feature of each group (Figure 1)."""
  plt = _plt()
  groups = sweep.groups()
  counts = [int(sweep.rows[0][f"count_{g}"]) for g in groups]
  first = np.concatenate([[0], np.cumsum(counts)[:-1]])
  show = sorted(set(np.linspace(0, len(groups) - 1, min(4, len(groups))).round().astype(int)))
  fig, axes = plt.subplots(1, len(show), figsize=(4.2 * len(show), 3.8), squeeze=False)
  fo = {m: _traj(sweep, m, "feature_output") for m in sweep.methods(sweep.base_rows())}
  for ax, g, k in zip(axes[0], [groups[i] for i in show], first[show]):
    for m, (steps, f) in fo.items():  # f: [R, time, 2, K]
      _band(ax, steps, f[:, :, :, k].mean(-1), COLORS[m], m)
    _axes_text(ax, f"{g} feature (k={k})", "step", OUTPUT_LABEL)
  _title(fig, f"Feature learning over time (mean +- sd over seeds; output on the feature "
         f"alone, both signs averaged): {sweep.setting_text()}")
  return _save(fig, out, "trajectories.png")


def fig_noise(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """rho (own-class filter) over steps, dominant vs background noise, per method."""
  plt = _plt()
  groups = sweep.groups()
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
  for t, (ax, kind) in enumerate(zip(axes, ("dominant", "background"))):
    for m in sweep.methods(sweep.base_rows()):
      steps, rm = _traj(sweep, m, "rho_mean")  # [R, time, own/other, dom/bg, G]
      w = np.array([[float(r[f"n_train_{g}"]) for g in groups] for r in sweep.base_rows(m)])
      curves = (rm[:, :, 0, t, :] * w[:, None, :]).sum(-1) / w.sum(-1)[:, None]
      _band(ax, steps, curves, COLORS[m], m)
    _axes_text(ax, f"{kind} noise", "step", "mean rho (own-class filter)")
  _title(fig, f"Noise memorisation: {sweep.setting_text()}", 80)
  return _save(fig, out, "noise_memorisation.png")


def fig_evenness(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  plt = _plt()
  rows = sweep.base_rows()
  methods = sweep.methods(rows)
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
  for ax, split in zip(axes, ("train", "test")):
    bottom = np.zeros(len(methods))
    for role, color in zip(ROLES, ("tab:purple", "tab:red", "tab:gray")):
      vals = np.array([col([r for r in rows if r["method"] == m], f"share_{split}_{role}").mean()
                       for m in methods])
      ax.bar(methods, vals, bottom=bottom, color=color, label=f"{role} patch")
      bottom += vals
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of |per-patch output|")
    ax.set_xlabel("method")
    ax.set_title(f"{split} points", fontsize=10)
  axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
  _title(fig, f"Evenness (which patches carry the output): {sweep.setting_text()}", 90)
  return _save(fig, out, "evenness.png")


def fig_rarity(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if "probe_freq" not in sweep.labels or len(sweep.others) > 1:  # (phase grids: fig_phase)
    return None
  plt = _plt()
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    freqs = sorted({float(r["probe_freq"]) for r in rows})
    for ax, name in zip(axes, ("test_acc_probe", "output_probe", "margin_probe")):
      qs = [interval(col([r for r in rows if float(r["probe_freq"]) == f], name)) for f in freqs]
      _errorbar(ax, freqs, qs, color=COLORS[m], label=m)
    th = interval([math.log2(x) for x in thresholds.per_seed(
        sweep.rows, m, "probe_freq", "test_acc_probe").values()])
    if th["n"]:
      for ax in axes:
        ax.axvline(2 ** th["mean"], color=COLORS[m], ls="--", lw=1,
                   label=f"{m} threshold" if ax is axes[0] else None)
  for ax, name in zip(axes, ("test accuracy on probe-feature points",
                             f"probe {OUTPUT_LABEL}", f"probe {MARGIN_LABEL}")):
    ax.set_xscale("log")
    _axes_text(ax, "", "probe feature frequency per sample", name)
  axes[0].axhline(thresholds.ACC_LEVEL, color="k", lw=0.5, ls=":")
  axes[0].axhline(0.5, color="k", lw=0.5)
  _title(fig, f"Rarity (95% intervals over seeds; dashed: each method's learning threshold, "
         f"where probe test accuracy falls below {thresholds.ACC_LEVEL}): {_shape(sweep)}")
  return _save(fig, out, "rarity.png")


def fig_noise_grid(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if not {"sigma_d", "sigma_b"} <= set(sweep.labels) or {"arm", "ratio"} & set(sweep.labels):
    return None
  plt = _plt()
  groups = sweep.groups()
  rare = rare_of(groups)
  sd = sorted({float(r["sigma_d"]) for r in sweep.rows})
  sb = sorted({float(r["sigma_b"]) for r in sweep.rows})
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.8), squeeze=False,
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
    _axes_text(ax, m, "sigma_b (background noise)", "sigma_d (dominant noise)", legend=False)
  fig.colorbar(im, ax=axes[0].tolist(), label=f"test accuracy, {rare} group")
  _title(fig, f"{rare}-group test accuracy over noise levels (mean over seeds): "
         f"{_shape(sweep)}")
  return _save(fig, out, "noise_heatmap.png")


def _cell_means(x, y, values, sel=None):
  """(xs, ys, grid [len(ys), len(xs)]): the mean of `values` in each (x, y) cell (NaN where
  none), over the rows where `sel` holds."""
  xs, xi = np.unique(x, return_inverse=True)
  ys, yi = np.unique(y, return_inverse=True)
  sel = np.ones(len(values), bool) if sel is None else sel
  total, count = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
  np.add.at(total, (yi[sel], xi[sel]), values[sel])
  np.add.at(count, (yi[sel], xi[sel]), 1)
  return xs, ys, np.where(count > 0, total / np.maximum(count, 1), np.nan)


def fig_phase(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Probe-group test accuracy over (probe frequency, sigma_d), mean over seeds, per method."""
  if not {"probe_freq", "sigma_d"} <= set(sweep.labels):
    return None
  plt = _plt()
  fq = np.array([float(r["probe_freq"]) for r in sweep.rows])
  sd = np.array([float(r["sigma_d"]) for r in sweep.rows])
  acc = col(sweep.rows, "test_acc_probe")
  meth = np.array([r["method"] for r in sweep.rows])
  methods = sweep.methods()
  fig, axes = plt.subplots(1, len(methods), figsize=(max(6.5, 4.6 * len(methods)), 4.4),
                           squeeze=False, layout="constrained")
  from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
  for ax, m in zip(axes[0], methods):
    xs, ys, grid = _cell_means(fq, sd, acc, meth == m)
    im = ax.pcolormesh(xs, ys, grid, shading="nearest", vmin=0.5, vmax=1.0, cmap="viridis")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):  # ticks at 1, 2, 5 x 10^k, plain numbers
      axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
      axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
      axis.set_minor_formatter(NullFormatter())
    _axes_text(ax, m, "probe feature frequency per sample", "sigma_d (dominant noise)",
               legend=False)
  fig.colorbar(im, ax=axes[0].tolist(), label="test accuracy, probe group")
  _title(fig, f"Phase diagram ({len(xs)} x {len(ys)} points): {_shape(sweep)}", 70)
  return _save(fig, out, "phase.png")


def fig_cutsize(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  if not {"C", "P"} <= set(sweep.labels):
    return None
  if {"ratio", "rare_mass"} <= set(sweep.labels):
    return fig_cutsize_surface(sweep, out)
  plt = _plt()
  Ps = sorted({int(r["P"]) for r in sweep.rows})
  groups = sweep.groups()
  fig, axes = plt.subplots(1, len(Ps), figsize=(4.2 * len(Ps), 3.8), squeeze=False)
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
    _axes_text(ax, f"P={P} (dotted: ERM, dashed: CutMix)", "cut size C", "test accuracy")
  _title(fig, f"Test accuracy per rarity group vs cut size (mean over seeds): "
         f"{_shape(sweep, 'P')}")
  return _save(fig, out, "cutsize.png")


def fig_cutsize_surface(sweep: Sweep, out: Optional[str] = None) -> Drawn:
  """Per setting and P: the best cut size C over (sigma_d / sigma_b) x rare mass, for the
  rare group's and the overall test accuracy; each cell's colour is the best C/P, its text
  the best C and best - runner-up (paired, 95% interval; * when it excludes 0)."""
  from jaxcut.analysis.claims import best_cut, cutsize_cells
  plt = _plt()
  groups = sweep.groups()
  rare = rare_of(groups)
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  Ps = sorted({int(r["P"]) for r in sweep.rows})
  targets = ((f"{rare}-group", f"test_acc_{rare}"), ("overall", "test_acc"))
  nrow = len(settings) * len(targets)
  fig, axes = plt.subplots(nrow, len(Ps), figsize=(4.0 * len(Ps), 3.3 * nrow), squeeze=False,
                           layout="constrained")
  for si, setting in enumerate(settings):
    rows = [r for r in sweep.rows if r.get("setting", "") == setting]
    for ti, (name, column) in enumerate(targets):
      cells = cutsize_cells(rows, column)
      ratios = sorted({k[1] for k in cells})
      masses = sorted({k[2] for k in cells})
      for ax, P in zip(axes[si * len(targets) + ti], Ps):
        share = np.full((len(masses), len(ratios)), np.nan)
        for i, q in enumerate(masses):
          for j, r in enumerate(ratios):
            if (P, r, q) not in cells:
              continue
            b, ru, d = best_cut(cells[(P, r, q)])
            share[i, j] = b / P
            star = "*" if d["n"] >= 2 and d["lo"] > 0 else ""
            ax.text(j, i, f"C={b}\n+{d['mean']:.3f}{star}", ha="center", va="center",
                    fontsize=7, color="white" if b / P < 0.5 else "black")
        im = ax.imshow(share, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(ratios)), [f"{r:g}" for r in ratios])
        ax.set_yticks(range(len(masses)), [f"{q:g}" for q in masses])
        _axes_text(ax, f"{setting + ': ' if setting else ''}P={P}, best C for {name} accuracy",
                   "sigma_d / sigma_b", f"{rare} group mass", legend=False)
  fig.colorbar(im, ax=axes, shrink=0.6, label="best C / P")
  _title(fig, f"Best Cutout cut size per cell (text: best C and its mean lead over the "
         f"runner-up C, * = 95% interval above 0; {sweep.seeds()} seeds)")
  return _save(fig, out, "cutsize.png")


def dimension_curve(sweep: Sweep, a: str, b: str, column: str) -> list[tuple[float, dict]]:
  """[(d, interval of the paired a - b difference of column)] over the grid's d values."""
  out = []
  for d in sorted({float(r["d"]) for r in sweep.rows}):
    rows = [r for r in sweep.rows if float(r["d"]) == d]
    out.append((d, interval(paired(by_seed(rows, column, a), by_seed(rows, column, b)))))
  return out


def fig_dimension(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  # (cut-size surfaces: per setting; the benign heatmap: its own figure)
  if "d" not in sweep.labels or {"ratio", "mu"} & set(sweep.labels):
    return None
  plt = _plt()
  groups = sweep.groups()
  rare = rare_of(groups)
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.0))
  for m in sweep.methods():
    rows = [r for r in sweep.rows if r["method"] == m]
    dims = sorted({float(r["d"]) for r in rows})
    for ax, name in zip(axes[:2], ("test_acc", f"test_acc_{rare}")):
      qs = [interval(col([r for r in rows if float(r["d"]) == d], name)) for d in dims]
      _errorbar(ax, dims, qs, color=COLORS[m], label=m)
  for other in ("erm", "cutout"):
    if {"cutmix", other} <= set(sweep.methods()):
      curve = dimension_curve(sweep, "cutmix", other, "test_acc")
      _errorbar(axes[2], [d for d, _ in curve], [q for _, q in curve], color=COLORS[other],
                label=f"cutmix - {other}")
  axes[2].axhline(0, color="k", lw=0.5)
  for ax, name in zip(axes, ("overall test accuracy", f"{rare}-group test accuracy",
                             "paired difference in overall test accuracy")):
    ax.set_xscale("log")
    _axes_text(ax, "", "dimension d (sigma^2 d fixed)", name)
  _title(fig, f"Dimension (95% intervals over seeds): {_shape(sweep, 'd')}, "
         f"backend={sweep.rows[0].get('backend', 'direct')}")
  return _save(fig, out, "dimension.png")


def fig_threshold(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Threshold count against sigma^2 d on each arm, per method, fitted on log-log axes, with
  the lines count = sigma_d^2 d and count = sigma_b^2 d."""
  if "arm" not in sweep.labels:
    return None
  plt = _plt()
  arms = [a for a in ("sigma_d", "sigma_b") if any(r.get("arm") == a for r in sweep.rows)]
  fig, axes = plt.subplots(1, len(arms), figsize=(6 * len(arms), 4.4), squeeze=False)
  for ax, arm in zip(axes[0], arms):
    arm_rows = [r for r in sweep.rows if r["arm"] == arm]
    xs = []
    for m in sweep.methods():
      fit = thresholds.fitted_line(sweep.rows, m, arm)
      if not fit["x"]:
        continue
      xs = fit["x"]
      qs = [{"mean": a, "lo": lo, "hi": hi, "n": 2} for a, lo, hi in
            zip(fit["mean"], fit["lo"], fit["hi"])]
      _errorbar(ax, fit["x"], qs, color=COLORS[m], ls="none",
                label=f"{m}: exponent {fit['slope']:.2f} ({fit['clipped']} of {fit['total']} "
                      f"clipped)")
      if math.isfinite(fit["slope"]):
        x = np.array([min(fit["x"]), max(fit["x"])])
        ax.plot(x, np.exp(fit["icept"]) * x ** fit["slope"], color=COLORS[m], lw=1)
    r0 = arm_rows[0]
    d = float(r0["d"])
    x = np.array([min(xs), max(xs)]) if xs else np.array([1.0, 10.0])
    if arm == "sigma_d":
      ax.plot(x, x, "k--", lw=1, label="count = sigma_d^2 d")
      ax.axhline(float(r0["sigma_b"]) ** 2 * d, color="k", ls=":", lw=1,
                 label="count = sigma_b^2 d")
    else:
      ax.plot(x, x, "k:", lw=1, label="count = sigma_b^2 d")
      ax.axhline(float(r0["sigma_d"]) ** 2 * d, color="k", ls="--", lw=1,
                 label="count = sigma_d^2 d")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter
    ax.xaxis.set_minor_formatter(NullFormatter())
    other = "sigma_b" if arm == "sigma_d" else "sigma_d"
    _axes_text(ax, f"{arm} varies ({other}^2 d = {float(r0[other]) ** 2 * d:.3g})",
               f"{arm}^2 d", "threshold count (training points per signed feature)")
  _title(fig, f"Learning thresholds: the feature count where test accuracy on the feature's "
         f"points falls below {thresholds.ACC_LEVEL} (geometric mean and 95% interval over "
         f"seeds; lines: least-squares fit of the mean, slope = exponent): {_shape(sweep)}")
  return _save(fig, out, "threshold.png")


def fig_regime(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per-group test accuracy of each method at each candidate setting of a regime search."""
  if "setting" not in sweep.labels or {"law", "m", "ratio"} & set(sweep.labels):
    return None
  plt = _plt()
  groups = sweep.groups()
  settings = list(dict.fromkeys(r["setting"] for r in sweep.rows))
  fig, axes = plt.subplots(len(groups), 1, figsize=(max(8, 0.9 * len(settings) + 2),
                                                    2.6 * len(groups)),
                           squeeze=False, sharex=True)
  width = 0.25
  for ax, g in zip(axes[:, 0], groups):
    for i, m in enumerate(sweep.methods()):
      qs = [interval(col([r for r in sweep.rows if r["setting"] == s and r["method"] == m],
                         f"test_acc_{g}")) for s in settings]
      x = np.arange(len(settings)) + (i - 1) * width
      _errorbar(ax, x, qs, color=COLORS[m], ls="none", label=m)
    ax.axhline(0.5, color="k", lw=0.5)
    ax.set_ylim(0.45, 1.02)
    _axes_text(ax, f"{g} group", "", "test accuracy", legend=False)
  axes[0, 0].legend(fontsize=8, loc="lower left", ncol=3)
  axes[-1, 0].set_xticks(range(len(settings)), settings, rotation=30, ha="right")
  _title(fig, f"Regime search: per-group test accuracy of each method at each setting (mean "
         f"and 95% interval over {sweep.seeds()} seeds)", 80)
  return _save(fig, out, "regime.png")


def fig_mixing(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per mixing law (x: Var(lam) of the law), per setting: CutMix's test accuracy per group
  and overall, and its output evenness, against the ERM and Cutout baselines."""
  if "law" not in sweep.labels:
    return None
  from jaxcut.objectives import lambda_moments
  plt = _plt()
  groups = sweep.groups()
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  fig, axes = plt.subplots(len(settings), 3, figsize=(15, 3.9 * len(settings)), squeeze=False)
  cmap = plt.get_cmap("tab10")
  for row, setting in zip(axes, settings):
    rows = [r for r in sweep.rows if r.get("setting", "") == setting]
    mix = [r for r in rows if r["method"] == "cutmix"]
    laws = list(dict.fromkeys(r["law"] for r in mix))

    def var(law):
      r = next(x for x in mix if x["law"] == law)
      return lambda_moments(int(r["P"]), r["mixing"], float(r["mix_a"] or 1.0))[1]

    xs = [var(law) for law in laws]
    panels = [(row[0], [(g, f"test_acc_{g}") for g in groups[1:]], "test accuracy"),
              (row[1], [("overall", "test_acc")], "test accuracy"),
              (row[2], [("feature share", "share_train_feature")],
               "share of |output| from the feature patch (train)")]
    for ax, series, ylabel in panels:
      for i, (name, column) in enumerate(series):
        qs = [interval(col([r for r in mix if r["law"] == law], column)) for law in laws]
        _errorbar(ax, xs, qs, color=cmap(i), ls="none", label=f"CutMix, {name}")
        for m, ls in (("cutout", "--"), ("erm", ":")):
          base = [r for r in rows if r["method"] == m]
          if base:
            ax.axhline(col(base, column).mean(), color=cmap(i), ls=ls, lw=1,
                       label=f"{m}, {name}")
      for x, law in zip(xs, laws):
        ax.annotate(law, (x, ax.get_ylim()[0]), fontsize=6, rotation=90, va="bottom",
                    ha="center", color="gray")
      _axes_text(ax, f"{setting}", "Var(lam) of the mixing law (lam = |S| / P)", ylabel)
      ax.legend(fontsize=6)
  _title(fig, f"Mixing laws D_S: CutMix per law (95% intervals over seeds) against Cutout "
         f"(dashed) and ERM (dotted): {sweep.seeds()} seeds")
  return _save(fig, out, "mixing.png")


def fig_width(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per setting (rows) and activation (columns): rare- and extreme-group test accuracy of
  each method against the width m, with 95% intervals over seeds."""
  if not {"m", "activation"} <= set(sweep.labels):
    return None
  plt = _plt()
  groups = sweep.groups()
  rare = rare_of(groups)
  ext = extreme_of(groups)
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  acts = list(dict.fromkeys(r["activation"] for r in sweep.rows))
  fig, axes = plt.subplots(len(settings), len(acts), figsize=(4.2 * len(acts),
                           3.6 * len(settings)), squeeze=False, sharey=True)
  for row, setting in zip(axes, settings):
    for ax, act in zip(row, acts):
      rows = [r for r in sweep.rows if r.get("setting", "") == setting and r["activation"] == act]
      ms = sorted({int(r["m"]) for r in rows})
      for m_name in sweep.methods(rows):
        for group, ls in ((rare, "-"), (ext, "--")):
          qs = [interval(col([r for r in rows if r["method"] == m_name and int(r["m"]) == m],
                             f"test_acc_{group}")) for m in ms]
          _errorbar(ax, ms, qs, color=COLORS[m_name], ls=ls, label=f"{m_name}, {group}")
      ax.set_xscale("log", base=2)
      ax.set_xticks(ms, [str(m) for m in ms])
      _axes_text(ax, f"{setting}: {act}", "filters per class m", "test accuracy",
                 legend=(act == acts[0] and setting == settings[0]))
  _title(fig, f"Width and activation: rare (solid) and extremely rare (dashed) group test "
         f"accuracy per method, 95% intervals over {sweep.seeds()} seeds")
  return _save(fig, out, "width.png")


class Drawn(NamedTuple):
  """A figure function's result: the PNG it wrote (None when out is None) and the figure
  itself, for a notebook (close it with plt.close(drawn.figure) when done)."""
  path: Optional[str]
  figure: object


def fig_benign(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Kou et al.'s heatmap: mean test error (observed labels) over (||mu||, d), with the
  fitted boundary ||mu|| = (c sigma_p^4 d / n)^(1/4) (c and its 95% interval over seeds)
  and each d's mean benign threshold."""
  if not {"mu", "d"} <= set(sweep.labels):
    return None
  plt = _plt()
  rows = sweep.rows
  mu = np.array([float(r["mu"]) for r in rows])
  d = np.array([float(r["d"]) for r in rows])
  xs, ys, grid = _cell_means(mu, d, 1.0 - col(rows, "test_acc"))
  fig, ax = plt.subplots(figsize=(7.2, 5.0), layout="constrained")
  im = ax.pcolormesh(xs, ys, grid, shading="nearest", vmin=0.0, vmax=0.6, cmap="YlGnBu")
  fig.colorbar(im, ax=ax, label="test error (against the flipped test labels)")
  n, sigma_p = int(rows[0]["n"]), float(rows[0]["sigma_d"])
  fits = thresholds.benign_fits(rows, n, sigma_p)
  per_d = fits["thresholds"]
  mean_t = [np.nanmean([per_d[s].get(int(v), np.nan) for s in per_d]) for v in ys]
  ax.plot(mean_t, ys, "o", color="tab:red", ms=3.5,
          label=f"threshold (error <= {thresholds.BENIGN_ERROR}), mean over seeds")
  if len(fits["c"]) >= 2:
    logc = interval(math.log(x) for x in fits["c"].values())
    dd = np.linspace(ys.min(), ys.max(), 100)
    for key, style in (("mean", "-"), ("lo", ":"), ("hi", ":")):
      cc = math.exp(logc[key])
      ax.plot((cc * sigma_p ** 4 * dd / n) ** 0.25, dd, style, color="black", lw=1.4,
              label=(f"n ||mu||^4 = c sigma_p^4 d, c = {math.exp(logc['mean']):.3g} "
                     f"[{math.exp(logc['lo']):.3g}, {math.exp(logc['hi']):.3g}]"
                     if key == "mean" else None))
  _axes_text(ax, "", "signal norm ||mu||", "dimension d")
  _title(fig, f"Benign overfitting ({len(xs)} x {len(ys)} cells): "
              f"{_shape(sweep, 'd')}, label flips {rows[0]['label_flip']}", 80)
  return _save(fig, out, "benign.png")


def _save(fig, out, name) -> Drawn:
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  path = None
  if out is not None:
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
  return Drawn(path, fig)


FIGURES = (fig_trajectories, fig_noise, fig_rarity, fig_noise_grid, fig_phase, fig_cutsize,
           fig_dimension, fig_threshold, fig_regime, fig_mixing, fig_width, fig_evenness,
           fig_benign)
