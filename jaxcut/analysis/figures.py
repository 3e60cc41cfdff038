"""Report figures: the machinery and the figures every study draws.

A figure is a function of (sweep, out dir) that saves a PNG into out (unless out is None)
and returns `Drawn(path, figure)`, or None when the sweep has nothing for it to show. A
grid names the figures its report draws (`Grid.figures`, default `STANDARD`); a study's
own figures live in its module (`sweeps/<study>.py`) and use the helpers here. In a
notebook:

    from jaxcut.analysis.figures import fig_trajectories
    from jaxcut.analysis.sweepdata import Sweep
    fig_trajectories(Sweep("runs/rarity-cpu")).figure

The standard figures draw one setting of the grid's other labels (`Sweep.rows_at`): the one
named by `at(fig, label=value)` in `figures=`, else the setting of the grid's first
declared claim, else the base setting (every label at its first value):

    figures=(at(fig_trajectories, d=1000, mu=4.0), fig_noise, fig_evenness, fig_benign)

Quantities are named as in docs/model.md: *feature output* s f_W(v_{s,k}) (the network on
the feature alone) and *feature margin* sum_j <w_{s,j} - w_{-s,j}, v_{s,k}>.
"""

from __future__ import annotations

import functools
import inspect
import os
import textwrap
from typing import Any, Mapping, NamedTuple, Optional

import numpy as np

from jaxcut.analysis.sweepdata import Sweep, col

COLORS = {"erm": "tab:blue", "cutout": "tab:orange", "cutmix": "tab:green", "mixup": "tab:red"}
ROLES = ("feature", "dominant", "background")
OUTPUT_LABEL = "feature output s f(v)"
MARGIN_LABEL = "feature margin sum_j <w_s - w_-s, v>"


def pyplot():
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def title(fig, text: str, width: int = 110) -> None:
  fig.suptitle("\n".join(textwrap.wrap(text, width)), fontsize=10)


def shape_text(sweep: Sweep, *skip: str) -> str:
  """'n=.., d=.., P=.., T=.., seeds=..' of the sweep's first run (without `skip`)."""
  r = sweep.rows[0]
  parts = {"n": r["n"], "d": r["d"], "P": r["P"], "T": r["steps"], "seeds": sweep.seeds()}
  return ", ".join(f"{k}={v}" for k, v in parts.items() if k not in skip)


def band(ax, x, runs, color, label):
  runs = np.asarray(runs)
  mean = runs.mean(0)
  sd = runs.std(0, ddof=1) if len(runs) > 1 else np.zeros_like(mean)
  ax.plot(x, mean, color=color, label=label)
  ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.2, linewidth=0)


def errorbar(ax, x, qs, **kw):
  mean = np.array([q["mean"] for q in qs])
  err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for q in qs]).T
  ax.errorbar(x, mean, yerr=np.nan_to_num(err), marker="o", ms=3, capsize=2, **kw)


def axes_text(ax, title, xlabel, ylabel, legend=True):
  ax.set_title(title, fontsize=10)
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if legend and ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=8)


def cell_means(x, y, values, sel=None):
  """(xs, ys, grid [len(ys), len(xs)]): the mean of `values` in each (x, y) cell (NaN where
  none), over the rows where `sel` holds."""
  xs, xi = np.unique(x, return_inverse=True)
  ys, yi = np.unique(y, return_inverse=True)
  sel = np.ones(len(values), bool) if sel is None else sel
  total, count = np.zeros((len(ys), len(xs))), np.zeros((len(ys), len(xs)))
  np.add.at(total, (yi[sel], xi[sel]), values[sel])
  np.add.at(count, (yi[sel], xi[sel]), 1)
  return xs, ys, np.where(count > 0, total / np.maximum(count, 1), np.nan)


def at(fn, where: Optional[Mapping[str, Any]] = None, /, **labels):
  """Figure `fn` (one taking `at=`, as the standard figures do) drawn at a setting:
  `at(fig_trajectories, d=1000, mu=4.0)`, for a grid's `figures=`."""
  if "at" not in inspect.signature(fn).parameters:
    raise TypeError(f"figure {fn.__name__} takes no setting (no at= parameter)")
  setting = {**dict(where or {}), **labels}

  @functools.wraps(fn)
  def drawn(sweep: Sweep, out: Optional[str] = None):
    return fn(sweep, out, at=setting)
  drawn.at = setting
  return drawn


def setting_of(sweep: Sweep, where: Optional[Mapping[str, Any]] = None) -> dict:
  """The setting a figure draws: `where`, else the grid's first declared claim's, else {}
  (the base setting)."""
  if where is not None:
    return dict(where)
  claims = sweep.grid.get("claims") or []
  return dict(claims[0].get("at") or {}) if claims else {}


def rows_of(sweep: Sweep, where: Optional[Mapping[str, Any]] = None) -> list[dict]:
  """The runs of every method at the figure's setting (`setting_of`)."""
  return sweep.rows_at(setting_of(sweep, where))


def log_edges(values) -> np.ndarray:
  """[k + 1] cell edges for a heatmap on a log axis over the (sorted, positive) `values`:
  geometric midpoints between neighbours, the outer edges as far out as the nearest
  inner one (a lone value spans a factor 2)."""
  v = np.sort(np.asarray(values, float))
  if len(v) == 1:
    return np.array([v[0] / np.sqrt(2), v[0] * np.sqrt(2)])
  mid = np.sqrt(v[1:] * v[:-1])
  return np.concatenate([[v[0] ** 2 / mid[0]], mid, [v[-1] ** 2 / mid[-1]]])


def value_ticks(axis, values, most: int = 8) -> None:
  """Ticks at the grid's own values (at most `most` of them, evenly thinned), as numbers."""
  from matplotlib.ticker import FixedLocator, NullLocator
  v = np.sort(np.asarray(values, float))
  keep = v[np.unique(np.linspace(0, len(v) - 1, min(most, len(v))).round().astype(int))]
  axis.set_major_locator(FixedLocator(keep))
  axis.set_ticklabels([f"{x:.3g}" for x in keep])
  axis.set_minor_locator(NullLocator())


def trajectory(sweep: Sweep, method: str, name: str, rows: Optional[list] = None):
  """(steps, [R, time, ...] trajectory `name`) of the method's runs among `rows` (default:
  the base setting's)."""
  rows = sweep.base_rows() if rows is None else rows
  ids = [r["run_id"] for r in rows if r["method"] == method]
  return sweep.steps(ids[0]), sweep.trajectory(ids, name)


class Drawn(NamedTuple):
  """A figure function's result: the PNG it wrote (None when out is None) and the figure
  itself, for a notebook (close it with plt.close(drawn.figure) when done)."""
  path: Optional[str]
  figure: object


def save(fig, out, name) -> Drawn:
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  path = None
  if out is not None:
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
  return Drawn(path, fig)


def fig_trajectories(sweep: Sweep, out: Optional[str] = None, at=None) -> Optional[Drawn]:
  """Feature output s f(v_{s,k}) over steps, first feature of each group (Figure 1)."""
  plt = pyplot()
  rows = rows_of(sweep, at)
  groups = sweep.groups()
  counts = [int(rows[0][f"count_{g}"]) for g in groups]
  first = np.concatenate([[0], np.cumsum(counts)[:-1]])
  show = sorted(set(np.linspace(0, len(groups) - 1, min(4, len(groups))).round().astype(int)))
  fig, axes = plt.subplots(1, len(show), figsize=(4.2 * len(show), 3.8), squeeze=False)
  fo = {m: trajectory(sweep, m, "feature_output", rows) for m in sweep.methods(rows)}
  for ax, g, k in zip(axes[0], [groups[i] for i in show], first[show]):
    for m, (steps, f) in fo.items():  # f: [R, time, 2, K]
      band(ax, steps, f[:, :, :, k].mean(-1), COLORS[m], m)
    axes_text(ax, f"{g} feature (k={k})", "step", OUTPUT_LABEL)
  title(fig, f"Feature learning over time (mean +- sd over seeds; output on the feature "
         f"alone, both signs averaged): {sweep.setting_text(rows)}")
  return save(fig, out, "trajectories.png")


def fig_noise(sweep: Sweep, out: Optional[str] = None, at=None) -> Optional[Drawn]:
  """rho (own-class filter) over steps, dominant vs background noise, per method."""
  plt = pyplot()
  rows = rows_of(sweep, at)
  groups = sweep.groups()
  fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
  for t, (ax, kind) in enumerate(zip(axes, ("dominant", "background"))):
    for m in sweep.methods(rows):
      steps, rm = trajectory(sweep, m, "rho_mean", rows)  # [R, time, own/other, dom/bg, G]
      w = np.array([[float(r[f"n_train_{g}"]) for g in groups] for r in rows
                    if r["method"] == m])
      curves = (rm[:, :, 0, t, :] * w[:, None, :]).sum(-1) / w.sum(-1)[:, None]
      band(ax, steps, curves, COLORS[m], m)
    axes_text(ax, f"{kind} noise", "step", "mean rho (own-class filter)")
  title(fig, f"Noise memorisation: {sweep.setting_text(rows)}", 80)
  return save(fig, out, "noise_memorisation.png")


def fig_evenness(sweep: Sweep, out: Optional[str] = None, at=None) -> Optional[Drawn]:
  """Shares of |per-patch output| on feature, dominant-noise and background patches."""
  plt = pyplot()
  rows = rows_of(sweep, at)
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
  title(fig, f"Evenness (which patches carry the output): {sweep.setting_text(rows)}", 90)
  return save(fig, out, "evenness.png")


# what a grid's report draws unless it names its figures
STANDARD = (fig_trajectories, fig_noise, fig_evenness)
