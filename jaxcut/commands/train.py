"""`python -m jaxcut.train`: one run, a per-group table, optional files under --out.

The entry module `jaxcut/train.py` only calls `main` here; the run itself is
`jaxcut.training.train(key, spec)`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Sequence

from absl import flags

from jaxcut.cli import MAX_SEED, UsageError, define_runtime_flags, enable_precision, parse
from jaxcut.config import PRESETS, Config, preset


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
                      "jaxcut.store.load_run(DIR)); refused if it holds anything", flag_values=fv)
  flags.DEFINE_bool("overwrite", False, "replace what --out holds (a run, a sweep, files)",
                    flag_values=fv)
  define_runtime_flags(fv)
  define_config_flags(fv)
  return fv


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
    cfg, before = cfg.with_steps(int(kw.pop("steps"))), cfg
    note = cfg.log_note(before)
    if note:
      import sys
      print(note, file=sys.stderr)
  return cfg.replace(**kw).validate()


def main(argv: Sequence[str]) -> int:
  """python -m jaxcut.train: one run, a per-group table, optional files under --out."""
  fv = train_flags()
  parse(fv, argv, usage="usage: python -m jaxcut.train [--preset NAME] [--FIELD=VALUE ...] [--seed S] [--out DIR]")
  cfg = train_config(fv)
  from jaxcut import runtime
  runtime.configure(fv.cache_dir, fv.xla_options, fv.cpu_devices)
  if not 0 <= fv.seed <= MAX_SEED:
    raise UsageError(f"--seed={fv.seed} is out of range: seed must be an integer in "
                     f"0..{MAX_SEED}")
  enable_precision(cfg.dtype)
  spec = cfg.spec()
  from jaxcut import engine
  engine.check_fits(cfg)
  target = None
  if fv.out:  # before training, so that a bad --out costs no compute
    from jaxcut.store import SweepDir
    target = SweepDir(fv.out)
    target.check_writable()
    held = target.holds()
    if held and not fv.overwrite:
      raise UsageError(f"--out {target.path} holds {held}; use another --out, or "
                       f"--overwrite to replace it")
    target.lock()  # one writer, as for a sweep

  import jax
  from jaxcut import training
  t0 = time.time()
  params, traj, metrics = jax.block_until_ready(
      training.train_jit(jax.random.key(fv.seed), spec))
  seconds = time.time() - t0
  from jaxcut.summary import run_table
  print(run_table(cfg, fv.seed, metrics, seconds))
  if target is not None:
    target.wipe()  # --overwrite (or nothing there): replaced only once the run succeeded
    write_run(fv.out, cfg, fv.seed, params, traj, metrics, seconds)
    target.unlock()
    print(f"wrote {fv.out}/metrics.json and {fv.out}/trajectories")
  return 1 if bool(metrics["diverged"]) else 0


def write_run(out, cfg: Config, seed: int, params, traj, metrics, seconds: float) -> None:
  from jaxcut import io
  from jaxcut.training import log_steps, unpadded
  scalars = {k: v for k, v in metrics.items() if k != "rho_final"}
  io.write_json(os.path.join(out, "metrics.json"), {
      "config": dataclasses.asdict(cfg), "seed": seed, "seconds": seconds,
      "metrics": scalars, **io.provenance()})
  io.save_tree(os.path.join(out, "trajectories"), {
      "step": log_steps(cfg.static()), "trajectories": traj,
      "params": unpadded(params, cfg.d, cfg.bias),
      "rho_final": metrics["rho_final"]})
