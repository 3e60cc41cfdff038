"""`python -m jaxcut.report DIR`: write DIR/report/ (figures, summary.md, claims.json) for a
finished sweep; the library is `jaxcut.analysis.report`. The entry module
`jaxcut/report.py` only calls `main` here.
"""

from __future__ import annotations

from typing import Sequence

from jaxcut.analysis.report import write_report
from jaxcut.cli import UsageError

USAGE = """usage: python -m jaxcut.report SWEEP_DIR

Writes SWEEP_DIR/report/: the figures the grid names, summary.md (each claim the grid
declares with its verdict, the numbers that decide it and the supporting evidence, as
mean [95% interval] over seeds) and claims.json (the same, machine-readable)."""


def main(argv: Sequence[str]) -> int:
  args = [a for a in argv[1:]]
  if any(a in ("-h", "--help", "-help", "--helpfull") for a in args):
    print(USAGE)
    return 0
  if len(args) != 1 or args[0].startswith("-"):
    raise UsageError("usage: python -m jaxcut.report SWEEP_DIR")
  summary, figures = write_report(args[0])
  print(f"wrote {len(figures)} figures and {summary}")
  return 0
