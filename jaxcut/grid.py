"""Grids: named sets of runs, written as Python files in `sweeps/`.

A grid file `sweeps/NAME.py` defines `get_grid(size: str) -> Grid` for the sizes it lists
in `SIZES` (the first is the default; "cpu" runs in minutes on a laptop, "paper" is the
paper's scale). A `Grid` is

    Grid(name, base=Config(...),               # fixed fields for every run
         points=({"P": 3, ...}, ...),          # optional explicit points (zipped values)
         labels=(),                            # non-Config label keys points may carry
         axes=(Axis("method", ("erm", ...)),   # a product over these axes
               Axis("probe_freq", (...), fields=lambda q: {"group_masses": (1 - q, q)})),
         seeds=4,
         summary=("test_acc",),                # columns of the end-of-sweep table
         contrasts=(("cutmix", "erm", "test_acc"),),  # paired differences it prints
         claims=(THREE_WAY_SEPARATION.at(P=4),),      # what its report tests
         figures=STANDARD + (fig_rarity,))             # what its report draws

Runs are points x product(axes) x seeds, in that order; run ids count from 0 in it. An
axis sets the Config field of its name, or, with `fields`, several tied fields (its
value is then a label column in results.csv). Any Config field can be an axis: static
fields (method, exact, mixing, P, ...) split the runs into compiled groups, traced ones
share a program. Run r with seed s uses jax.random.key(s): runs that differ only in
hyperparameters see the same data and init (paired comparisons).

A study is one module: its grid, its claims (`jaxcut.analysis.claims.Claim`, declared
next to the grid; the paper's own are `sweeps.paper.PAPER`) and its figures (functions of
a `Sweep`, `jaxcut.analysis.figures`; default: `STANDARD`, the trajectories, noise
memorisation and evenness). `claims` lists the claims the report tests, each at a setting
of the other labels (`claim.at(label=value)`; unnamed labels: their first value).
grid.json records the claims' names and settings, the figures' names and where the grid
came from (`source`: a shipped grid's name or a file's path), so that `python -m
jaxcut.report DIR` finds the claim and figure functions in the same module again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import itertools
import json
import os
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from jaxcut.analysis.claims import claim_at
from jaxcut.config import Config, ConfigError, InputError, coerce, field_names

SWEEPS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sweeps")


class GridError(InputError):
  """A grid file or grid option is wrong; the message names the grid and the problem."""


@dataclasses.dataclass(frozen=True)
class Axis:
  name: str
  values: Tuple[Any, ...]
  fields: Optional[Callable[[Any], Mapping[str, Any]]] = None

  def assignments(self, grid: str) -> list[dict]:
    if not isinstance(self.values, (tuple, list)) or len(self.values) == 0:
      raise GridError(f"grid {grid}: axis {self.name!r} has no values")
    if self.fields is None and self.name not in field_names():
      raise GridError(f"grid {grid}: axis {self.name!r} is not a Config field (known: "
                      f"{', '.join(field_names())}) and has no fields= function")
    out = []
    for v in self.values:
      kw = dict(self.fields(v)) if self.fields else {self.name: v}
      out.append({k: _coerce(grid, k, x) for k, x in kw.items()})
    return out


@dataclasses.dataclass(frozen=True)
class Run:
  run_id: int
  seed: int
  config: Config
  labels: Mapping[str, Any]  # axis name -> value (and point keys)


@dataclasses.dataclass(frozen=True)
class Grid:
  name: str
  base: Config
  axes: Tuple[Axis, ...] = ()
  points: Tuple[Mapping[str, Any], ...] = ({},)
  seeds: int = 4
  description: str = ""
  # results.csv columns the end-of-sweep table shows (mean +- sd over seeds)
  summary: Tuple[str, ...] = ("test_acc",)
  # (method a, method b, column): the sweep prints the paired difference a - b over seeds,
  # with its 95% interval, at every setting of the other labels
  contrasts: Tuple[Tuple[str, str, str], ...] = ()
  # claims the report tests: Claim (at the base setting) or claim.at(label=value)
  claims: Tuple[Any, ...] = ()
  # figure functions the report draws (None: jaxcut.analysis.figures.STANDARD)
  figures: Optional[Tuple[Callable, ...]] = None
  # label columns that points may set besides Config fields (e.g. "arm"); any other
  # point key must be a Config field
  labels: Tuple[str, ...] = ()
  size: str = "cpu"
  # where load() found the grid: a shipped grid's name, or a grid file's absolute path
  # ("" for a Grid built in Python: its report needs the Grid passed in)
  source: str = ""
  # --only: (label, values kept) pairs that narrowed the grid's axes and points
  only: Tuple[Tuple[str, Tuple[Any, ...]], ...] = ()

  def runs(self) -> list[Run]:
    """Expand and validate every run; raise GridError naming the first bad one."""
    if not isinstance(self.seeds, int) or not 1 <= self.seeds <= 2 ** 32:
      raise GridError(f"grid {self.name}: seeds={self.seeds!r} must be an integer in "
                      f"1..2^32 (seeds are 0..seeds-1, uint32)")
    if not self.points:
      raise GridError(f"grid {self.name}: points is empty")
    names = [a.name for a in self.axes]
    if len(set(names)) != len(names):
      raise GridError(f"grid {self.name}: an axis name appears twice in {names}")
    per_axis = [a.assignments(self.name) for a in self.axes]
    clash = [k for k in self.labels if k in field_names() or k in names]
    if clash:
      raise GridError(f"grid {self.name}: label {clash[0]!r} is a Config field or an axis; "
                      f"labels= names extra label columns only")
    self.resolved_claims()  # validated with the grid, before any compute
    self.figure_functions()
    runs = []
    for point in self.points:
      point_kw = {k: _coerce(self.name, k, v) for k, v in point.items() if k not in self.labels}
      for combo in itertools.product(*[range(len(a.values)) for a in self.axes]):
        kw = dict(point_kw)
        labels = {k: (v if k in self.labels else point_kw[k]) for k, v in point.items()}
        for axis, assign, i in zip(self.axes, per_axis, combo):
          kw.update(assign[i])
          labels[axis.name] = axis.values[i]
        try:
          cfg = self.base.replace(**kw).validate()
        except ConfigError as e:
          where = ", ".join(f"{k}={v}" for k, v in labels.items())
          raise GridError(f"grid {self.name}{f' ({where})' if where else ''}"
                          f"{self._file_line(getattr(e, 'field', ''))}: {e}") from None
        for s in range(self.seeds):
          runs.append(Run(len(runs), s, cfg, labels))
    self._check_columns(runs)
    return runs

  def _file_line(self, field: str) -> str:
    """', grid file F, line N' where the grid's file sets `field` (its first such line)."""
    if not self.source.endswith(".py") or not os.path.isfile(self.source):
      return ""
    import re
    with open(self.source) as f:
      lines = f.read().splitlines()
    hit = next((i + 1 for i, line in enumerate(lines)
                if field and re.search(rf"\b{re.escape(field)}\s*=[^=]|['\"]{re.escape(field)}['\"]\s*:", line)), None)
    return f", grid file {self.source}" + (f", line {hit}" if hit else "")

  def _check_columns(self, runs: Sequence[Run]) -> None:
    """summary= and contrasts= must name results.csv columns and methods the runs have."""
    from jaxcut.results import result_columns
    configs = {r.config for r in runs}
    columns = set().union(*(result_columns(c, self.label_names()) for c in configs))
    methods = {c.method for c in configs}
    for col in self.summary:
      if col not in columns:
        raise GridError(f"grid {self.name}: summary column {col!r} is not a results.csv "
                        f"column of this grid (e.g. {', '.join(sorted(columns)[:8])}, ...)")
    for c in self.contrasts:
      if len(c) != 3:
        raise GridError(f"grid {self.name}: contrast {c!r} must be (method a, method b, column)")
      a, b, col = c
      for m in (a, b):
        if m not in methods:
          raise GridError(f"grid {self.name}: contrast {c!r} names method {m!r}, which the "
                          f"grid does not run (it runs {', '.join(sorted(methods))})")
      if col not in columns:
        raise GridError(f"grid {self.name}: contrast {c!r} names column {col!r}, which is "
                        f"not a results.csv column of this grid")

  def label_names(self) -> list[str]:
    names = []
    for p in self.points:
      names += [k for k in p if k not in names]
    return names + [a.name for a in self.axes if a.name not in names]

  def resolved_claims(self) -> list[dict]:
    """[{"name", "at"}]: the declared claims and their settings, checked against the labels."""
    labels = self.label_names()
    self.claim_objects()  # each a Claim, one object per name
    out = []
    for c in self.claims:
      t = claim_at(c)
      bad = [k for k in t.at if k not in labels]
      if bad:
        raise GridError(f"grid {self.name}: claim {t.name} is tested at {bad[0]}=..., which "
                        f"the grid does not sweep (labels: {', '.join(labels)})")
      out.append({"name": t.name, "at": _jsonable(dict(t.at))})
    return out

  def claim_objects(self) -> dict:
    """{name: Claim} of the declared claims (one object per name)."""
    out: dict = {}
    for c in self.claims:
      try:
        t = claim_at(c)
      except TypeError:
        raise GridError(f"grid {self.name}: claims= holds {c!r}, which is not a "
                        f"jaxcut.analysis.claims.Claim (or claim.at(...))") from None
      if out.setdefault(t.name, t.claim) != t.claim:
        raise GridError(f"grid {self.name}: two different claims are named {t.name!r}")
    return out

  def figure_functions(self) -> tuple:
    """The figures the report draws: `figures`, or the standard three."""
    if self.figures is None:
      from jaxcut.analysis.figures import STANDARD
      return STANDARD
    labels = self.label_names()
    for f in self.figures:
      if not callable(f):
        raise GridError(f"grid {self.name}: figures= holds {f!r}, which is not a function "
                        f"of (sweep, out)")
      bad = [k for k in getattr(f, "at", {}) if k not in labels]
      if bad:
        raise GridError(f"grid {self.name}: figure {f.__name__} is drawn at {bad[0]}=..., "
                        f"which the grid does not sweep (labels: {', '.join(labels)})")
    return tuple(self.figures)

  def run_keys(self, runs: Optional[Sequence[Run]] = None) -> list[str]:
    """One key per run: a hash of what defines it (seed, config, labels), not its run id,
    so that a run keeps its key in a grown or narrowed grid (`SweepDir.grow`)."""
    runs = self.runs() if runs is None else runs
    memo: dict = {}
    return [_hash(_defining(r, memo)) for r in runs]

  def fingerprint(self, runs: Optional[Sequence[Run]] = None) -> str:
    """Hash of everything that defines the runs (not chunking, not devices)."""
    runs = self.runs() if runs is None else runs
    memo: dict = {}
    return _hash([_defining(r, memo) for r in runs])

  def describe(self) -> dict:
    return {"name": self.name, "size": self.size, "description": self.description,
            "seeds": self.seeds, "base": self.base.to_dict(),
            "points": [_jsonable(p) for p in self.points],
            "axes": [{"name": a.name, "values": _jsonable(list(a.values)),
                      "tied": a.fields is not None} for a in self.axes],
            "summary": list(self.summary),
            "contrasts": [list(c) for c in self.contrasts],
            "claims": self.resolved_claims(),
            "figures": [f.__name__ for f in self.figure_functions()],
            "source": self.source,
            **({"only": {k: _jsonable(list(v)) for k, v in self.only}} if self.only else {})}


def _defining(run: Run, memo: dict) -> list:
  """What defines a run, as JSON: [seed, config, labels] (its run id is not part of it).
  memo: id(config) -> its dict, for the seeds that share one config object (a 100,000-run
  grid has 10,000 configs)."""
  config = memo.get(id(run.config))
  if config is None:
    config = memo[id(run.config)] = run.config.defining()
  return [run.seed, config, _jsonable(run.labels)]


def _hash(x) -> str:
  return hashlib.sha256(json.dumps(x, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _jsonable(x):
  if isinstance(x, Mapping):
    return {k: _jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [_jsonable(v) for v in x]
  return x


def _coerce(grid, field, value):
  if field not in field_names():
    raise GridError(f"grid {grid}: {field!r} is not a Config field")
  try:
    return coerce(field, value)
  except ConfigError as e:
    raise GridError(f"grid {grid}: {e}") from None


# The fields that make a "setting" (data, network size, training length, backend), for
# grids that lay one preset's setting over another's base (mixing, width, cutsize).
SETTING_FIELDS = ("P", "C", "d", "n", "sigma_d", "sigma_b", "group_names", "group_counts",
                  "group_masses", "backend", "steps", "log_every", "n_test")


def setting_fields(cfg: Config, names: Sequence[str] = SETTING_FIELDS) -> dict:
  """{name: cfg's value} for the setting's fields `names`, in that order."""
  return {k: getattr(cfg, k) for k in names}


def first_paragraph(doc: Optional[str]) -> str:
  """A module docstring's first paragraph on one line: a grid's `description`."""
  return " ".join((doc or "").strip().split("\n\n")[0].split())


def available() -> list[str]:
  if not os.path.isdir(SWEEPS_DIR):
    return []
  return sorted(f[:-3] for f in os.listdir(SWEEPS_DIR)
                if f.endswith(".py") and not f.startswith("_"))


def sizes(name: str) -> tuple[str, ...]:
  """The sizes grid `name` offers (its SIZES; the first is the default)."""
  return tuple(_module(name).__dict__.get("SIZES", ("cpu",)))


def _module(name: str):
  """The module of grid `name`: a shipped grid imported as sweeps.NAME (so that studies
  importing each other's claims share one module), or a .py file loaded by path."""
  builtin = not name.endswith(".py")
  path = os.path.join(SWEEPS_DIR, f"{name}.py") if builtin else name
  if not os.path.isfile(path):
    if builtin:
      raise GridError(f"unknown grid {name!r}: grid must be one of {', '.join(available())} "
                      f"or a path to a .py grid file")
    raise GridError(f"grid file {path}: no such file")
  try:
    module = _import_builtin(name) if builtin else None
    if module is None:
      spec = importlib.util.spec_from_file_location(
          f"jaxcut_grid_{hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]}", path)
      module = importlib.util.module_from_spec(spec)
      spec.loader.exec_module(module)
  except Exception as e:  # a grid file is user code: its error is the user's input error
    raise GridError(f"grid file {path} does not load: {_where(e, path)}") from None
  module.__jaxcut_path__ = path
  return module


def _import_builtin(name: str):
  """sweeps.NAME when the importable sweeps package is this checkout's (else None)."""
  try:
    package = importlib.import_module("sweeps")
  except ImportError:
    return None
  where = os.path.dirname(os.path.abspath(getattr(package, "__file__", "") or ""))
  if where != os.path.abspath(SWEEPS_DIR):
    return None
  return importlib.import_module(f"sweeps.{name}")


def load(name: str, size: Optional[str] = None) -> Grid:
  """The grid `name` (a file in sweeps/, or a path to a .py file) at `size`."""
  module = _module(name)
  path = module.__jaxcut_path__
  known = getattr(module, "SIZES", ("cpu",))
  if not callable(getattr(module, "get_grid", None)):
    raise GridError(f"grid file {path} defines no get_grid(size) function")
  if not isinstance(known, (tuple, list)) or not known or not all(isinstance(x, str) for x in known):
    raise GridError(f"grid file {path}: SIZES must be a non-empty tuple of names")
  size = size or known[0]
  if size not in known:
    raise GridError(f"grid {name}: size={size!r} is unknown: size must be one of "
                    f"{', '.join(known)}")
  try:
    grid = module.get_grid(size)
  except InputError as e:  # a bad value in the file's Config(...): name the file and line
    raise GridError(f"grid file {path}{_line(e, path)}: {e}") from None
  except Exception as e:
    raise GridError(f"grid file {path}: get_grid({size!r}) raised {_where(e, path)}") from None
  if not isinstance(grid, Grid):
    raise GridError(f"grid {name}: get_grid must return a jaxcut.grid.Grid")
  source = name if not name.endswith(".py") else os.path.abspath(path)
  return dataclasses.replace(grid, size=size, source=source)


def _lineno(e: Exception, path: str) -> Optional[int]:
  """The last line of `path` in the exception's traceback (or its own lineno)."""
  line = getattr(e, "lineno", None)
  tb = e.__traceback__
  while tb is not None:
    if tb.tb_frame.f_code.co_filename == path:
      line = tb.tb_lineno
    tb = tb.tb_next
  return line


def _line(e: Exception, path: str) -> str:
  line = _lineno(e, path)
  return f" (line {line})" if line else ""


def _where(e: Exception, path: str) -> str:
  """'Type: message (line N)' of an exception raised by a grid file."""
  text = getattr(e, "msg", None) or str(e)
  return f"{type(e).__name__}: {text}{_line(e, path)}"


def with_overrides(grid: Grid, seeds: Optional[int] = None, steps: Optional[int] = None,
                   fixed: Optional[Mapping[str, str]] = None) -> Grid:
  """Apply CLI overrides: seed count, step count (log cadence kept), fixed fields (a subset
  of the runs, --only, is `jaxcut.subsets.narrowed`)."""
  base = grid.base
  fixed = dict(fixed or {})
  swept = {k for a in grid.axes for kw in a.assignments(grid.name) for k in kw}
  swept |= {k for p in grid.points for k in p}
  for k in fixed:
    if k in swept:
      values = label_values(grid, k)
      hint = (f"; to run some of them use --only {k}={text(values[0])}[,...]" if values
              else "")
      raise GridError(f"grid {grid.name} sweeps {k}"
                      + (f" ({', '.join(map(text, values))})" if values else "")
                      + f", so --{k} (or --set {k}=...) cannot fix it{hint}")
  if fixed:
    base = base.replace(**fixed)
  if steps is not None:
    try:
      base = base.with_steps(steps)
    except ConfigError as e:
      raise GridError(str(e)) from None
  if seeds is not None and seeds < 1:
    raise GridError(f"seeds={seeds} must be an integer >= 1")
  return dataclasses.replace(grid, base=base, seeds=grid.seeds if seeds is None else seeds)


def text(v) -> str:
  """A label value as the tables print it (and as --only matches it)."""
  if isinstance(v, float):
    return f"{v:.4g}"
  if isinstance(v, (tuple, list)):
    return "|".join(map(text, v))
  return str(v)


def label_values(grid: Grid, label: str) -> list:
  """The values label `label` takes in the grid (its axis's, or the points'), in order."""
  for a in grid.axes:
    if a.name == label:
      return list(a.values)
  out = []
  for p in grid.points:
    if label in p and p[label] not in out:
      out.append(p[label])
  return out
