"""Paper: the reference setting (docs/model.md), 3 methods, trajectories dense enough for Figure 1.

This module also holds the paper's claims (each stated so that it could come out either
way; decided in per-group test accuracy, with feature outputs and margins as evidence),
which the other studies test at their own settings: `from sweeps.paper import PAPER`.
"""

from __future__ import annotations

from typing import Sequence

from jaxcut import stats
from jaxcut.analysis.claims import Claim, Ctx, NotTested, result
from jaxcut.analysis.sweepdata import PAPER_METHODS
from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict

SIZES = ("cpu", "paper")
# "CutMix is high on every group" (the three-way separation): its accuracy on each
# rarity group is above this level (95% interval).
HIGH_ACCURACY = 0.9
ROLES = ("feature", "dominant", "background")


def _ratio_evidence(c: Ctx, a: str, b: str, group: str) -> dict:
  out = {}
  for kind in ("output", "margin"):
    out[f"{group}_over_{c.common}_{kind}_ratio_{a}_minus_{b}"] = interval(
        paired(c.ratio(a, kind, group), c.ratio(b, kind, group)))
  return out


def group_gap(c: Ctx, a: str, b: str, group: str, text: str) -> dict:
  c.need_methods(a, b)
  col = f"test_acc_{group}"
  d = c.diff(a, b, col)
  q = {f"{col}_{a}_minus_{b}": d, f"{col}_{a}": interval(c.per(a, col).values()),
       f"{col}_{b}": interval(c.per(b, col).values())}
  ev = _ratio_evidence(c, a, b, group) if group != c.common else {}
  if "erm" in (a, b):
    ev["train_acc_erm"] = interval(c.per("erm", "train_acc").values())
  return result(text, f"paired ({a} - {b}) {group}-group test accuracy > 0", [verdict(d)],
              {**q, **ev}, [f"{col}_{a}_minus_{b}"], ev)


def rare_cutout_over_erm(c: Ctx) -> dict:
  c.need_groups(2)
  return group_gap(c, "cutout", "erm", c.rare,
                    f"ERM misses rare features that Cutout learns ({c.rare}-group test "
                    "accuracy: Cutout > ERM)")


def rare_cutmix_over_erm(c: Ctx) -> dict:
  c.need_groups(2)
  return group_gap(c, "cutmix", "erm", c.rare,
                    f"ERM misses rare features that CutMix learns ({c.rare}-group test "
                    "accuracy: CutMix > ERM)")


def extreme_cutmix_over_cutout(c: Ctx) -> dict:
  c.need_groups(3)
  return group_gap(c, "cutmix", "cutout", c.extreme,
                    f"Cutout misses extremely rare features that CutMix learns "
                    f"({c.extreme}-group test accuracy: CutMix > Cutout)")


def three_way_separation(c: Ctx) -> dict:
  """The paper's central result in test accuracy, all three parts at one setting."""
  c.need_groups(3)
  c.need_methods(*PAPER_METHODS)
  rare, ext = f"test_acc_{c.rare}", f"test_acc_{c.extreme}"
  d1, d2 = c.diff("cutout", "erm", rare), c.diff("cutmix", "cutout", ext)
  worst = {s: min(float(r[f"test_acc_{g}"]) for g in c.groups) for s, r in
           ((r["seed"], r) for r in c.rows if r["method"] == "cutmix")}
  low = interval(worst.values())
  q = {f"{rare}_cutout_minus_erm": d1, f"{ext}_cutmix_minus_cutout": d2,
       "cutmix_worst_group_test_acc": low}
  q.update({f"test_acc_{g}_{m}": interval(c.per(m, f"test_acc_{g}").values())
            for m in PAPER_METHODS for g in c.groups})
  return result(f"Three-way separation: ERM misses rare features, Cutout learns them but misses "
              f"extremely rare ones, CutMix learns all (every group >= {HIGH_ACCURACY})",
              f"paired (Cutout - ERM) {c.rare}-group and (CutMix - Cutout) {c.extreme}-group "
              f"test accuracy > 0, and CutMix's worst-group test accuracy > {HIGH_ACCURACY}",
              [verdict(d1), verdict(d2), verdict(stats.shifted(low, HIGH_ACCURACY))], q,
              list(q)[:3], list(q)[3:])


def separation_per_cell(c: Ctx, labels: Sequence[str], name, key) -> tuple:
  """The three-way separation in every cell (values of `labels`) of c's runs: (verdicts,
  {key(cell)_quantity: its decisive quantities}, names of the supported cells). name(cell)
  names a cell (a cell that cannot be tested raises NotTested naming it)."""
  for label in labels:
    c.need_label(label)
  parts, q, held = [], {}, []
  for cell in dict.fromkeys(tuple(r[k] for k in labels) for r in c.rows):
    rows = [r for r in c.rows if tuple(r[k] for k in labels) == cell]
    try:
      res = three_way_separation(Ctx(c.sweep, rows, {**c.at, **dict(zip(labels, cell))}, ()))
    except NotTested as e:
      raise NotTested(f"cell {name(cell)}: {e}") from None
    parts.append(res["verdict"])
    held += [name(cell)] if res["verdict"] == stats.SUPPORTED else []
    q.update({f"{key(cell)}_{k}": res["quantities"][k] for k in res["decisive"]})
  return parts, q, held


def cutmix_best_overall(c: Ctx) -> dict:
  c.need_methods(*PAPER_METHODS)
  d1, d2 = c.diff("cutmix", "erm", "test_acc"), c.diff("cutmix", "cutout", "test_acc")
  q = {"test_acc_cutmix_minus_erm": d1, "test_acc_cutmix_minus_cutout": d2,
       **{f"test_acc_{m}": interval(c.per(m, "test_acc").values()) for m in PAPER_METHODS}}
  return result("CutMix reaches the best overall test accuracy",
              "paired (CutMix - ERM) and (CutMix - Cutout) overall test accuracy > 0",
              [verdict(d1), verdict(d2)], q, list(q)[:2], list(q)[2:])


def _spread(c: Ctx, m: str, prefix: str, names: Sequence[str]) -> dict:
  out = {}
  for r in c.rows:
    if r["method"] == m:
      v = [float(r[f"{prefix}{g}"]) for g in names]
      out[r["seed"]] = max(v) - min(v)
  return out


def cutmix_most_even(c: Ctx) -> dict:
  """CutMix learns features 'evenly': the smallest accuracy gap between rarity groups."""
  c.need_groups(2)
  c.need_methods(*PAPER_METHODS)
  gap = {m: _spread(c, m, "test_acc_", c.groups) for m in PAPER_METHODS}
  d1, d2 = interval(paired(gap["erm"], gap["cutmix"])), interval(paired(gap["cutout"], gap["cutmix"]))
  q = {"acc_gap_erm_minus_cutmix": d1, "acc_gap_cutout_minus_cutmix": d2,
       **{f"acc_gap_{m}": interval(gap[m].values()) for m in PAPER_METHODS}}
  ev = {}
  for g in c.groups[1:]:
    for kind in ("output", "margin"):
      ev[f"{g}_over_{c.common}_{kind}_ratio_cutmix"] = interval(c.ratio("cutmix", kind, g).values())
      ev[f"{g}_over_{c.common}_{kind}_ratio_cutout"] = interval(c.ratio("cutout", kind, g).values())
  return result("CutMix learns all features most evenly: the smallest gap between its best and "
              "worst rarity group's test accuracy",
              "paired (ERM - CutMix) and (Cutout - CutMix) gap (max - min over groups of "
              "test accuracy) > 0", [verdict(d1), verdict(d2)], {**q, **ev}, list(q)[:2],
              list(q)[2:] + list(ev))


def cutmix_even_activation(c: Ctx) -> dict:
  c.need_methods("erm", "cutmix")
  spread = {m: _spread(c, m, "share_train_", ROLES) for m in ("erm", "cutmix")}
  d = interval(paired(spread["erm"], spread["cutmix"]))
  q = {"share_spread_erm_minus_cutmix": d,
       "share_spread_cutmix": interval(spread["cutmix"].values()),
       "share_spread_erm": interval(spread["erm"].values())}
  return result("CutMix activates nearly uniformly across patches: its training output shares "
              "(feature / dominant / background patches) are more even than ERM's",
              "paired (ERM - CutMix) spread (max - min) of train output shares over patch "
              "roles > 0", [verdict(d)], q, list(q)[:1], list(q)[1:])


def _overshoot(c: Ctx, method: str) -> dict:
  """{seed: (peak - final) / |final|} of the common group's feature output trajectory."""
  rows = [r for r in c.rows if r["method"] == method]
  count = int(rows[0][f"count_{c.common}"])
  fo = c.sweep.trajectory([r["run_id"] for r in rows], "feature_output")  # [R, time, 2, K]
  curves = fo[..., :count].mean(axis=(2, 3))
  return {r["seed"]: float((cv.max() - cv[-1]) / abs(cv[-1])) for r, cv in zip(rows, curves)}


def cutmix_common_nonmonotone(c: Ctx) -> dict:
  c.need_methods("erm", "cutmix")
  mix, erm = _overshoot(c, "cutmix"), _overshoot(c, "erm")
  d = interval(paired(mix, erm))
  q = {"overshoot_cutmix_minus_erm": d, "overshoot_cutmix": interval(mix.values()),
       "overshoot_erm": interval(erm.values())}
  return result("CutMix's common-feature output moves non-monotonically in time (rises, then "
              "falls), unlike ERM's",
              f"paired (CutMix - ERM) overshoot > 0, overshoot = (peak - final) / final of "
              f"the {c.common}-group feature output over training",
              [verdict(d)], q, list(q)[:1], list(q)[1:])


RARE_CUTOUT_OVER_ERM = Claim("rare_cutout_over_erm",
                             "ERM misses rare features that Cutout learns", rare_cutout_over_erm)
RARE_CUTMIX_OVER_ERM = Claim("rare_cutmix_over_erm",
                             "ERM misses rare features that CutMix learns", rare_cutmix_over_erm)
EXTREME_CUTMIX_OVER_CUTOUT = Claim(
    "extreme_cutmix_over_cutout", "Cutout misses extremely rare features that CutMix learns",
    extreme_cutmix_over_cutout)
THREE_WAY_SEPARATION = Claim(
    "three_way_separation", "Three-way separation: ERM misses rare features, Cutout learns "
    "them but misses extremely rare ones, CutMix learns all", three_way_separation)
CUTMIX_BEST_OVERALL = Claim("cutmix_best_overall",
                            "CutMix reaches the best overall test accuracy", cutmix_best_overall)
CUTMIX_MOST_EVEN = Claim("cutmix_most_even", "CutMix learns all features most evenly",
                         cutmix_most_even)
CUTMIX_EVEN_ACTIVATION = Claim("cutmix_even_activation",
                               "CutMix activates nearly uniformly across patches",
                               cutmix_even_activation)
CUTMIX_COMMON_NONMONOTONE = Claim("cutmix_common_nonmonotone",
                                  "CutMix's common-feature output moves non-monotonically",
                                  cutmix_common_nonmonotone)
# the paper's claims, in the order reports list them
PAPER = (RARE_CUTOUT_OVER_ERM, RARE_CUTMIX_OVER_ERM, EXTREME_CUTMIX_OVER_CUTOUT,
         THREE_WAY_SEPARATION, CUTMIX_BEST_OVERALL, CUTMIX_MOST_EVEN, CUTMIX_EVEN_ACTIVATION,
         CUTMIX_COMMON_NONMONOTONE)


def get_grid(size):
  base = PRESETS["reference"].replace(log_every=25 if size == "cpu" else 10)
  return Grid(name="paper", base=base, seeds=16 if size == "cpu" else 32,
              axes=(Axis("method", ("erm", "cutout", "cutmix")),),
              summary=("test_acc_common", "test_acc_rare", "test_acc_extreme", "test_acc",
                       "output_rare"),
              claims=PAPER, description=first_paragraph(__doc__))
