"""Mixup: does Mixup learn the rare and extremely rare features that CutMix learns? At the regime setting.

Mixup (Zhang et al. 2018; analysed in settings like this one by Zou et al. 2023 and
Chidambaram et al. 2023) trains on lam X_i + (1 - lam) X_j with the mixed labels. Laws of
lam: Beta(1, 1) = U(0, 1) (`beta1`), Beta(0.2, 0.2) (`beta0.2`, mixing little: lam near 0
or 1) and midpoint Mixup (`midpoint`, lam = 1/2), against ERM, Cutout and CutMix, all at
the `regime` preset (P = 3, C = 1, d = 10^5, gram backend), where the paper's three-way
separation shows. At the cpu size Mixup is sampled (one partner and one lam per example
per step; its exact objective costs ~17x a CutMix step at n = 300); at the paper size it
is exact (every pair, lam on 16 quadrature nodes).
"""

from __future__ import annotations

from typing import Optional

from jaxcut.analysis.claims import Claim, Ctx, NotTested, result
from jaxcut.analysis.figures import (STANDARD, Drawn, at, axes_text, errorbar, pyplot, save,
                                     shape_text, title)
from jaxcut.analysis.sweepdata import OneOf, Sweep, by_seed, col
from jaxcut.config import PRESETS
from jaxcut.grid import Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict
from sweeps.paper import THREE_WAY_SEPARATION

SIZES = ("cpu", "paper")
LAWS = {"beta1": {"mixing": "uniform"}, "beta0.2": {"mixing": "beta", "mix_a": 0.2},
        "midpoint": {"mixing": "fixed", "mix_a": 0.5}}
_OVER = ("law", "mixing", "mix_a", "exact")  # left free: each method's runs carry their own


def _mixup_rows(c: Ctx) -> list[dict]:
  c.need_label("law")
  law = c.at.get("law")
  rows = [r for r in c.rows if r["method"] == "mixup" and r["law"] == str(law)]
  if not rows:
    raise NotTested(f"no Mixup runs with law {law}")
  return rows


def _gap(c: Ctx, a: str, b: str, group_of, text: str) -> dict:
  """Paired (a - b) test accuracy of the group `group_of(c)`; "mixup" is the claim's law."""
  group = group_of(c)
  column = f"test_acc_{group}"
  mix = _mixup_rows(c)
  other = b if a == "mixup" else a
  base = [r for r in c.rows if r["method"] == other and r["law"] == "none"]
  if not base:
    raise NotTested(f"no {other} runs at this setting")
  x = {"mixup": by_seed(mix, column), other: by_seed(base, column)}
  d = interval(paired(x[a], x[b]))
  law = c.at["law"]
  name = lambda m: f"mixup_{law}" if m == "mixup" else m
  q = {f"{column}_{name(a)}_minus_{name(b)}": d,
       f"{column}_{name(a)}": interval(x[a].values()),
       f"{column}_{name(b)}": interval(x[b].values())}
  return result(text, f"paired ({name(a)} - {name(b)}) {group}-group test accuracy > 0",
                [verdict(d)], q, list(q)[:1], list(q)[1:])


def mixup_rare_over_erm(c: Ctx) -> dict:
  return _gap(c, "mixup", "erm", lambda c: c.rare,
              f"Mixup ({c.at.get('law')}) learns rare features that ERM misses")


def mixup_extreme_over_cutout(c: Ctx) -> dict:
  return _gap(c, "mixup", "cutout", lambda c: c.extreme,
              f"Mixup ({c.at.get('law')}) learns extremely rare features that Cutout misses")


def cutmix_extreme_over_mixup(c: Ctx) -> dict:
  return _gap(c, "cutmix", "mixup", lambda c: c.extreme,
              f"CutMix learns extremely rare features better than Mixup ({c.at.get('law')})")


MIXUP_RARE_OVER_ERM = Claim("mixup_rare_over_erm", "Mixup with this law learns the rare "
                            "features ERM misses", mixup_rare_over_erm, over=_OVER)
MIXUP_EXTREME_OVER_CUTOUT = Claim(
    "mixup_extreme_over_cutout", "Mixup with this law learns the extremely rare features "
    "Cutout misses", mixup_extreme_over_cutout, over=_OVER)
CUTMIX_EXTREME_OVER_MIXUP = Claim(
    "cutmix_extreme_over_mixup", "CutMix learns the extremely rare features better than Mixup "
    "with this law", cutmix_extreme_over_mixup, over=_OVER)
MIXUP_CLAIMS = (MIXUP_RARE_OVER_ERM, MIXUP_EXTREME_OVER_CUTOUT, CUTMIX_EXTREME_OVER_MIXUP)


def fig_mixup(sweep: Sweep, out: Optional[str] = None) -> Optional[Drawn]:
  """Test accuracy per group (and overall) of each method and Mixup law, 95% intervals."""
  if "law" not in sweep.labels:
    return None
  plt = pyplot()
  arms = list(dict.fromkeys((r["method"], r["law"]) for r in sweep.rows))
  names = [m if law == "none" else f"mixup\n{law}" for m, law in arms]
  groups = sweep.groups()
  fig, axes = plt.subplots(1, len(groups) + 1, figsize=(4.2 * (len(groups) + 1), 3.9))
  colors = plt.get_cmap("tab10")
  for ax, column, label in zip(axes, [f"test_acc_{g}" for g in groups] + ["test_acc"],
                               [f"{g} group" for g in groups] + ["overall"]):
    qs = [interval(col([r for r in sweep.rows if (r["method"], r["law"]) == arm], column))
          for arm in arms]
    for i, q in enumerate(qs):
      errorbar(ax, [i], [q], color=colors(i), ls="none")
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels(names, fontsize=7)
    axes_text(ax, label, "", "test accuracy", legend=False)
  r = sweep.rows[0]
  title(fig, f"Mixup against ERM, Cutout and CutMix (mean and 95% interval over seeds): "
             f"{shape_text(sweep)}, backend={r.get('backend', 'direct')}, Cutout C="
             f"{next(x['C'] for x in sweep.rows if x['method'] == 'cutout')}", 100)
  return save(fig, out, "mixup.png")


def get_grid(size):
  exact = size == "paper"
  points = [{"law": "none", "method": m} for m in ("erm", "cutout", "cutmix")]
  points += [{"law": law, "method": "mixup", "exact": exact, **kw} for law, kw in LAWS.items()]
  claims = [THREE_WAY_SEPARATION] + [c.at(law=law) for law in LAWS for c in MIXUP_CLAIMS]
  return Grid(name="mixup", base=PRESETS["regime"].replace(log_every=100), labels=("law",),
              points=tuple(points), seeds=16 if size == "cpu" else 32,
              summary=("test_acc_rare", "test_acc_extreme", "test_acc"),
              claims=tuple(claims),
              # the paper's three beside Mixup with lam ~ U(0, 1)
              figures=tuple(at(f, law=OneOf(("none", "beta1"))) for f in STANDARD) + (fig_mixup,),
              description=first_paragraph(__doc__))
