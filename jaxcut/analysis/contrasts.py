"""Contrasts: the paired difference of one results.csv column between two methods.

A grid's `contrasts=(("cutmix", "erm", "test_acc"),)` (or `--contrast cutmix,erm,test_acc`
on the sweep or report command line) asks, at every setting of the labels other than
method, for

    mean_s (x_a,s - x_b,s) with its 95% Student-t interval over the seeds s

that both methods ran (same data and init for one seed: a paired difference). The sign
says where the interval lies: `>` above 0, `<` below, `~` holding 0, `?` one seed (no
interval). With one numeric label besides method, `onset` is the value of that label
from which the difference stays above 0 (None: nowhere in the grid). The sweep prints the
table (`text`); the report writes it into summary.md (`markdown`) and claims.json.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from jaxcut.stats import interval, paired
from jaxcut.summary import short


def _truthy(x) -> bool:
  return x is True or str(x) == "True"


def _is_number(v: str) -> bool:
  try:
    float(v)
  except ValueError:
    return False
  return True


def contrast(rows: Sequence[Mapping], others: Sequence[str], a: str, b: str,
             column: str) -> dict:
  """{"a", "b", "column", "labels", "cells": [{"at", "mean", "lo", "hi", "n", "sign"}],
  "onset"} over the non-diverged rows; cells in order of first appearance."""
  cells: dict = {}
  for row in rows:
    if _truthy(row.get("diverged")) or row.get(column, "") in ("", None):
      continue
    key = tuple(str(row.get(k, "")) for k in others)
    cells.setdefault(key, {}).setdefault(row["method"], {})[str(row["seed"])] = float(row[column])
  out = []
  for key, by in cells.items():
    if a not in by or b not in by:
      continue
    q = interval(paired(by[a], by[b]))
    sign = (">" if q["lo"] > 0 else "<" if q["hi"] < 0 else "~") if q["n"] > 1 else "?"
    out.append({"at": dict(zip(others, key)), **q, "sign": sign})
  onset: Optional[str] = None
  numeric = len(others) == 1 and out and all(_is_number(c["at"][others[0]]) for c in out)
  if numeric:
    order = sorted(out, key=lambda c: float(c["at"][others[0]]))
    start = next((i for i in range(len(order))
                  if all(c["sign"] == ">" for c in order[i:])), None)
    onset = order[start]["at"][others[0]] if start is not None else None
  return {"a": a, "b": b, "column": column, "labels": list(others), "cells": out,
          "onset": onset, "numeric": bool(numeric)}


def _interval(c: dict) -> str:
  if c["n"] < 2 or c["lo"] != c["lo"]:
    return f"{c['mean']:+.3f} (1 seed: no interval)"
  return f"{c['mean']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}]"


def _difference(c: dict) -> str:
  return f"{_interval(c)} {c['sign']} 0"


def _onset_line(k: dict) -> str:
  where = (f"from {k['labels'][0]} = {short(k['onset'])} on" if k["onset"] is not None
           else "nowhere in this grid")
  return f"{k['a']} {k['column']} > {k['b']} {k['column']} (interval above 0) {where}"


def text(k: dict) -> list[str]:
  """The contrast as the sweep prints it: a header, one line per setting, the onset."""
  widths = [max(len(x), 8) for x in k["labels"]]
  out = [f"paired {k['a']} - {k['b']}, {k['column']}: mean [95% interval] over seeds",
         "".join(f"{x:<{w + 2}}" for x, w in zip(k["labels"], widths)) + f"{'difference':>28}"]
  for c in k["cells"]:
    out.append("".join(f"{short(c['at'][x]):<{w + 2}}" for x, w in zip(k["labels"], widths))
               + f"{_difference(c):>28}")
  if k["numeric"]:
    out.append(_onset_line(k))
  return out


def markdown(k: dict) -> list[str]:
  """The contrast as a summary.md section."""
  out = [f"### Paired {k['a']} - {k['b']}: {k['column']}", "",
         "| " + " | ".join(k["labels"] + ["difference, mean [95% interval]", "n", "sign"]) + " |",
         "|" + "---|" * (len(k["labels"]) + 3)]
  for c in k["cells"]:
    out.append("| " + " | ".join([short(c["at"][x]) for x in k["labels"]]
                                 + [_interval(c), str(c["n"]), f"`{c['sign']} 0`"]) + " |")
  if not k["cells"]:
    out.append("| (no setting where both methods finished) |" + " |" * (len(k["labels"]) + 2))
  if k["numeric"]:
    out += ["", _onset_line(k) + "."]
  return out + [""]
