"""`python -m jaxcut.report DIR`: figures and a claim-by-claim summary of a finished sweep.

Writes into DIR/report/: PNG figures chosen by the grid's axes (`jaxcut.analysis.figures`),
`summary.md` (each claim the grid declares, `jaxcut.analysis.claims`, with its verdict,
the numbers that decide it and the supporting evidence, as mean [95% interval] over
seeds) and `claims.json` (the same, machine-readable). One verdict rule for every claim:
`jaxcut.stats`. Diverged runs are left out and listed.
"""

from __future__ import annotations

import os
from typing import Sequence

from jaxcut import io, stats
from jaxcut.analysis import claims as claims_mod
from jaxcut.analysis.figures import FIGURES
from jaxcut.analysis.sweepdata import Sweep


def declared_claims(sweep: Sweep) -> list[dict]:
  """The claims grid.json declares ({"name", "at"}), or the defaults for its axes."""
  declared = sweep.grid.get("claims")
  if declared is None:
    declared = [{"name": n, "at": {}} for n in claims_mod.default_claims(sweep.labels)]
  return declared


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


def summary_markdown(sweep: Sweep, results: list[dict], figures: list[str]) -> str:
  g = sweep.grid
  counts = {v: sum(c["verdict"] == v for c in results) for v in stats.VERDICTS}
  lines = [f"# jaxcut report: grid `{g['name']}` ({g['size']} size)", "",
           f"{len(sweep.rows) + len(sweep.diverged)} runs, {sweep.seeds()} seeds. jaxcut "
           f"{sweep.manifest['jaxcut_version']}, jax {sweep.manifest['jax_version']}, "
           f"{sweep.manifest['backend']}.", "",
           f"Verdict rule (every claim): {stats.RULE}. Numbers are mean [95% Student-t "
           "interval] (n seeds); differences between methods are paired by seed (same "
           "data and init). Claims are decided in per-group test accuracy where they can "
           "be; feature outputs and margins are evidence (docs/model.md defines every "
           "quantity).", "",
           "Verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ".", ""]
  if sweep.diverged:
    lines += [f"**Diverged runs, left out**: {', '.join(map(str, sweep.diverged))}.", ""]
  lines += claim_table(results)
  if not results:
    lines.append("| (this grid declares no claims) | | | | |")
  lines += ["", "## Figures", ""]
  lines += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figures]
  return "\n".join(lines) + "\n"


def write_report(path: str) -> tuple[str, list[str]]:
  """Write DIR/report/{*.png, summary.md, claims.json}; returns (summary path, figures)."""
  sweep = Sweep(path)
  if not sweep.rows:
    raise ValueError(f"{path}: no finished, non-diverged runs to report")
  out = os.path.join(path, "report")
  os.makedirs(out, exist_ok=True)
  figures = [f for f in (fn(sweep, out) for fn in FIGURES) if f]
  results = claims_mod.evaluate(sweep, declared_claims(sweep))
  io.write_json(os.path.join(out, "claims.json"), {"grid": sweep.grid["name"],
                                                   "rule": stats.RULE,
                                                   "diverged": sweep.diverged,
                                                   "claims": results})
  summary = os.path.join(out, "summary.md")
  with open(summary, "w") as f:
    f.write(summary_markdown(sweep, results, figures))
  return summary, figures


def main(argv: Sequence[str]) -> int:
  from jaxcut.cli import UsageError
  args = [a for a in argv[1:]]
  if len(args) != 1 or args[0].startswith("-"):
    raise UsageError("usage: python -m jaxcut.report SWEEP_DIR")
  if not os.path.exists(os.path.join(args[0], "results.csv")):
    raise UsageError(f"{args[0]} holds no results.csv (run python -m jaxcut.sweep first)")
  summary, figures = write_report(args[0])
  print(f"wrote {len(figures)} figures and {summary}")
  return 0


if __name__ == "__main__":
  from jaxcut.cli import run
  run(main)
