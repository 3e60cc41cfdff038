"""`python -m jaxcut.report DIR`: write DIR/report/ (figures, summary.md, claims.json) for a
finished sweep; the library is `jaxcut.analysis.report`. The entry module
`jaxcut/report.py` only calls `main` here.
"""

from __future__ import annotations

from typing import Sequence

from jaxcut.analysis.report import write_report
from jaxcut.cli import UsageError

USAGE = """usage: python -m jaxcut.report SWEEP_DIR [--contrast A,B,COLUMN ...]

Writes SWEEP_DIR/report/: the figures the grid names, summary.md (each claim the grid
declares with its verdict, the numbers that decide it and the supporting evidence, as
mean [95% interval] over seeds; the paired contrasts the grid names) and claims.json (the
same, machine-readable).

  --contrast A,B,COLUMN   also the paired difference A - B of a results.csv column over
                          seeds at every setting (e.g. cutmix,erm,test_acc_rare);
                          repeatable"""


def main(argv: Sequence[str]) -> int:
  from jaxcut.commands.sweep import contrast_flag
  args = [a for a in argv[1:]]
  if any(a in ("-h", "--help", "-help", "--helpfull") for a in args):
    print(USAGE)
    return 0
  dirs, asked = [], []
  while args:
    a = args.pop(0)
    if a == "--contrast" and args:
      asked.append(contrast_flag(args.pop(0)))
    elif a.startswith("--contrast="):
      asked.append(contrast_flag(a.split("=", 1)[1]))
    elif a.startswith("-"):
      raise UsageError(f"unknown flag {a}: usage: python -m jaxcut.report SWEEP_DIR "
                       f"[--contrast A,B,COLUMN ...]")
    else:
      dirs.append(a)
  if len(dirs) != 1:
    raise UsageError("usage: python -m jaxcut.report SWEEP_DIR [--contrast A,B,COLUMN ...]")
  summary, figures = write_report(dirs[0], contrasts=asked)
  print(f"wrote {len(figures)} figures and {summary}")
  return 0
