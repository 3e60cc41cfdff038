"""Thin command-line layer (absl flags) over the library.

Every Config field is a flag (`--sigma_d=0.1`, `--group_masses=0.9,0.1`, `--P=4`), so
anything a grid can set, one run can set too. Bad input exits with code 2 and a single
`error: ...` line before any compute.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Callable, Sequence

from absl import flags

from jaxcut.config import PRESETS, Config, InputError, preset


MAX_SEED = 2 ** 32 - 1  # run keys are jax.random.key(uint32 seed): larger seeds would alias


class UsageError(InputError):
  """Bad command-line use; reported as one line, exit code 2."""


def run(main: Callable[[Sequence[str]], int], argv: Sequence[str] | None = None) -> None:
  """Call main(argv); turn usage/config errors into `error: ...` and exit code 2."""
  argv = list(sys.argv if argv is None else argv)
  try:
    code = main(argv)
  except (flags.Error, InputError) as e:
    _one_line(f"error: {e}")
    sys.exit(2)
  except OSError as e:  # the file system: a full disk, a path that vanished, permissions
    where = f" ({e.filename})" if e.filename else ""
    _one_line(f"error: the file system refused: {e.strerror or e}{where}; what was "
              f"committed is kept: fix it and rerun the same command to resume")
    sys.exit(2)
  except KeyboardInterrupt as e:
    _one_line(str(e) if str(e) else "interrupted")
    sys.stdout.flush()
    # not sys.exit: tearing the interpreter down under an interrupted XLA call aborted
    # the process (SIGABRT, "exception not rethrown"); results.csv is already written
    os._exit(130)
  sys.exit(code or 0)


def _one_line(text: str) -> None:
  # one write: lines of processes sharing a pipe stay whole
  sys.stderr.write(text.replace("\n", " ") + "\n")
  sys.stderr.flush()


def parse(fv: flags.FlagValues, argv: Sequence[str], epilog: str = "") -> list[str]:
  """Parse argv into fv; --help prints the flags (and `epilog`) and exits 0; stray
  arguments are errors."""
  if any(a in ("-h", "--help", "-help", "--helpfull") for a in argv[1:]):
    print(fv.get_help() + (f"\n\n{epilog}" if epilog else ""))
    sys.exit(0)
  rest = fv(list(argv))
  if len(rest) > 1:
    raise UsageError(f"unexpected argument {rest[1]!r} (flags look like --name=value)")
  return rest


def out_dir(head: str, parts) -> str:
  """runs/HEAD-PART-PART...: a default --out that names the command's overrides (hashed
  past 100 characters), so that another command gets another directory."""
  name = "-".join(str(p).replace("/", "_").replace(",", "_").replace(" ", "")
                  for p in [head, *parts])
  if len(name) > 100:
    import hashlib
    name = f"{head}-" + hashlib.sha256(name.encode()).hexdigest()[:10]
  return os.path.join("runs", name)


def enable_precision(dtype: str) -> None:
  if dtype == "float64":
    import jax
    jax.config.update("jax_enable_x64", True)


def train_flags() -> flags.FlagValues:
  from jaxcut.flags import define_config_flags
  fv = flags.FlagValues()
  flags.DEFINE_enum("preset", "reference", list(PRESETS), "base config (docs/model.md, "
                    "section 7); every other flag overrides one of its fields", flag_values=fv)
  flags.DEFINE_bool("sampled", False, "the same as --noexact: one random augmentation per "
                    "example per step instead of the exact expectation", flag_values=fv)
  flags.DEFINE_integer("seed", 0, f"run seed, 0..{MAX_SEED}: data, init, test set and "
                       "augmentation all derive from it", flag_values=fv)
  flags.DEFINE_string("out", None, "write metrics.json and trajectories/ here (read back with "
                      "jaxcut.store.load_run(DIR))", flag_values=fv)
  define_cache_flag(fv)
  define_config_flags(fv)
  return fv


def define_cache_flag(fv: flags.FlagValues) -> None:
  flags.DEFINE_string("cache_dir", None, "persistent compilation cache: a directory, or off "
                      "(default: $JAXCUT_CACHE_DIR, else ~/.cache/jaxcut/xla)", flag_values=fv)


def train_config(fv: flags.FlagValues) -> Config:
  """The preset with the flags' overrides; --steps alone keeps about as many log points."""
  from jaxcut.flags import config_overrides
  kw = config_overrides(fv)
  if fv.sampled:
    if kw.get("exact") not in (None, False, "false", "False"):
      raise UsageError("--exact and --sampled exclude each other")
    kw["exact"] = False
  cfg = preset(fv.preset)
  if "steps" in kw and "log_every" not in kw:
    cfg = cfg.with_steps(int(kw.pop("steps")))
  return cfg.replace(**kw).validate()


def train_main(argv: Sequence[str]) -> int:
  """python -m jaxcut.train: one run, a per-group table, optional files under --out."""
  fv = train_flags()
  parse(fv, argv)
  cfg = train_config(fv)
  from jaxcut import runtime
  runtime.configure(fv.cache_dir)
  if not 0 <= fv.seed <= MAX_SEED:
    raise UsageError(f"--seed={fv.seed} is out of range: seed must be an integer in "
                     f"0..{MAX_SEED}")
  enable_precision(cfg.dtype)
  spec = cfg.spec()
  from jaxcut import engine
  engine.check_fits(cfg)
  if fv.out:  # before training, so that a bad --out costs no compute
    from jaxcut.store import SweepDir
    SweepDir(fv.out).check_writable()
    os.makedirs(fv.out, exist_ok=True)
    if os.path.exists(os.path.join(fv.out, "metrics.json")):
      print(f"note: overwriting the run in {fv.out}", file=sys.stderr)

  import jax
  from jaxcut import train as train_mod
  t0 = time.time()
  params, traj, metrics = jax.block_until_ready(
      train_mod.train_jit(jax.random.key(fv.seed), spec))
  seconds = time.time() - t0
  from jaxcut.summary import run_table
  print(run_table(cfg, fv.seed, metrics, seconds))
  if fv.out:
    write_run(fv.out, cfg, fv.seed, params, traj, metrics, seconds)
    print(f"wrote {fv.out}/metrics.json and {fv.out}/trajectories")
  return 1 if bool(metrics["diverged"]) else 0


def write_run(out, cfg: Config, seed: int, params, traj, metrics, seconds: float) -> None:
  from jaxcut import io
  from jaxcut.train import log_steps
  scalars = {k: v for k, v in metrics.items() if k != "rho_final"}
  io.write_json(os.path.join(out, "metrics.json"), {
      "config": dataclasses.asdict(cfg), "seed": seed, "seconds": seconds,
      "metrics": scalars, **io.provenance()})
  io.save_tree(os.path.join(out, "trajectories"), {
      "step": log_steps(cfg.static()), "trajectories": traj, "params": params,
      "rho_final": metrics["rho_final"]})
