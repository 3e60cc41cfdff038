"""Learning thresholds: how frequent a feature must be for a method to learn it.

Along a frequency scale, a *threshold* is where test accuracy on a feature's points
first falls below `ACC_LEVEL`, scanning from frequent to rare, interpolated linearly in
log frequency between the two values around the crossing. It is clipped to the scanned
range: the largest value if accuracy starts below the level, the smallest if it never
falls below (`clipped` counts those). Two scales:

* The rarity grid's probe frequency q (one run per q; `per_seed`): thresholds per seed,
  since a seed's runs share their data stream.
* A rarity *ladder* (the threshold grid; `run_threshold`): one run holds G groups of one
  feature each with masses ~ 2^-g, so its per-group test accuracies trace the whole
  curve. The scale is the feature *count*: the expected number of training points that
  carry one signed feature v_{s,k}, n rho_k / 2.

The threshold grid fits, per method and seed, log(threshold count) against log(sigma^2 d)
along an arm where one noise level varies: the slope is the exponent. The theory's
scaling (a feature is learned when its count outgrows the memorisation speed sigma^2 d
of the noise it competes with) predicts exponent 1 in sigma_d for ERM, in sigma_b and
not sigma_d for Cutout, and neither for CutMix.
"""

from __future__ import annotations

import math

import numpy as np

from jaxcut import stats

ACC_LEVEL = 0.75  # halfway between chance and perfect


def crossing(freqs, values, level: float = ACC_LEVEL) -> tuple[float, bool]:
  """(threshold, clipped) of one curve; see the module docstring."""
  order = np.argsort(np.asarray(freqs, float))[::-1]
  f = np.asarray(freqs, float)[order]
  v = np.asarray(values, float)[order]
  if v[0] < level:
    return float(f[0]), True
  for i in range(1, len(f)):
    if v[i] < level:
      a, b = v[i - 1] - level, level - v[i]
      w = a / (a + b)
      return float(np.exp((1 - w) * np.log(f[i - 1]) + w * np.log(f[i]))), False
  return float(f[-1]), True


def per_seed(rows, method: str, axis: str, column: str, level: float = ACC_LEVEL,
             with_clipped: bool = False):
  """{seed: threshold} of `method` along `axis` (and the number clipped, if asked)."""
  mine = [r for r in rows if r["method"] == method and r.get(column, "") != ""]
  out, clipped = {}, 0
  for seed in sorted({r["seed"] for r in mine}, key=int):
    rs = [r for r in mine if r["seed"] == seed]
    if len({r[axis] for r in rs}) < 2:
      continue
    t, c = crossing([float(r[axis]) for r in rs], [float(r[column]) for r in rs], level)
    out[seed] = t
    clipped += c
  return (out, clipped) if with_clipped else out


def ladder_counts(row) -> tuple[list[str], np.ndarray]:
  """(group names, [G] expected count n rho_k / 2 of one signed feature of each group)."""
  groups = row["groups"].split("|")
  n = float(row["n"])
  return groups, np.array([n * float(row[f"mass_{g}"]) / (2 * float(row[f"count_{g}"]))
                           for g in groups])


def run_threshold(row, level: float = ACC_LEVEL) -> tuple[float, bool]:
  """(threshold count, clipped) of one ladder run, from its per-group test accuracy."""
  groups, counts = ladder_counts(row)
  return crossing(counts, [float(row[f"test_acc_{g}"]) for g in groups], level)


def arm_thresholds(rows, method: str, sigma: str, level: float = ACC_LEVEL):
  """Threshold counts on the arm where `sigma` varies: ({sigma^2 d: {seed: count}}, number
  clipped)."""
  arm = [r for r in rows if r.get("arm") == sigma and r["method"] == method
         and r.get("test_acc", "") != ""]
  out, clipped = {}, 0
  for r in arm:
    t, c = run_threshold(r, level)
    out.setdefault(float(r[sigma]) ** 2 * float(r["d"]), {})[r["seed"]] = t
    clipped += c
  return dict(sorted(out.items())), clipped


def exponents(rows, method: str, sigma: str, level: float = ACC_LEVEL) -> dict:
  """{seed: slope of log threshold count on log sigma^2 d} along the `sigma` arm."""
  curve, _ = arm_thresholds(rows, method, sigma, level)
  if len(curve) < 2:
    return {}
  seeds = set.intersection(*[set(v) for v in curve.values()])
  out = {}
  for s in sorted(seeds, key=int):
    xs = [math.log(x) for x in curve]
    ys = [math.log(curve[x][s]) for x in curve]
    out[s] = stats.fit_line(xs, ys)[0]
  return out


def fitted_line(rows, method: str, sigma: str, level: float = ACC_LEVEL) -> dict:
  """Mean-over-seeds fit for drawing: {x: [sigma^2 d], mean: [count], lo, hi, slope, icept,
  clipped, total}."""
  curve, clipped = arm_thresholds(rows, method, sigma, level)
  xs = sorted(curve)
  logs = [[math.log(v) for v in curve[x].values()] for x in xs]
  qs = [stats.interval(v) for v in logs]
  slope, icept = stats.fit_line([math.log(x) for x in xs], [q["mean"] for q in qs])
  return {"x": xs, "mean": [math.exp(q["mean"]) for q in qs],
          "lo": [math.exp(q["lo"]) if q["n"] > 1 else float("nan") for q in qs],
          "hi": [math.exp(q["hi"]) if q["n"] > 1 else float("nan") for q in qs],
          "slope": slope, "icept": icept, "clipped": clipped,
          "total": sum(len(v) for v in curve.values())}


# Kou et al.'s benign-overfitting heatmap (the benign grid): test error against the
# observed (flipped) labels over signal norm ||mu|| x d. A cell is benign when its error
# is at most BENIGN_ERROR (their binary heatmap's cut: 0.2, twice the 10% label noise).
BENIGN_ERROR = 0.2


def benign_thresholds(rows, level: float = BENIGN_ERROR) -> dict:
  """{seed: {d: threshold ||mu||}}: per seed and d, the smallest ||mu|| from which test error
  stays at most `level` (interpolated linearly between the grid's two values around the
  last crossing); NaN when the largest ||mu|| is still above the level, the smallest ||mu||
  when every cell is below it."""
  curves: dict = {}
  for r in rows:
    curves.setdefault(r["seed"], {}).setdefault(int(r["d"]), []).append(
        (float(r["mu"]), 1.0 - float(r["test_acc"])))
  out: dict = {}
  for seed, by_d in curves.items():
    for d, pts in by_d.items():
      mu, err = np.array(sorted(pts)).T
      above = np.nonzero(err > level)[0]
      if len(above) == 0:
        t = float(mu[0])
      elif above[-1] == len(mu) - 1:
        t = float("nan")
      else:
        i = above[-1]
        t = float(mu[i] + (err[i] - level) / (err[i] - err[i + 1]) * (mu[i + 1] - mu[i]))
      out.setdefault(seed, {})[d] = t
  return out


def benign_fits(rows, n: int, sigma_p: float, level: float = BENIGN_ERROR) -> dict:
  """Per seed: the exponent b of threshold ||mu||^4 ~ d^b (least squares in logs over the d
  with a threshold) and c = n ||mu||^4 / (sigma_p^4 d) with the theory's exponent 1 (the
  geometric mean over d). {"slope": {seed: b}, "c": {seed: c}, "missing": cells without a
  threshold, "thresholds": `benign_thresholds`' result}."""
  slope, c, missing = {}, {}, 0
  per_seed = benign_thresholds(rows, level)
  for seed, by_d in per_seed.items():
    ds = np.array(sorted(by_d), float)
    t = np.array([by_d[int(d)] for d in ds])
    ok = np.isfinite(t) & (t > 0)
    missing += int((~ok).sum())
    if ok.sum() >= 2:
      slope[seed] = stats.fit_line(np.log(ds[ok]), np.log(t[ok] ** 4))[0]
      c[seed] = float(np.exp(np.mean(np.log(n * t[ok] ** 4 / (sigma_p ** 4 * ds[ok])))))
  return {"slope": slope, "c": c, "missing": missing, "thresholds": per_seed}
