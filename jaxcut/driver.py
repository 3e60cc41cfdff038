"""The sweep driver, `run_sweep(grid, out)`: what `python -m jaxcut.sweep --grid NAME` runs
(its flags: `jaxcut.commands.sweep`).

Outside jit, the driver expands and validates the grid, groups runs by static settings,
runs each group in chunks (`jaxcut.engine`), and after every chunk commits its rows and
trajectories (`jaxcut.store`) and prints progress; results.csv (a view of the committed
parts) is rewritten every RESULTS_EVERY_S seconds and at the end. Rerunning the
same command with the same --out resumes: committed runs are skipped. Runs whose loss or
weights became non-finite are flagged `diverged` (their metric columns left empty), left
out of the summary, and listed at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import sys
import time
from typing import Optional, Sequence

import numpy as np

from jaxcut import io, signals
from jaxcut.summary import short
from jaxcut.grid import Grid, Run
from jaxcut.results import TIMING_COLUMNS, result_row  # noqa: F401 (TIMING_COLUMNS re-exported)
from jaxcut.store import SweepDir, part_name

# results.csv is a view of the committed parts, rewritten whole: at most this often during
# a sweep (and at its end), so that 100,000-run sweeps do not spend their time on it.
RESULTS_EVERY_S = 20.0
MAX_TABLE_ROWS = 40  # the end-of-sweep table stops here (the phase grid has 400 settings)


@dataclasses.dataclass
class SweepResult:
  rows: list  # one dict per run, run-id order
  diverged: list  # run ids
  computed: list  # run ids done by this call (the rest were already committed)
  seconds: float
  out: str


def static_groups(runs: Sequence[Run]) -> list[list[Run]]:
  """Runs grouped by Static, groups in order of their first run."""
  groups: dict = {}
  for r in runs:
    groups.setdefault(r.config.static(), []).append(r)
  return list(groups.values())


class Progress:
  """Runs done, rate and ETA: a bar redrawn in place on a terminal (rich), one line per
  chunk otherwise (logs, CI).

  The ETA leaves compilation out of the rate: a group's first chunk includes compiling
  its program, so the rate comes from the other chunks, and each group still to come
  adds the mean compile time seen so far.
  """

  def __init__(self, name: str, total: int, done: int, quiet: bool, groups: int):
    self.name, self.total, self.done, self.quiet = name, total, done, quiet
    self.groups_left = groups
    self.warm_s = self.warm_runs = self.compile_s = self.compiles = 0.0
    self.bar = None
    if not quiet and sys.stderr.isatty():
      from rich.console import Console
      from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn,
                                 TimeElapsedColumn)
      self.bar = Bar(TextColumn(f"[{name}]"), BarColumn(), MofNCompleteColumn(),
                     TextColumn("runs {task.fields[rate]}  ETA {task.fields[eta]}  "
                                "{task.fields[what]}"), TimeElapsedColumn(),
                     console=Console(stderr=True), transient=False)
      self.task = self.bar.add_task(name, total=total, completed=done, rate="", eta="?",
                                    what="")
      self.bar.start()

  def update(self, n: int, what: str, seconds: float, first_of_group: bool) -> None:
    self.done += n
    if first_of_group:
      self.groups_left -= 1
    else:
      self.warm_s, self.warm_runs = self.warm_s + seconds, self.warm_runs + n
    rate = self.warm_runs / self.warm_s if self.warm_s > 0 else n / max(seconds, 1e-9)
    if first_of_group:
      self.compile_s += max(seconds - n / rate, 0.0)
      self.compiles += 1
    eta = (self.total - self.done) / rate + self.groups_left * (
        self.compile_s / max(self.compiles, 1))
    eta_s = str(datetime.timedelta(seconds=int(eta))) if math.isfinite(eta) else "?"
    if self.bar is not None:
      self.bar.update(self.task, completed=self.done, rate=f"{rate:.2f}/s", eta=eta_s, what=what)
    elif not self.quiet:
      print(f"[{self.name}] {self.done}/{self.total} runs ({100 * self.done / self.total:.0f}%)"
            f"  {rate:.2f} runs/s  ETA {eta_s}  ({what})", file=sys.stderr, flush=True)

  def close(self) -> None:
    if self.bar is not None:
      self.bar.stop()
      self.bar = None


class Interrupted(KeyboardInterrupt):
  """Ctrl-C during a sweep; results.csv already holds every committed run."""


def run_sweep(grid: Grid, out: str, chunk: Optional[int] = None, width: Optional[int] = None,
              overwrite: bool = False, quiet: bool = False) -> SweepResult:
  """Run (or resume) every run of `grid`, writing results under `out`.

  Before any compute: every run is validated, each static group is checked to fit the
  device (`engine.check_fits`), and --out is checked, locked (one writer), cleaned of
  interrupted writes and its committed parts verified (`jaxcut.store`).
  """
  runs = grid.runs()  # validates every run before any compute
  fingerprint = grid.fingerprint(runs)
  keys = grid.run_keys(runs)
  sweep = SweepDir(out)
  import jax
  from jaxcut import engine
  from jaxcut.distributed import decided_by_main, is_main
  main = is_main()
  quiet = quiet or not main
  if any(r.config.dtype == "float64" for r in runs):
    jax.config.update("jax_enable_x64", True)
  n_dev = len(jax.devices())
  group_of = _group_index(runs)  # static() of every run, once: 100,000 runs take seconds
  for members in static_groups(runs):
    engine.check_fits(members[0].config)

  def prepare():  # process 0 only; the others wait for its outcome
    sweep.check_writable()
    sweep.plan(fingerprint, overwrite, keys)  # refuse before writing anything
    sweep.lock()
    plan = sweep.plan(fingerprint, overwrite, keys)  # again, now that no one else writes
    if plan == "replace":
      sweep.wipe()
    old = (sweep.manifest() or {}) if plan in ("resume", "grow") else {}
    history = old.get("grown_from", [])
    if plan == "grow":  # before the manifest: an interrupted grow is grown again
      kept = sweep.grow(fingerprint, {k: {"run_id": r.run_id,
                                          "compiled_group": group_of[r.config.static()]}
                                      for k, r in zip(keys, runs)})
      history = history + [{k: old.get(k) for k in ("grid", "size", "fingerprint", "n_runs",
                                                     "updated")}]
      if not quiet:
        print(f"[{grid.name}] growing the sweep in {sweep.path} (fingerprint "
              f"{old.get('fingerprint')}, {old.get('n_runs')} runs): {kept} committed runs "
              f"kept, renumbered into this grid's {len(runs)}", file=sys.stderr)
    sweep.start({"grid": grid.name, "size": grid.size, "fingerprint": fingerprint,
                 "n_runs": len(runs), "compiled_programs": len(group_of),
                 "created": old.get("created", _now()),
                 "updated": _now(), "device_count": n_dev,
                 "process_count": jax.process_count(), **io.provenance(),
                 **({"grown_from": history} if history else {})}, grid.describe())
    sweep.clean_partial()
    for w in sweep.verify(fingerprint, {r.run_id for r in runs}):
      print(f"warning: {w}", file=sys.stderr)

  try:
    decided_by_main("start", prepare)  # after it, every process sees the same committed runs
    return _run(grid, runs, dict(zip((r.run_id for r in runs), keys)), sweep, fingerprint,
                chunk, width, quiet, main, n_dev, group_of)
  finally:
    sweep.unlock()


def _run(grid, runs, key_of, sweep, fingerprint, chunk, width, quiet, main,
         n_dev, group_of) -> SweepResult:
  import jax
  from jaxcut import engine
  from jaxcut.distributed import barrier
  if not quiet:
    print(f"[{grid.name}] {len(runs)} runs ({grid.size} size) in {len(group_of)} compiled "
          f"program{'s' if len(group_of) != 1 else ''} -> {sweep.path}", file=sys.stderr)
  done = sweep.finished_rows()
  todo = [r for r in runs if r.run_id not in done]
  progress = Progress(grid.name, len(runs), len(done), quiet,
                      len({r.config.static() for r in todo}))
  if done and not quiet:
    print(f"[{grid.name}] resuming in {sweep.path}: {len(done)} runs committed, "
          f"{len(todo)} to go", file=sys.stderr)
  t_start = last_write = time.time()
  computed = []
  try:
    for members in static_groups(todo):
      static = members[0].config.static()
      size, w = engine.default_layout(static, len(members), n_dev)
      if width is not None:
        w = width
      if chunk is not None:
        size = chunk
      size = math.ceil(size / (n_dev * w)) * n_dev * w  # a whole number of device batches
      for start in range(0, len(members), size):
        batch = members[start:start + size]
        t0 = time.time()
        positions, traj, metrics = engine.run_chunk(
            [r.config for r in batch], [r.seed for r in batch], size, w)
        seconds = time.time() - t0
        mine = [batch[p] for p in positions]  # the runs this process's devices computed
        rows = [result_row(r, group_of[static], _index(metrics, i), seconds / len(batch))
                for i, r in enumerate(mine)]
        if mine:
          steps = np.arange(static.n_log) * static.log_every
          arrays = {"run_id": np.array([r.run_id for r in mine], np.int64),
                    "step": np.tile(steps, (len(mine), 1)),
                    "trajectories": traj, "rho_final": metrics["rho_final"]}
          sweep.commit(part_name(jax.process_index(), mine[0].run_id), rows, arrays,
                       fingerprint, [key_of[r.run_id] for r in mine])
        done.update({row["run_id"]: row for row in rows})
        computed += [r.run_id for r in batch]
        if main and time.time() - last_write >= RESULTS_EVERY_S:
          sweep.write_results(done.values())
          last_write = time.time()
        progress.update(len(batch), f"{static.method}{'' if static.exact else ' sampled'}, "
                        f"group {group_of[static] + 1}/{len(group_of)}", seconds, start == 0)
        signals.check()  # a Ctrl-C / SIGTERM whose exception native code swallowed
  except KeyboardInterrupt:
    progress.close()
    if main:
      sweep.write_results(sweep.finished_rows().values())
    raise Interrupted(f"interrupted: {len(sweep.finished_rows())} of {len(runs)} runs are "
                      f"committed in {sweep.path} (results.csv has them); rerun the same "
                      f"command to resume") from None
  finally:
    progress.close()
  barrier("jaxcut-end")  # all parts committed
  if jax.process_count() > 1:
    done = sweep.finished_rows()
  rows = [done[r.run_id] for r in runs]
  if main:
    sweep.write_results(rows)
  diverged = [row["run_id"] for row in rows if _truthy(row["diverged"])]
  return SweepResult(rows=rows, diverged=diverged, computed=computed,
                     seconds=time.time() - t_start, out=sweep.path)


def _group_index(runs) -> dict:
  """{static config: its compiled_group number}, in order of first appearance."""
  return {s: g for g, s in enumerate(dict.fromkeys(r.config.static() for r in runs))}


def _index(tree: dict, i: int) -> dict:
  return {k: v[i] for k, v in tree.items()}


def _truthy(x) -> bool:
  return x is True or str(x) == "True"


def _now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def summary_table(grid: Grid, rows: Sequence[dict]) -> str:
  """Mean +- sd over seeds of grid.summary columns, per combination of the grid's labels
  (one seed: no sd)."""
  from jaxcut.summary import aligned, mean_sd
  labels = ["method"] + [k for k in grid.label_names() if k != "method"]
  cells: dict = {}
  for row in rows:
    if _truthy(row["diverged"]):
      continue
    key = tuple(str(row.get(k, "")) for k in labels)
    cells.setdefault(key, []).append(row)
  table = []
  for key, members in cells.items():
    line = [short(v) for v in key]
    for m in grid.summary:
      vals = [float(r[m]) for r in members if r.get(m, "") != ""]
      line.append(mean_sd(vals) if vals else "-")
    table.append(line + [len(members)])
  more = len(table) - MAX_TABLE_ROWS
  lines = aligned(labels + list(grid.summary) + ["seeds"], table[:MAX_TABLE_ROWS],
                  left=len(labels))
  if more > 0:
    lines.append(f"... and {more} more rows (every run is in results.csv; the report draws "
                 f"them)")
  return "\n".join(lines)


def contrast_table(grid: Grid, rows: Sequence[dict]) -> str:
  """Paired differences (method a - method b) of a column over seeds, per setting of the
  other labels, with 95% t-intervals (`grid.contrasts`, `jaxcut.analysis.contrasts`).
  With one numeric label besides method, it also names the value from which the
  difference stays significantly > 0."""
  from jaxcut.analysis import contrasts
  others = [k for k in grid.label_names() if k != "method"]
  out = []
  for a, b, column in grid.contrasts:
    out += [""] + contrasts.text(contrasts.contrast(rows, others, a, b, column))
  return "\n".join(out)
