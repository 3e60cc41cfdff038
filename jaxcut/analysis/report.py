"""Reports: figures and a claim-by-claim summary of a finished sweep (`write_report(DIR)`,
what `python -m jaxcut.report DIR` runs).

Writes into DIR/report/: the PNG figures the grid names (`Grid.figures`), `summary.md`
(each claim the grid declares, `jaxcut.analysis.claims`, with its verdict,
the numbers that decide it and the supporting evidence, as mean [95% interval] over
seeds), the paired contrasts the grid names (or the caller asks for) and `claims.json`
(the same, machine-readable). One verdict rule for every claim:
`jaxcut.stats`. Diverged runs are left out and listed. The claim and figure functions are
found again in the grid's module (grid.json's `source`, `jaxcut.grid.load`); a grid built
in Python is passed in instead (`write_report(DIR, grid)`).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from jaxcut import io, stats
from jaxcut.analysis import claims as claims_mod
from jaxcut.analysis import contrasts as contrast_mod
from jaxcut.analysis.figures import STANDARD
from jaxcut.analysis.sweepdata import NoTrajectories, Sweep
from jaxcut.config import InputError
from jaxcut.store import SweepDir


def study_of(sweep: Sweep):
  """(the Grid that declared this sweep's claims and figures, "") or (None, why not)."""
  from jaxcut import grid as grid_mod
  record = sweep.grid
  source = record.get("source", record["name"])  # grid.json before `source`: a shipped name
  if not source:
    return None, ("its grid was built in Python (grid.json names no grid file): pass the Grid "
                  "to jaxcut.analysis.report.write_report(DIR, grid)")
  try:
    return grid_mod.load(source, record.get("size")), ""
  except InputError as e:
    return None, f"its grid does not load ({e})"


def claim_table(results: list[dict]) -> list[str]:
  lines = ["| claim | verdict | tested at | decided by | evidence |", "|---|---|---|---|---|"]
  for c in results:
    q = c["quantities"]
    decide = "<br>".join(f"{k}: {stats.fmt(q[k])}" for k in c["decisive"])
    if c["verdict"] == stats.NOT_TESTED:
      decide = f"not tested: {c['reason']}"
    else:
      decide = f"{c['test']}<br>{decide}"
    ev = "<br>".join(f"{k}: {stats.fmt(q[k])}" for k in c["evidence"])
    lines.append(f"| {c['claim']} | **{c['verdict']}** | {c['setting']} | {decide} | {ev} |")
  return lines


def summary_markdown(sweep: Sweep, results: list[dict], figures: list[str],
                     warnings: Sequence[str] = (), contrasts: Sequence[dict] = ()) -> str:
  g = sweep.grid
  counts = {v: sum(c["verdict"] == v for c in results) for v in stats.VERDICTS}
  lines = [f"# jaxcut report: grid `{g['name']}` ({g['size']} size)", "",
           f"{len(sweep.rows) + len(sweep.diverged)} runs, " + (
               f"{sweep.seeds()} seeds" if sweep.seeds() != 1 else
               "1 seed (so no sd and no intervals: they need >= 2 seeds)") +
           f". jaxcut {sweep.manifest['jaxcut_version']}, jax "
           f"{sweep.manifest['jax_version']}, {sweep.manifest['backend']}.", "",
           f"Verdict rule (every claim): {stats.RULE}. Numbers are mean [95% Student-t "
           "interval] (n seeds); differences between methods are paired by seed (same "
           "data and init). Claims are decided in per-group test accuracy where they can "
           "be; feature outputs and margins are evidence (docs/model.md defines every "
           "quantity).", "",
           "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ".", ""]
  if g.get("only"):
    lines += ["A subset of the grid: only " + "; ".join(
        f"{k} in {{{', '.join(map(str, v))}}}" for k, v in g["only"].items()) +
        " (`--only`).", ""]
  lines += [f"**Warning: {w}.**" for w in warnings] + ([""] if warnings else [])
  lines += claim_table(results)
  if not results:
    lines.append("| (this grid declares no claims) | | | | |")
  if contrasts:
    lines += ["", "## Contrasts", "",
              "Paired differences between two methods over the seeds both ran (same data "
              "and init), at every setting of the other labels; `> 0`: the 95% interval "
              "lies above 0, `< 0` below, `~ 0` it holds 0.", ""]
    for k in contrasts:
      lines += contrast_mod.markdown(k)
    lines.pop()  # markdown() ends each section with a blank line
  lines += ["", "## Figures", ""]
  lines += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figures]
  return "\n".join(lines) + "\n"


class ReportError(InputError):
  """A directory a report cannot be made from; one line."""


def load(path: str) -> tuple[Sweep, list[str]]:
  """The sweep at `path`, checked: (sweep, warnings about what is missing from it).

  Raises ReportError (one line) for a directory that is not a finished sweep's: missing
  or unreadable grid.json / manifest.json / results.csv, a results.csv without runs,
  parts that fail their checks, or no run that did not diverge.
  """
  for name in ("results.csv", "grid.json", "manifest.json"):
    if not os.path.isfile(os.path.join(path, name)):
      raise ReportError(f"{path} holds no {name}: not a sweep directory (run python -m "
                        f"jaxcut.sweep first)")
  try:
    sweep = Sweep(path)
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise ReportError(f"{path} is damaged: {type(e).__name__}: {e}") from None
  if not sweep.rows and not sweep.diverged:
    raise ReportError(f"{path}/results.csv holds no runs")
  if not sweep.rows:
    raise ReportError(f"{path}: all {len(sweep.diverged)} runs diverged; nothing to report "
                      f"(see their configs in results.csv)")
  bad = []
  if sweep.has_trajectories():  # (a copy of results.csv alone has no parts to check)
    bad = SweepDir(path).verify(sweep.manifest.get("fingerprint", ""),
                                set(range(int(sweep.manifest.get("n_runs", 0)))), remove=False)
  if bad:
    raise ReportError(f"{path}: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1
                                             else ""))
  warnings = []
  total = int(sweep.manifest.get("n_runs", 0))
  have = len(sweep.rows) + len(sweep.diverged)
  if have < total:
    warnings.append(f"incomplete sweep: {have} of {total} runs are finished; rerun the "
                    f"sweep to finish it")
  if sweep.diverged:
    warnings.append(f"{len(sweep.diverged)} runs diverged and are left out: run ids "
                    f"{', '.join(map(str, sweep.diverged[:20]))}"
                    + (" ..." if len(sweep.diverged) > 20 else ""))
  return sweep, warnings


def check_contrasts(sweep: Sweep, asked) -> None:
  """Each (a, b, column) names two methods the sweep ran and one of its columns."""
  methods = set(sweep.methods()) | {r["method"] for r in sweep.rows}
  columns = set(sweep.rows[0]) if sweep.rows else set()
  for c in asked:
    if len(c) != 3:
      raise ReportError(f"contrast {','.join(c)} must be METHOD_A,METHOD_B,COLUMN")
    a, b, column = c
    for m in (a, b):
      if m not in methods:
        raise ReportError(f"contrast {a},{b},{column}: the sweep has no {m} runs (it has "
                          f"{', '.join(sorted(methods))})")
    if column not in columns:
      raise ReportError(f"contrast {a},{b},{column}: {column!r} is not a results.csv column "
                        f"(e.g. {', '.join(c for c in sorted(columns) if c.startswith('test_acc'))})")


def _close(figure) -> None:
  import matplotlib.pyplot as plt
  plt.close(figure)


def write_report(path: str, grid=None, contrasts: Sequence[Sequence[str]] = ()
                 ) -> tuple[str, list[str]]:
  """Write DIR/report/{*.png, summary.md, claims.json}; returns (summary path, figures).
  `grid`: the Grid the sweep ran (default: loaded again from grid.json's source).
  `contrasts`: (method a, method b, column) beside the grid's own (grid.json). Warnings
  (incomplete sweep, diverged runs, a grid that no longer loads) go to stderr and into
  summary.md."""
  sweep, warnings = load(path)
  asked = [tuple(c) for c in sweep.grid.get("contrasts") or []]
  asked += [tuple(c) for c in contrasts if tuple(c) not in asked]
  check_contrasts(sweep, asked)
  why = ""
  if grid is None:
    grid, why = study_of(sweep)
    if grid is None:
      warnings.append(f"claims not tested and only the standard figures drawn: {why}")
  out = os.path.join(path, "report")
  os.makedirs(out, exist_ok=True)
  for old in os.listdir(out):  # figures of an earlier report that this one may not draw
    if old.endswith(".png"):
      os.remove(os.path.join(out, old))
  figures, skipped = [], []
  for fn in (grid.figure_functions() if grid is not None else STANDARD):
    try:
      drawn = fn(sweep, out)
    except NoTrajectories:
      skipped.append(fn.__name__)
      _close("all")
      continue
    if drawn is not None:
      figures.append(drawn.path)
      _close(drawn.figure)
  if skipped:
    warnings.append(f"no trajectories here (results.csv only): skipped the figures "
                    f"{', '.join(skipped)} and the claims that read trajectories")
  for w in warnings:
    print(f"warning: {w}", file=sys.stderr)
  results = claims_mod.evaluate(sweep, sweep.grid.get("claims") or [],
                                grid.claim_objects() if grid is not None else {}, why)
  tables = [contrast_mod.contrast(sweep.rows, sweep.others, a, b, column)
            for a, b, column in asked]
  io.write_json(os.path.join(out, "claims.json"), {"grid": sweep.grid["name"],
                                                   "rule": stats.RULE,
                                                   "diverged": sweep.diverged,
                                                   "claims": results,
                                                   "contrasts": tables})
  summary = os.path.join(out, "summary.md")
  with open(summary, "w") as f:
    f.write(summary_markdown(sweep, results, figures, warnings, tables))
  return summary, figures
