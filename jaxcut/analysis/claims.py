"""Claims: statements a report tests, each one declared object, each with one verdict.

A study module (`sweeps/<study>.py`) declares its claims next to its grid:

    SEPARATION = Claim("three_way_separation", "ERM misses rare features, ...",
                       test=three_way_separation)         # test(ctx) -> result(...)
    Grid(..., claims=(SEPARATION.at(probe_freq=1 / 16), THRESHOLDS))

`Claim(name, sentence, test, over)`: `over` names the labels the claim spans (left free
when its runs are chosen, e.g. the probe_freq axis a threshold is read along); every other
label is fixed at the setting `claim.at(...)` names (unnamed labels: their first value,
the grid's base setting). A bare Claim in `claims=` is tested at the base setting.
grid.json records each claim's name and setting; the report finds the Claim objects again
in the grid's own module (`jaxcut.grid.load`).

A test sees the runs at its setting (`Ctx`) and returns `result(...)`: its verdict from
`jaxcut.stats.verdict` (one rule for all), the quantities that decide it and supporting
evidence. A claim the grid cannot test (a method, group or axis missing) raises
`NotTested` with the reason: it is reported as *not tested*, never dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, Sequence

from jaxcut import stats
from jaxcut.analysis.sweepdata import NoTrajectories, Sweep, by_seed, extreme_of, rare_of
from jaxcut.stats import interval, paired


class NotTested(Exception):
  """The grid lacks what the claim compares; the message says what."""


@dataclasses.dataclass(frozen=True)
class Claim:
  """A claim: `name` (its id in claims.json), `sentence` (what it states, in one line),
  `test` (Ctx -> result), `over` (the labels it spans)."""
  name: str
  sentence: str
  test: Callable[["Ctx"], dict]
  over: tuple = ()

  def at(self, where: Optional[Mapping[str, Any]] = None, /, **labels) -> "ClaimAt":
    """This claim tested at a setting: `claim.at(probe_freq=0.0625)` or `claim.at({...})`."""
    return ClaimAt(self, {**dict(where or {}), **labels})


@dataclasses.dataclass(frozen=True)
class ClaimAt:
  """A claim and the setting (label -> value) it is tested at."""
  claim: Claim
  at: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def name(self) -> str:
    return self.claim.name


def claim_at(c) -> ClaimAt:
  """A Claim (at the base setting) or a ClaimAt, as a ClaimAt; TypeError otherwise."""
  if isinstance(c, ClaimAt):
    return c
  if isinstance(c, Claim):
    return ClaimAt(c, {})
  raise TypeError(f"{c!r} is not a jaxcut.analysis.claims.Claim (or claim.at(...))")


class Ctx:
  """What a claim's test sees: the runs at its setting and the whole sweep."""

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


def result(text: str, test: str, parts: Sequence[str], quantities: dict,
           decisive: Sequence[str], evidence: Sequence[str] = ()) -> dict:
  """A claim's result: `text` (the claim as tested), `test` (how), verdict from `parts`
  (the verdicts of the decisive quantities, `stats.all_of`), and the quantities by name."""
  return {"claim": text, "test": test, "verdict": stats.all_of(parts),
          "decisive": list(decisive), "evidence": list(evidence), "quantities": quantities}


def point(value: float, n: int = 1) -> dict:
  """A quantity with no interval (a count, a crossing point) in the intervals' format."""
  return {"mean": value, "lo": float("nan"), "hi": float("nan"), "n": n}


def evaluate(sweep: Sweep, declared: Sequence[Mapping], claims: Mapping[str, Claim],
             missing: str = "") -> list[dict]:
  """Every declared claim ({"name", "at"}, as grid.json records them) with its verdict,
  quantities and setting; `claims` maps names to the grid's Claim objects. A declared name
  not among them is reported not tested, with `missing` (or a default) as the reason."""
  out = []
  for d in declared:
    name, at = d["name"], d.get("at") or {}
    claim = claims.get(name)
    over = claim.over if claim else ()
    rows = sweep.rows_at(at, over)
    base = {"id": name, "at": dict(at), "setting": sweep.setting_text(rows, over)}
    try:
      if claim is None:
        raise NotTested(missing or f"the grid's module no longer declares a claim {name!r}")
      if not rows:
        raise NotTested(f"no finished runs at {dict(at) or 'the base setting'}")
      res = claim.test(Ctx(sweep, rows, at, over))
    except (NotTested, NoTrajectories) as e:
      res = {"claim": claim.sentence if claim else name, "test": "",
             "verdict": stats.NOT_TESTED, "reason": str(e), "decisive": [], "evidence": [],
             "quantities": {}}
    out.append({**base, **res})
  return out
