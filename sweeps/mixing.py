"""Mixing: does CutMix's advantage depend on its mixing law D_S? 8 laws, at two settings.

The paper proves its result for |S| uniform on {0..P} and says other laws (the CutMix
paper's Beta area law) lead to the same conclusion. Laws here: the paper's (`uniform`);
Beta(a, a) area laws, a in {0.1, 0.25, 0.5, 1, 2, 4} (a -> 0 mixes almost never: lam
near 0 or 1; large a mixes about half); and a fixed share (|S| = P/2). Each law is
summarised by Var(lam), lam = |S| / P (`objectives.lambda_moments`). ERM and Cutout run
once per setting as baselines. Settings: the `regime` preset with P = 4 (Cutout C = 1,
where the three-way separation holds and P/2 is a whole number of patches) and the
reference setting (P = 3, C = 2; there |S| = P/2 means 1 or 2; at the cpu size its
`small` version, n = 100, d = 1000, T = 1000).
"""

from __future__ import annotations

from typing import Optional

from jaxcut import stats
from jaxcut.analysis.claims import Claim, Ctx, NotTested, point, result
from jaxcut.analysis.figures import (STANDARD, Drawn, at, axes_text, errorbar, pyplot, save,
                                     title)
from jaxcut.analysis.sweepdata import OneOf, Sweep, by_seed, col
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph, setting_fields
from jaxcut.stats import interval, paired, verdict

SIZES = ("cpu", "paper")
LAWS = {"uniform": {"mixing": "uniform"},
        **{f"beta{a:g}": {"mixing": "beta", "mix_a": a} for a in (0.1, 0.25, 0.5, 1, 2, 4)},
        "half": {"mixing": "fixed", "mix_a": 0.5}}


def _law_rows(c: Ctx):
  """(CutMix rows of the claim's law, baseline rows) of a mixing-law grid."""
  c.need_label("law")
  law = c.at.get("law")
  mix = [r for r in c.rows if r["method"] == "cutmix" and r["law"] == str(law)]
  base = [r for r in c.rows if r["method"] != "cutmix"]
  if not mix:
    raise NotTested(f"no CutMix runs with law {law}")
  return mix, base


def _law_gap(c: Ctx, other: str, group: str, text: str) -> dict:
  mix, base = _law_rows(c)
  if not any(r["method"] == other for r in base):
    raise NotTested(f"no {other} runs at this setting")
  col = f"test_acc_{group}"
  d = interval(paired(by_seed(mix, col), by_seed(base, col, other)))
  law = c.at["law"]
  mean, var = _moments(mix[0])
  q = {f"{col}_cutmix_{law}_minus_{other}": d,
       f"{col}_cutmix_{law}": interval(by_seed(mix, col).values()),
       f"{col}_{other}": interval(by_seed(base, col, other).values()),
       "var_lambda": point(var)}
  return result(text, f"paired (CutMix with law {law} - {other}) {group}-group test accuracy > 0",
              [verdict(d)], q, list(q)[:1], list(q)[1:])


def _moments(row) -> tuple[float, float]:
  from jaxcut.objectives import lambda_moments
  a = float(row["mix_a"]) if row.get("mix_a", "") != "" else 1.0
  return lambda_moments(int(row["P"]), row["mixing"], a)


def law_extreme_over_cutout(c: Ctx) -> dict:
  c.need_groups(3)
  return _law_gap(c, "cutout", c.extreme, f"CutMix with law {c.at.get('law')} learns the "
                  f"extremely rare features Cutout misses ({c.extreme}-group test accuracy)")


def law_rare_over_erm(c: Ctx) -> dict:
  c.need_groups(2)
  return _law_gap(c, "erm", c.rare, f"CutMix with law {c.at.get('law')} learns the rare "
                  f"features ERM misses ({c.rare}-group test accuracy)")


def law_advantage_tracks_variance(c: Ctx) -> dict:
  """Across mixing laws: CutMix's extreme-group advantage over Cutout against Var(lam)."""
  c.need_label("law")
  c.need_groups(3)
  c.need_methods("cutout", "cutmix")
  col = f"test_acc_{c.extreme}"
  cut = by_seed([r for r in c.rows if r["method"] == "cutout"], col)
  laws = sorted({r["law"] for r in c.rows if r["method"] == "cutmix"})
  if len(laws) < 3:
    raise NotTested("needs >= 3 mixing laws")
  var = {law: _moments(next(r for r in c.rows if r["law"] == law))[1] for law in laws}
  gap = {law: {s: v - cut[s] for s, v in by_seed(
      [r for r in c.rows if r["method"] == "cutmix" and r["law"] == law], col).items() if s in cut}
         for law in laws}
  seeds = set.intersection(*[set(g) for g in gap.values()])
  slopes = {s: stats.fit_line([var[l] for l in laws], [gap[l][s] for l in laws])[0]
            for s in seeds}
  q = {"slope_of_advantage_on_var_lambda": interval(slopes.values())}
  for law in laws:
    q[f"advantage_{law}_var{var[law]:.3f}"] = interval(gap[law].values())
  return result("CutMix's extreme-group advantage over Cutout shrinks as Var(lam) grows (laws "
              "that mix less, lam near 0 or 1, act more like plain training)",
              f"per-seed least-squares slope of (CutMix - Cutout) {c.extreme}-group test "
              "accuracy on Var(lam) across the laws < 0",
              [verdict(q["slope_of_advantage_on_var_lambda"], -1)], q, list(q)[:1],
              list(q)[1:])


_LAW = ("law", "mixing", "mix_a")
LAW_EXTREME_OVER_CUTOUT = Claim(
    "law_extreme_over_cutout", "CutMix with this mixing law learns the extremely rare features "
    "Cutout misses", law_extreme_over_cutout, over=_LAW)
LAW_RARE_OVER_ERM = Claim("law_rare_over_erm", "CutMix with this mixing law learns the rare "
                          "features ERM misses", law_rare_over_erm, over=_LAW)
LAW_ADVANTAGE_TRACKS_VARIANCE = Claim(
    "law_advantage_tracks_variance", "CutMix's extreme-group advantage over Cutout shrinks as "
    "Var(lam) grows", law_advantage_tracks_variance, over=_LAW)


def fig_mixing(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Per mixing law (x: Var(lam) of the law), per setting: CutMix's test accuracy per group
  and overall, and its output evenness, against the ERM and Cutout baselines."""
  if "law" not in sweep.labels:
    return None
  plt = pyplot()
  groups = sweep.groups()
  settings = list(dict.fromkeys(r.get("setting", "") for r in sweep.rows))
  fig, axes = plt.subplots(len(settings), 3, figsize=(15, 3.9 * len(settings)), squeeze=False)
  cmap = plt.get_cmap("tab10")
  for row, setting in zip(axes, settings):
    rows = [r for r in sweep.rows if r.get("setting", "") == setting]
    mix = [r for r in rows if r["method"] == "cutmix"]
    laws = list(dict.fromkeys(r["law"] for r in mix))

    xs = [_moments(next(x for x in mix if x["law"] == law))[1] for law in laws]
    panels = [(row[0], [(g, f"test_acc_{g}") for g in groups[1:]], "test accuracy"),
              (row[1], [("overall", "test_acc")], "test accuracy"),
              (row[2], [("feature share", "share_train_feature")],
               "share of |output| from the feature patch (train)")]
    for ax, series, ylabel in panels:
      for i, (name, column) in enumerate(series):
        qs = [interval(col([r for r in mix if r["law"] == law], column)) for law in laws]
        errorbar(ax, xs, qs, color=cmap(i), ls="none", label=f"CutMix, {name}")
        for m, ls in (("cutout", "--"), ("erm", ":")):
          base = [r for r in rows if r["method"] == m]
          if base:
            ax.axhline(col(base, column).mean(), color=cmap(i), ls=ls, lw=1,
                       label=f"{m}, {name}")
      for x, law in zip(xs, laws):
        ax.annotate(law, (x, ax.get_ylim()[0]), fontsize=6, rotation=90, va="bottom",
                    ha="center", color="gray")
      axes_text(ax, f"{setting}", "Var(lam) of the mixing law (lam = |S| / P)", ylabel)
      ax.legend(fontsize=6)
  title(fig, f"Mixing laws D_S: CutMix per law (95% intervals over seeds) against Cutout "
         f"(dashed) and ERM (dotted): {sweep.seeds()} seeds")
  return save(fig, out, "mixing.png")


def settings(size):
  """The setting's fields over the grid's base (the regime preset). At the cpu size the
  reference setting is its `small` version (n = 100, d = 1000, T = 1000, sigma^2 d kept)."""
  ref = PRESETS["reference" if size == "paper" else "small"]
  return {"regime": {"P": 4, "C": 1},
          "reference": setting_fields(ref)}


def get_grid(size):
  SETTINGS = settings(size)
  points = [{"law": "none", "method": m} for m in ("erm", "cutout")]
  points += [{"law": law, "method": "cutmix", **kw} for law, kw in LAWS.items()]
  claims = [c.at(setting=s, law=law) for s in SETTINGS for law in LAWS
            for c in (LAW_EXTREME_OVER_CUTOUT, LAW_RARE_OVER_ERM)]
  claims += [LAW_ADVANTAGE_TRACKS_VARIANCE.at(setting=s) for s in SETTINGS]
  return Grid(name="mixing", base=PRESETS["regime"].replace(log_every=100), labels=("law",),
              points=tuple(points), axes=(Axis("setting", tuple(SETTINGS),
                                               fields=SETTINGS.__getitem__),),
              seeds=16 if size == "cpu" else 32,
              summary=("test_acc_rare", "test_acc_extreme", "test_acc", "share_train_feature"),
              claims=tuple(claims),
              # the baselines beside CutMix with the paper's law, at the regime setting
              figures=tuple(at(f, setting="regime", law=OneOf(("none", "uniform")))
                            for f in STANDARD) + (fig_mixing,),
              description=first_paragraph(__doc__))
