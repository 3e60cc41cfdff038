"""Intervals over seeds, paired differences, and the one verdict rule every claim uses.

* `interval(values)`: the mean over seeds and its two-sided 95% Student-t interval,
  mean +- t_{0.975, n-1} s / sqrt(n) (s the sample standard deviation). Seeds are the
  independent replicates: a run's data, init and test set all come from its seed.
* `paired(a, b)`: a - b over the seeds both have. Runs with the same seed share data and
  init whatever the method, so a difference between methods is measured per seed.
* `verdict(q, sign)`: the rule. A claim "sign * quantity > 0" is *supported* when its 95%
  interval lies entirely on the claimed side of 0, *contradicted* when it lies entirely on
  the other side, *inconclusive* otherwise (and whenever fewer than 2 seeds are finite).
  A claim made of several parts (`all_of`) is supported when every part is, contradicted
  when any part is, inconclusive otherwise. A claim whose quantities a grid does not have
  is *not tested*, with the reason.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy import stats as _st

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED = (
    "supported", "contradicted", "inconclusive", "not tested")
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED)
RULE = ("*supported* when the 95% interval over seeds lies entirely on the claimed side, "
        "*contradicted* when it lies entirely on the other side, *inconclusive* otherwise; "
        "a claim of several parts is supported when every part is, contradicted when any "
        "part is, inconclusive otherwise; *not tested* when the grid lacks what the claim "
        "compares (the reason is given)")


def t95(df: int) -> float:
  """Two-sided 95% Student-t quantile t_{0.975, df}."""
  return float(_st.t.ppf(0.975, df))


def interval(values: Iterable[float]) -> dict:
  """{mean, lo, hi, n}: mean and 95% t-interval over the finite values (nan when n < 2)."""
  v = np.asarray([x for x in values if math.isfinite(x)], float)
  n = len(v)
  mean = float(v.mean()) if n else float("nan")
  if n < 2:
    return {"mean": mean, "lo": float("nan"), "hi": float("nan"), "n": n}
  half = t95(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
  return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}


def paired(a: Mapping, b: Mapping) -> list[float]:
  """a[s] - b[s] over the seeds s both have."""
  return [a[s] - b[s] for s in a if s in b]


def shifted(q: dict, by: float) -> dict:
  """The interval of (quantity - by)."""
  return {**q, **{k: q[k] - by for k in ("mean", "lo", "hi")}}


def verdict(q: dict, sign: int = 1) -> str:
  """Verdict of the claim 'sign * quantity > 0' from its interval q."""
  if q["n"] < 2 or not (math.isfinite(q["lo"]) and math.isfinite(q["hi"])):
    return INCONCLUSIVE
  lo, hi = sorted((sign * q["lo"], sign * q["hi"]))
  return SUPPORTED if lo > 0 else CONTRADICTED if hi < 0 else INCONCLUSIVE


def all_of(parts: Sequence[str]) -> str:
  """Verdict of a claim made of parts: every part supported, or any contradicted."""
  if parts and all(p == SUPPORTED for p in parts):
    return SUPPORTED
  return CONTRADICTED if CONTRADICTED in parts else INCONCLUSIVE


def fmt(q: dict) -> str:
  """'mean [lo, hi] (n=N)'."""
  if q["n"] < 2 or not math.isfinite(q["lo"]):
    return f"{q['mean']:.3f} (n={q['n']})"
  return f"{q['mean']:.3f} [{q['lo']:.3f}, {q['hi']:.3f}] (n={q['n']})"


def fit_line(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
  """Least-squares (slope, intercept) of y on x (nan when fewer than 2 distinct x)."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  ok = np.isfinite(x) & np.isfinite(y)
  x, y = x[ok], y[ok]
  if len(np.unique(x)) < 2:
    return float("nan"), float("nan")
  slope, icept = np.polyfit(x, y, 1)
  return float(slope), float(icept)
