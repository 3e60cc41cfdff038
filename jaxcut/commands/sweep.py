"""`python -m jaxcut.sweep --grid NAME`: flags over `jaxcut.driver.run_sweep`, the end-of-sweep
tables, and `--report`. The entry module `jaxcut/sweep.py` only calls `main` here.
"""

from __future__ import annotations

from typing import Sequence

from jaxcut.driver import contrast_table, run_sweep, summary_table
from jaxcut.grid import Grid

USAGE = """usage: python -m jaxcut.sweep --grid NAME [--size SIZE] [--seeds N] [--steps T]
                          [--only LABEL=V,...] [--FIELD=VALUE ...] [--out DIR] [--report]
       python -m jaxcut.sweep --list"""


def sweep_flags():
  from absl import flags
  from jaxcut.flags import define_config_flags
  fv = flags.FlagValues()
  flags.DEFINE_string("grid", None, "grid name (a file in sweeps/; --list shows them) or path "
                      "to a grid .py file", flag_values=fv)
  flags.DEFINE_bool("list", False, "list the grids with their sizes and run counts, and exit",
                    flag_values=fv)
  flags.DEFINE_string("size", None, "grid size, one of the grid's own (--list names them; "
                      "default: its first, cpu, minutes on a laptop)", flag_values=fv)
  flags.DEFINE_integer("seeds", None, "seeds per grid point (overrides the grid)",
                       flag_values=fv)
  flags.DEFINE_integer("steps", None, "training steps T for every run; log_every becomes the "
                       "largest divisor of T that keeps at least as many logged points (a "
                       "note says when T has none near: a prime T logs every step)",
                       flag_values=fv)
  flags.DEFINE_multi_string("only", [], "LABEL=V1[,V2...]: only the runs whose label (an "
                            "axis or point label, e.g. method=cutmix) takes one of these "
                            "values; repeat for several labels. The full grid later grows "
                            "from it in place", flag_values=fv)
  flags.DEFINE_multi_string("contrast", [], "A,B,COLUMN: also print (and report) the "
                            "paired difference A - B of a results.csv column over seeds at "
                            "every setting, e.g. cutmix,erm,test_acc_rare; repeatable",
                            flag_values=fv)
  flags.DEFINE_string("out", None, "output directory (default runs/GRID-SIZE, plus the "
                      "overrides when there are any); a finished sweep there grows into "
                      "this one when all its runs are this grid's", flag_values=fv)
  flags.DEFINE_integer("chunk", None, "runs per compiled chunk (default: by device and size)",
                       flag_values=fv)
  flags.DEFINE_integer("vmap", None, "runs vmapped at once per device (default: 1 on CPU)",
                       flag_values=fv)
  flags.DEFINE_bool("overwrite", False, "replace a different sweep found in --out",
                    flag_values=fv)
  flags.DEFINE_bool("quiet", False, "no progress", flag_values=fv)
  flags.DEFINE_bool("distributed", False, "multi-process run: start jax.distributed (env "
                    "JAXCUT_COORDINATOR/NUM_PROCESSES/PROCESS_ID, or SLURM/TPU auto-detection)",
                    flag_values=fv)
  flags.DEFINE_integer("heartbeat_timeout", 30, "with --distributed: seconds before the "
                       "others give up on a dead process", flag_values=fv)
  flags.DEFINE_bool("report", False, "write figures and summary.md into OUT/report at the end",
                    flag_values=fv)
  from jaxcut.cli import define_runtime_flags
  define_runtime_flags(fv)
  # every Config field fixes that field for every run: --sigma_d=0.1 (or --set sigma_d=0.1)
  define_config_flags(fv, skip=("steps",))
  return fv


def grid_list() -> str:
  """Every shipped grid: name, sizes with run counts, one-line description."""
  from jaxcut import grid as grid_mod
  lines = ["grids (python -m jaxcut.sweep --grid NAME [--size SIZE]):"]
  for name in grid_mod.available():
    try:
      sizes = grid_mod.sizes(name)
      counts = ", ".join(f"{s}: {len(grid_mod.load(name, s).runs())} runs" for s in sizes)
      desc = grid_mod.load(name).description
    except Exception as e:  # a broken grid file is listed, not fatal
      counts, desc = "-", f"(does not load: {e})"
    import textwrap
    text = textwrap.wrap(desc, 92) or [""]
    lines += [f"  {name if i == 0 else '':<10} {t}" for i, t in enumerate(text)]
    lines.append(f"  {'':<10} sizes: {counts}")
  return "\n".join(lines)


def default_out(grid: Grid, seeds, steps, fixed: dict, only: dict = {}) -> str:
  """runs/GRID-SIZE, plus the overrides, so that another command gets another directory."""
  from jaxcut.cli import out_dir
  parts = [f"seeds{seeds}"] if seeds is not None else []
  parts += [f"steps{steps}"] if steps is not None else []
  parts += [f"{k}{v}" for k, v in sorted(fixed.items())]
  parts += [f"only-{k}-{'_'.join(v)}" for k, v in sorted(only.items())]
  return out_dir(f"{grid.name}-{grid.size}", parts)


def contrast_flag(text: str) -> tuple:
  """--contrast A,B,COLUMN as (a, b, column)."""
  from jaxcut.cli import UsageError
  parts = tuple(x.strip() for x in text.split(","))
  if len(parts) != 3 or not all(parts):
    raise UsageError(f"--contrast {text!r} must look like METHOD_A,METHOD_B,COLUMN (e.g. "
                     f"--contrast cutmix,erm,test_acc_rare)")
  return parts


def only_flags(values: Sequence[str]) -> dict:
  """--only LABEL=V1,V2 (repeatable) as {label: [tokens]}."""
  from jaxcut.cli import UsageError
  out: dict = {}
  for text in values:
    label, eq, tokens = text.partition("=")
    if not eq or not label.strip() or not tokens.strip():
      raise UsageError(f"--only {text!r} must look like LABEL=VALUE[,VALUE...] (e.g. "
                       f"--only method=cutmix)")
    out.setdefault(label.strip(), []).extend(t.strip() for t in tokens.split(",") if t.strip())
  return out


def main(argv: Sequence[str]) -> int:
  from jaxcut import grid as grid_mod
  from jaxcut.cli import UsageError, parse
  from jaxcut.flags import config_overrides
  fv = sweep_flags()
  parse(fv, argv, usage=USAGE, epilog="Grids: " + ", ".join(grid_mod.available()) + " (--list: sizes and "
        "run counts). Overrides: --FIELD=VALUE or --set FIELD=VALUE fix a config field for "
        "every run.")
  if fv.list:
    print(grid_list())
    return 0
  if not fv.grid:
    raise UsageError(f"--grid is required: one of {', '.join(grid_mod.available())} "
                     f"(--list describes them)")
  fixed = config_overrides(fv, skip=("steps",))
  only = only_flags(fv.only)
  for name, value in (("chunk", fv.chunk), ("vmap", fv.vmap)):
    if value is not None and value < 1:
      raise UsageError(f"--{name}={value} must be an integer >= 1")
  from jaxcut import runtime
  runtime.configure(fv.cache_dir, fv.xla_options, fv.cpu_devices)
  if fv.distributed:
    from jaxcut import distributed
    distributed.initialize(heartbeat_timeout_s=fv.heartbeat_timeout)
  grid = before = grid_mod.load(fv.grid, fv.size)
  grid = grid_mod.with_overrides(grid, seeds=fv.seeds, steps=fv.steps, fixed=fixed)
  if only:
    from jaxcut.subsets import narrowed
    grid = narrowed(grid, only)
  if fv.contrast:
    import dataclasses
    asked = tuple(contrast_flag(c) for c in fv.contrast)
    grid = dataclasses.replace(grid, contrasts=grid.contrasts + tuple(
        c for c in asked if c not in grid.contrasts))
  note = grid.base.log_note(before.base) if fv.steps is not None else ""
  from jaxcut.distributed import is_main
  if note and is_main():
    import sys
    print(note, file=sys.stderr)
  out = fv.out or default_out(grid, fv.seeds, fv.steps, fixed, only)
  result = run_sweep(grid, out, chunk=fv.chunk, width=fv.vmap, overwrite=fv.overwrite,
                     quiet=fv.quiet)
  import jax
  if jax.process_index() != 0:
    return 0
  print(f"grid {grid.name} ({grid.size}): {len(result.rows)} runs, {len(result.computed)} computed in "
        f"{result.seconds:.1f} s -> {result.out}")
  print(summary_table(grid, result.rows))
  if grid.contrasts:
    print(contrast_table(grid, result.rows))
  if result.diverged:
    print(f"DIVERGED ({len(result.diverged)} runs, left out of the summary): run ids "
          f"{', '.join(map(str, result.diverged))}")
  if fv.report:
    from jaxcut.analysis.report import write_report
    summary, figures = write_report(result.out, grid)
    print(f"report: {summary} ({len(figures)} figures)")
  return 0
