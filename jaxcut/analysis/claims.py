"""The paper's claims as tests that could come out either way, each with one verdict.

A grid declares which claims it tests and where (`jaxcut.grid.Claim(name, at={label:
value})`); without a declaration the grid gets `default_claims(labels)`: the paper's
claims at its base setting plus those its axes allow. Each claim here is a function of
the runs at its setting returning its verdict (`jaxcut.stats.verdict`, one rule for all),
the quantities that decide it, and supporting evidence. Claims are stated first in
per-group test accuracy; feature outputs and margins (docs/model.md) are evidence.

Every claim compares methods (or one method across settings against another), so that
it could fail. A claim the grid cannot test (a method, group or axis missing) is
reported as *not tested* with the reason, never dropped.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from jaxcut import stats
from jaxcut.analysis import thresholds
from jaxcut.analysis.sweepdata import METHOD_ORDER, Sweep, by_seed, extreme_of, rare_of
from jaxcut.stats import interval, paired, verdict

# "CutMix is high on every group" (the three-way separation): its accuracy on each
# rarity group is above this level (95% interval).
HIGH_ACCURACY = 0.9
# A peak this far (relative) above the final value counts as non-monotone.
OVERSHOOT = 0.02
ROLES = ("feature", "dominant", "background")


class NotTested(Exception):
  """The grid lacks what the claim compares; the message says what."""


class Ctx:
  """What a claim function sees: the runs at its setting and the whole sweep."""

  def __init__(self, sweep: Sweep, rows: list[dict], at: Mapping, over: tuple):
    self.sweep, self.rows, self.at, self.over = sweep, rows, at, over
    self.groups = sweep.groups()

  def need_methods(self, *methods):
    have = set(self.sweep.methods(self.rows))
    missing = [m for m in methods if m not in have]
    if missing:
      raise NotTested(f"no {', '.join(missing)} runs at this setting")

  def need_groups(self, k: int):
    if len(self.groups) < k:
      raise NotTested(f"needs >= {k} rarity groups (this grid has {len(self.groups)}: "
                      f"{', '.join(self.groups)})")

  def need_label(self, label: str):
    if label not in self.sweep.labels:
      raise NotTested(f"the grid does not sweep {label}")

  @property
  def common(self) -> str:
    return self.groups[0]

  @property
  def rare(self) -> str:
    return rare_of(self.groups)

  @property
  def extreme(self) -> str:
    return extreme_of(self.groups)

  def per(self, method: str, column: str) -> dict:
    return by_seed(self.rows, column, method)

  def diff(self, a: str, b: str, column: str) -> dict:
    return interval(paired(self.per(a, column), self.per(b, column)))

  def ratio(self, method: str, kind: str, group: str) -> dict:
    """{seed: kind_group / kind_common} (kind: output or margin)."""
    a, c = self.per(method, f"{kind}_{group}"), self.per(method, f"{kind}_{self.common}")
    return {s: a[s] / c[s] for s in a if s in c and c[s] != 0}


def _out(text, test, parts, quantities, decisive, evidence=()):
  """A claim's result: verdict from `parts` (verdicts of the decisive quantities)."""
  return {"claim": text, "test": test, "verdict": stats.all_of(parts),
          "decisive": list(decisive), "evidence": list(evidence), "quantities": quantities}


def _ratio_evidence(c: Ctx, a: str, b: str, group: str) -> dict:
  out = {}
  for kind in ("output", "margin"):
    out[f"{group}_over_{c.common}_{kind}_ratio_{a}_minus_{b}"] = interval(
        paired(c.ratio(a, kind, group), c.ratio(b, kind, group)))
  return out


def _group_gap(c: Ctx, a: str, b: str, group: str, text: str) -> dict:
  c.need_methods(a, b)
  col = f"test_acc_{group}"
  d = c.diff(a, b, col)
  q = {f"{col}_{a}_minus_{b}": d, f"{col}_{a}": interval(c.per(a, col).values()),
       f"{col}_{b}": interval(c.per(b, col).values())}
  ev = _ratio_evidence(c, a, b, group) if group != c.common else {}
  if "erm" in (a, b):
    ev["train_acc_erm"] = interval(c.per("erm", "train_acc").values())
  return _out(text, f"paired ({a} - {b}) {group}-group test accuracy > 0", [verdict(d)],
              {**q, **ev}, [f"{col}_{a}_minus_{b}"], ev)


def rare_cutout_over_erm(c: Ctx) -> dict:
  c.need_groups(2)
  return _group_gap(c, "cutout", "erm", c.rare,
                    f"ERM misses rare features that Cutout learns ({c.rare}-group test "
                    "accuracy: Cutout > ERM)")


def rare_cutmix_over_erm(c: Ctx) -> dict:
  c.need_groups(2)
  return _group_gap(c, "cutmix", "erm", c.rare,
                    f"ERM misses rare features that CutMix learns ({c.rare}-group test "
                    "accuracy: CutMix > ERM)")


def extreme_cutmix_over_cutout(c: Ctx) -> dict:
  c.need_groups(3)
  return _group_gap(c, "cutmix", "cutout", c.extreme,
                    f"Cutout misses extremely rare features that CutMix learns "
                    f"({c.extreme}-group test accuracy: CutMix > Cutout)")


def three_way_separation(c: Ctx) -> dict:
  """The paper's central result in test accuracy, all three parts at one setting."""
  c.need_groups(3)
  c.need_methods(*METHOD_ORDER)
  rare, ext = f"test_acc_{c.rare}", f"test_acc_{c.extreme}"
  d1, d2 = c.diff("cutout", "erm", rare), c.diff("cutmix", "cutout", ext)
  worst = {s: min(float(r[f"test_acc_{g}"]) for g in c.groups) for s, r in
           ((r["seed"], r) for r in c.rows if r["method"] == "cutmix")}
  low = interval(worst.values())
  q = {f"{rare}_cutout_minus_erm": d1, f"{ext}_cutmix_minus_cutout": d2,
       "cutmix_worst_group_test_acc": low}
  q.update({f"test_acc_{g}_{m}": interval(c.per(m, f"test_acc_{g}").values())
            for m in METHOD_ORDER for g in c.groups})
  return _out(f"Three-way separation: ERM misses rare features, Cutout learns them but misses "
              f"extremely rare ones, CutMix learns all (every group >= {HIGH_ACCURACY})",
              f"paired (Cutout - ERM) {c.rare}-group and (CutMix - Cutout) {c.extreme}-group "
              f"test accuracy > 0, and CutMix's worst-group test accuracy > {HIGH_ACCURACY}",
              [verdict(d1), verdict(d2), verdict(stats.shifted(low, HIGH_ACCURACY))], q,
              list(q)[:3], list(q)[3:])


def cutmix_best_overall(c: Ctx) -> dict:
  c.need_methods(*METHOD_ORDER)
  d1, d2 = c.diff("cutmix", "erm", "test_acc"), c.diff("cutmix", "cutout", "test_acc")
  q = {"test_acc_cutmix_minus_erm": d1, "test_acc_cutmix_minus_cutout": d2,
       **{f"test_acc_{m}": interval(c.per(m, "test_acc").values()) for m in METHOD_ORDER}}
  return _out("CutMix reaches the best overall test accuracy",
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
  c.need_methods(*METHOD_ORDER)
  gap = {m: _spread(c, m, "test_acc_", c.groups) for m in METHOD_ORDER}
  d1, d2 = interval(paired(gap["erm"], gap["cutmix"])), interval(paired(gap["cutout"], gap["cutmix"]))
  q = {"acc_gap_erm_minus_cutmix": d1, "acc_gap_cutout_minus_cutmix": d2,
       **{f"acc_gap_{m}": interval(gap[m].values()) for m in METHOD_ORDER}}
  ev = {}
  for g in c.groups[1:]:
    for kind in ("output", "margin"):
      ev[f"{g}_over_{c.common}_{kind}_ratio_cutmix"] = interval(c.ratio("cutmix", kind, g).values())
      ev[f"{g}_over_{c.common}_{kind}_ratio_cutout"] = interval(c.ratio("cutout", kind, g).values())
  return _out("CutMix learns all features most evenly: the smallest gap between its best and "
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
  return _out("CutMix activates nearly uniformly across patches: its training output shares "
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
  return _out("CutMix's common-feature output moves non-monotonically in time (rises, then "
              "falls), unlike ERM's",
              f"paired (CutMix - ERM) overshoot > 0, overshoot = (peak - final) / final of "
              f"the {c.common}-group feature output over training",
              [verdict(d)], q, list(q)[:1], list(q)[1:])


def rarity_thresholds(c: Ctx) -> dict:
  """Along the probe_freq axis: ERM needs a more frequent probe feature than the others."""
  c.need_label("probe_freq")
  c.need_methods(*METHOD_ORDER)
  th = {m: thresholds.per_seed(c.rows, m, "probe_freq", "test_acc_probe",
                               thresholds.ACC_LEVEL) for m in METHOD_ORDER}
  log = {m: {s: math.log2(x) for s, x in th[m].items() if math.isfinite(x)} for m in th}
  d1, d2 = interval(paired(log["erm"], log["cutout"])), interval(paired(log["erm"], log["cutmix"]))
  q = {"log2_threshold_erm_minus_cutout": d1, "log2_threshold_erm_minus_cutmix": d2,
       **{f"log2_threshold_{m}": interval(log[m].values()) for m in METHOD_ORDER}}
  return _out("Cutout and CutMix learn rarer features than ERM: a lower learning threshold on "
              "the rarity curve",
              f"paired log2 threshold (ERM - method) > 0; threshold = the probe frequency "
              f"where its test accuracy falls below {thresholds.ACC_LEVEL} (log-linear "
              "interpolation, clipped to the swept range)",
              [verdict(d1), verdict(d2)], q, list(q)[:2], list(q)[2:])


def cutmix_overtakes_erm_with_d(c: Ctx) -> dict:
  c.need_label("d")
  c.need_methods("erm", "cutmix")
  curve = []
  for d in sorted({float(r["d"]) for r in c.rows}):
    rows = [r for r in c.rows if float(r["d"]) == d]
    curve.append((d, interval(paired(by_seed(rows, "test_acc", "cutmix"),
                                     by_seed(rows, "test_acc", "erm")))))
  cross = crossover(curve)
  q = {f"test_acc_cutmix_minus_erm_at_d={d:g}": iv for d, iv in curve}
  last = list(q)[-1]
  q["crossover_d"] = {"mean": cross, "lo": float("nan"), "hi": float("nan"), "n": 1}
  return _out("CutMix's overall test accuracy exceeds ERM's once d is large (the paper's "
              "regime, d >> n (sigma_d / sigma_b)^2)",
              "paired (CutMix - ERM) overall test accuracy > 0 at the largest d; crossover_d: "
              "the smallest d from which it stays > 0", [verdict(curve[-1][1])], q, [last],
              [k for k in q if k != last])


def crossover(curve) -> float:
  """The smallest x from which every interval lies above 0 (nan if none)."""
  for i, (x, _) in enumerate(curve):
    if all(q["n"] > 1 and q["lo"] > 0 for _, q in curve[i:]):
      return x
  return float("nan")


def _exponent_claim(c: Ctx, sigma: str, a: str, b: Optional[str], text: str) -> dict:
  """Exponent of a method's learning threshold (training count) against sigma^2 d, fitted
  per seed along the arm where `sigma` varies; claim: exponent(a) - exponent(b) > 0 (b None:
  exponent(a) > 0)."""
  c.need_label("arm")
  need = [a] + ([b] if b else [])
  c.need_methods(*need)
  fits = {m: thresholds.exponents(c.sweep.rows, m, sigma) for m in METHOD_ORDER
          if m in c.sweep.methods()}
  if any(not fits[m] for m in need):
    raise NotTested(f"no {sigma} arm with >= 2 noise levels")
  main = interval(paired(fits[a], fits[b])) if b else interval(fits[a].values())
  name = f"exponent_{sigma}_{a}" + (f"_minus_{b}" if b else "")
  q = {name: main}
  q.update({f"exponent_{sigma}_{m}": interval(f.values()) for m, f in fits.items()
            if f"exponent_{sigma}_{m}" != name})
  for m in fits:  # thresholds at the end of the ladder are bounds, not crossings
    curve, clipped = thresholds.arm_thresholds(c.sweep.rows, m, sigma)
    total = sum(len(v) for v in curve.values())
    q[f"clipped_fraction_{sigma}_{m}"] = {"mean": clipped / max(total, 1), "lo": float("nan"),
                                          "hi": float("nan"), "n": total}
  test = (f"paired ({a} - {b}) fitted exponent of the threshold count in {sigma}^2 d > 0" if b
          else f"{a}'s fitted exponent of the threshold count in {sigma}^2 d > 0")
  return _out(text, test, [verdict(main)], q, [name], [k for k in q if k != name])


def threshold_erm_follows_sigma_d(c: Ctx) -> dict:
  return _exponent_claim(c, "sigma_d", "erm", None,
                         "ERM's learning threshold grows with the dominant noise sigma_d^2 d")


def threshold_cutout_not_sigma_d(c: Ctx) -> dict:
  return _exponent_claim(c, "sigma_d", "erm", "cutout",
                         "Cutout's learning threshold depends less on sigma_d than ERM's (Cutout "
                         "drops the dominant-noise patch)")


def threshold_cutout_follows_sigma_b(c: Ctx) -> dict:
  return _exponent_claim(c, "sigma_b", "cutout", None,
                         "Cutout's learning threshold grows with the background noise "
                         "sigma_b^2 d")


def threshold_cutmix_not_sigma_b(c: Ctx) -> dict:
  return _exponent_claim(c, "sigma_b", "cutout", "cutmix",
                         "CutMix's learning threshold depends less on sigma_b than Cutout's")


def threshold_cutmix_not_sigma_d(c: Ctx) -> dict:
  return _exponent_claim(c, "sigma_d", "erm", "cutmix",
                         "CutMix's learning threshold depends less on sigma_d than ERM's")


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
       "var_lambda": {"mean": var, "lo": float("nan"), "hi": float("nan"), "n": 1}}
  return _out(text, f"paired (CutMix with law {law} - {other}) {group}-group test accuracy > 0",
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
  return _out("CutMix's extreme-group advantage over Cutout shrinks as Var(lam) grows (laws "
              "that mix less, lam near 0 or 1, act more like plain training)",
              f"per-seed least-squares slope of (CutMix - Cutout) {c.extreme}-group test "
              "accuracy on Var(lam) across the laws < 0",
              [verdict(q["slope_of_advantage_on_var_lambda"], -1)], q, list(q)[:1],
              list(q)[1:])


def width_separation_everywhere(c: Ctx) -> dict:
  """The three-way separation in every (m, activation) cell of one setting."""
  c.need_label("m")
  c.need_label("activation")
  cells = list(dict.fromkeys((r["m"], r["activation"]) for r in c.rows))
  parts, q, held = [], {}, []
  for m, a in cells:
    rows = [r for r in c.rows if r["m"] == m and r["activation"] == a]
    try:
      res = three_way_separation(Ctx(c.sweep, rows, {**c.at, "m": m, "activation": a}, ()))
    except NotTested as e:
      raise NotTested(f"cell m={m}, {a}: {e}") from None
    parts.append(res["verdict"])
    held += [f"m={m} {a}"] if res["verdict"] == stats.SUPPORTED else []
    for k in res["decisive"]:
      q[f"m{m}_{a}_{k}"] = res["quantities"][k]
  return _out(f"The three-way separation holds for every width and activation tried "
              f"({len(held)} of {len(cells)} cells supported)",
              "the three_way_separation test in every (m, activation) cell", parts, q, list(q))


def benign_threshold_scaling(c: Ctx) -> dict:
  """Kou et al.'s boundary n ||mu||^4 = c sigma_p^4 d: the benign threshold's exponent in d,
  fitted per seed (`thresholds.benign_fits`); claim: it is positive (the threshold grows
  with d). Whether 1 (the theory's) lies in its interval, and c, are the evidence."""
  c.need_label("mu")
  c.need_label("d")
  row = c.rows[0]
  n, sigma_p = int(row["n"]), float(row["sigma_d"])
  fits = thresholds.benign_fits(c.rows, n, sigma_p)
  if len(fits["slope"]) < 2:
    raise NotTested("fewer than 2 seeds with a benign threshold at >= 2 dimensions")
  slope = interval(fits["slope"].values())
  logc = interval(math.log(x) for x in fits["c"].values())
  q = {"threshold_exponent_in_d": slope,
       "threshold_exponent_minus_1": stats.shifted(slope, 1.0),
       "c": {"mean": math.exp(logc["mean"]), "lo": math.exp(logc["lo"]),
             "hi": math.exp(logc["hi"]), "n": logc["n"]},
       "cells_without_threshold": {"mean": fits["missing"], "lo": float("nan"),
                                   "hi": float("nan"), "n": len(c.rows)}}
  return _out(TITLES["benign_threshold_scaling"],
              "exponent b of the benign threshold ||mu||^4 ~ d^b, fitted per seed, > 0 "
              f"(benign: test error <= {thresholds.BENIGN_ERROR})", [verdict(slope)], q,
              ["threshold_exponent_in_d"],
              ["threshold_exponent_minus_1", "c", "cells_without_threshold"])


def cutsize_cells(rows: list[dict], column: str) -> dict:
  """{(P, ratio, rare_mass): {C: {seed: column}}} of the Cutout runs of a cut-size surface."""
  out: dict = {}
  for r in rows:
    if r["method"] != "cutout" or r.get(column, "") == "":
      continue
    key = (int(r["P"]), float(r["ratio"]), float(r["rare_mass"]))
    out.setdefault(key, {}).setdefault(int(r["C"]), {})[r["seed"]] = float(r[column])
  return out


def best_cut(by_c: dict) -> tuple[int, Optional[int], dict]:
  """(best C by mean, runner-up C, interval of the paired best - runner-up)."""
  order = sorted(by_c, key=lambda C: -np.mean(list(by_c[C].values())))
  if len(order) < 2:
    return order[0], None, interval([])
  return order[0], order[1], interval(paired(by_c[order[0]], by_c[order[1]]))


def _seed_best_share(by_c: dict, P: int, seed) -> float:
  vals = {C: v[seed] for C, v in by_c.items() if seed in v}
  top = max(vals.values())
  return float(np.mean([C for C, v in vals.items() if v == top])) / P


def cutsize_rule(c: Ctx) -> dict:
  """Across a cut-size surface: does the best cut share C/P grow with sigma_d / sigma_b?"""
  c.need_label("ratio")
  c.need_label("rare_mass")
  c.need_methods("cutout")
  rare = f"test_acc_{c.rare}"
  cells = cutsize_cells(c.rows, rare)
  if len({k[1] for k in cells}) < 2:
    raise NotTested("needs >= 2 noise ratios")
  seeds = sorted(set.intersection(*[set(v) for by_c in cells.values() for v in by_c.values()]))
  slope_r, slope_m = {}, {}
  keys = sorted(cells)
  for s in seeds:
    share = [_seed_best_share(cells[k], k[0], s) for k in keys]
    slope_r[s] = stats.fit_line([math.log2(k[1]) for k in keys], share)[0]
    slope_m[s] = stats.fit_line([k[2] for k in keys], share)[0]
  q = {"slope_best_share_on_log2_ratio": interval(slope_r.values()),
       "slope_best_share_on_rare_mass": interval(slope_m.values())}
  overall = cutsize_cells(c.rows, "test_acc")
  for key in sorted(cells):
    P, ratio, mass = key
    for name, table in ((c.rare, cells), ("overall", overall)):
      b, ru, d = best_cut(table[key])
      q[f"P{P}_ratio{ratio:g}_mass{mass:g}_{name}_best_C{b}_minus_C{ru}"] = d
  return _out("The best cut share C/P for the rare group grows with sigma_d / sigma_b",
              f"per-seed least-squares slope of the best C/P (argmax over C of {c.rare}-group "
              f"test accuracy, ties averaged) on log2(sigma_d / sigma_b), across every "
              f"(P, rare mass) cell, > 0",
              [verdict(q["slope_best_share_on_log2_ratio"])], q, list(q)[:1], list(q)[1:])


CLAIMS: dict[str, Callable[[Ctx], dict]] = {
    "rare_cutout_over_erm": rare_cutout_over_erm,
    "rare_cutmix_over_erm": rare_cutmix_over_erm,
    "extreme_cutmix_over_cutout": extreme_cutmix_over_cutout,
    "three_way_separation": three_way_separation,
    "cutmix_best_overall": cutmix_best_overall,
    "cutmix_most_even": cutmix_most_even,
    "cutmix_even_activation": cutmix_even_activation,
    "cutmix_common_nonmonotone": cutmix_common_nonmonotone,
    "rarity_thresholds": rarity_thresholds,
    "cutmix_overtakes_erm_with_d": cutmix_overtakes_erm_with_d,
    "threshold_erm_follows_sigma_d": threshold_erm_follows_sigma_d,
    "threshold_cutout_not_sigma_d": threshold_cutout_not_sigma_d,
    "threshold_cutout_follows_sigma_b": threshold_cutout_follows_sigma_b,
    "threshold_cutmix_not_sigma_b": threshold_cutmix_not_sigma_b,
    "threshold_cutmix_not_sigma_d": threshold_cutmix_not_sigma_d,
    "law_extreme_over_cutout": law_extreme_over_cutout,
    "law_rare_over_erm": law_rare_over_erm,
    "law_advantage_tracks_variance": law_advantage_tracks_variance,
    "width_separation_everywhere": width_separation_everywhere,
    "cutsize_rule": cutsize_rule,
    "benign_threshold_scaling": benign_threshold_scaling,
}
# Each claim in a sentence (the report's text when a grid cannot test it).
TITLES = {
    "rare_cutout_over_erm": "ERM misses rare features that Cutout learns",
    "rare_cutmix_over_erm": "ERM misses rare features that CutMix learns",
    "extreme_cutmix_over_cutout": "Cutout misses extremely rare features that CutMix learns",
    "three_way_separation": "Three-way separation: ERM misses rare features, Cutout learns "
                            "them but misses extremely rare ones, CutMix learns all",
    "cutmix_best_overall": "CutMix reaches the best overall test accuracy",
    "cutmix_most_even": "CutMix learns all features most evenly",
    "cutmix_even_activation": "CutMix activates nearly uniformly across patches",
    "cutmix_common_nonmonotone": "CutMix's common-feature output moves non-monotonically",
    "rarity_thresholds": "Cutout and CutMix learn rarer features than ERM",
    "cutmix_overtakes_erm_with_d": "CutMix's overall test accuracy exceeds ERM's once d is large",
    "threshold_erm_follows_sigma_d": "ERM's learning threshold grows with sigma_d^2 d",
    "threshold_cutout_not_sigma_d": "Cutout's learning threshold depends less on sigma_d than "
                                    "ERM's",
    "threshold_cutout_follows_sigma_b": "Cutout's learning threshold grows with sigma_b^2 d",
    "threshold_cutmix_not_sigma_b": "CutMix's learning threshold depends less on sigma_b than "
                                    "Cutout's",
    "threshold_cutmix_not_sigma_d": "CutMix's learning threshold depends less on sigma_d than "
                                    "ERM's",
    "law_extreme_over_cutout": "CutMix with this mixing law learns the extremely rare "
                               "features Cutout misses",
    "law_rare_over_erm": "CutMix with this mixing law learns the rare features ERM misses",
    "law_advantage_tracks_variance": "CutMix's extreme-group advantage over Cutout shrinks as "
                                     "Var(lam) grows",
    "width_separation_everywhere": "The three-way separation holds for every width m and "
                                   "activation tried",
    "cutsize_rule": "The best cut share C/P for the rare group grows with sigma_d / sigma_b",
    "benign_threshold_scaling": "Kou et al.: the signal norm needed for benign overfitting "
                                "grows with d (theory: n ||mu||^4 = c sigma_p^4 d)",
}
# The axes a claim spans (left free when choosing its rows).
OVER = {"rarity_thresholds": ("probe_freq",), "cutmix_overtakes_erm_with_d": ("d",)}
OVER.update({k: ("arm", "sigma_d", "sigma_b") for k in CLAIMS
             if k.startswith("threshold_")})
OVER.update({k: ("law", "mixing", "mix_a") for k in CLAIMS if k.startswith("law_")})
OVER["width_separation_everywhere"] = ("m", "activation")
OVER["benign_threshold_scaling"] = ("mu", "d", "sigma_0", "group_norms")
# a cut-size surface: the cell's labels and the fields each point fixes
OVER["cutsize_rule"] = ("P", "C", "ratio", "rare_mass", "sigma_b", "group_masses", "n", "d",
                        "sigma_d", "group_names", "group_counts", "backend", "steps",
                        "log_every", "n_test")
PAPER = ("rare_cutout_over_erm", "rare_cutmix_over_erm", "extreme_cutmix_over_cutout",
         "three_way_separation", "cutmix_best_overall", "cutmix_most_even",
         "cutmix_even_activation", "cutmix_common_nonmonotone")
THRESHOLD = ("threshold_erm_follows_sigma_d", "threshold_cutout_not_sigma_d",
             "threshold_cutout_follows_sigma_b", "threshold_cutmix_not_sigma_b",
             "threshold_cutmix_not_sigma_d")


def default_claims(labels: Sequence[str]) -> tuple[str, ...]:
  """Claim names for a grid that declares none: the paper's, plus its axes' own."""
  out = list(PAPER)
  if "probe_freq" in labels:
    out.append("rarity_thresholds")
  if "d" in labels:
    out.append("cutmix_overtakes_erm_with_d")
  if "arm" in labels:
    out += THRESHOLD
  return tuple(out)


def evaluate(sweep: Sweep, declared: Sequence[Mapping]) -> list[dict]:
  """Every declared claim ({"name", "at"}) with its verdict, quantities and setting."""
  out = []
  for d in declared:
    name, at = d["name"], d.get("at") or {}
    over = OVER.get(name, ())
    rows = sweep.rows_at(at, over)
    base = {"id": name, "at": dict(at), "setting": sweep.setting_text(rows, over)}
    try:
      if not rows:
        raise NotTested(f"no finished runs at {dict(at) or 'the base setting'}")
      res = CLAIMS[name](Ctx(sweep, rows, at, over))
    except NotTested as e:
      res = {"claim": TITLES[name], "test": "", "verdict": stats.NOT_TESTED, "reason": str(e),
             "decisive": [], "evidence": [], "quantities": {}}
    out.append({**base, **res})
  return out
