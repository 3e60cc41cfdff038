"""`python -m jaxcut.realdata`: the paper's real-data check (ERM, Cutout, CutMix by example
consistency) on bundled digits or on CIFAR-10 (docs/realdata.md). The library is
`jaxcut.images`; the entry module `jaxcut/realdata.py` only calls `main` here.

    python -m jaxcut.realdata --dataset digits              # ~5 min on 2 CPU cores
    python -m jaxcut.realdata --dataset cifar10 --data_dir=cifar-10-batches-py \
        --cscores=cifar10-cscores-orig-order.npz            # a GPU

Every setting is a flag (`--epochs=10`, `--methods=erm,cutmix`, or `--set epochs=10`) over
the dataset's preset; bad input is one line, exit code 2, before anything is written.
The output directory resumes like a sweep's: rerun the same command after an interrupt.
"""

from __future__ import annotations

from typing import Sequence


def realdata_flags():
  from absl import flags
  from jaxcut.flags import define_fields_flags
  from jaxcut.images.config import PRESETS, RealConfig
  from jaxcut.images.config import field_help as _help
  from jaxcut.images.data import DATASETS
  fv = flags.FlagValues()

  def field_help(name):
    shown = {k: getattr(c, name) for k, c in PRESETS.items()}
    show = lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else (v if v != "" else "''")
    return _help(name) + " [" + ", ".join(f"{k}: {show(v)}" for k, v in shown.items()) + "]"

  flags.DEFINE_enum("dataset", "digits", list(DATASETS), _help("dataset") + " (picks "
                    "the preset the other settings override)", flag_values=fv)
  define_fields_flags(fv, RealConfig, field_help, skip=("dataset",))
  flags.DEFINE_string("out", None, "output directory (default runs/realdata-DATASET, plus "
                      "the overrides when there are any)", flag_values=fv)
  flags.DEFINE_bool("overwrite", False, "replace a different experiment found in --out",
                    flag_values=fv)
  flags.DEFINE_bool("quiet", False, "no progress", flag_values=fv)
  flags.DEFINE_bool("report", False, "write consistency.png and summary.md into OUT/report",
                    flag_values=fv)
  from jaxcut.cli import define_runtime_flags
  define_runtime_flags(fv)
  return fv


def resolve(fv):
  """(config, {field: override}) from the preset of --dataset and the flags."""
  from jaxcut.flags import overrides
  from jaxcut.images.config import DOCS, PRESETS
  kw = overrides(fv, tuple(DOCS), "a real-data setting", skip=("dataset",))
  return PRESETS[fv.dataset].replace(**kw).validate(), kw


def default_out(dataset: str, kw: dict) -> str:
  from jaxcut.cli import out_dir
  return out_dir(f"realdata-{dataset}", [f"{k}{v}" for k, v in sorted(kw.items())
                                          if k not in ("data_dir", "cscores", "vmap")])


def main(argv: Sequence[str]) -> int:
  from jaxcut.cli import parse
  fv = realdata_flags()
  parse(fv, argv, usage="usage: python -m jaxcut.realdata [--dataset digits|cifar10] [--FIELD=VALUE ...] [--report] [--out DIR]", epilog="Settings: every flag above overrides the --dataset preset "
        "(docs/realdata.md). Output: results.csv (one row per method and seed), "
        "eval_set.npz, parts/, cscore/, report/.")
  cfg, kw = resolve(fv)
  from jaxcut import runtime
  runtime.configure(fv.cache_dir, fv.xla_options, fv.cpu_devices)
  from jaxcut.images.experiment import run_experiment
  out = fv.out or default_out(cfg.dataset, kw)
  res = run_experiment(cfg, out, overwrite=fv.overwrite, quiet=fv.quiet)
  from jaxcut.images.analysis import RealRun, claims, summary, write_report
  print(f"realdata {cfg.dataset}: {len(res['rows'])} runs, {len(res['computed'])} computed "
        f"in {res['seconds']:.1f} s -> {res['out']}")
  run = RealRun(res["out"])
  cl = claims(run)
  print(summary(run, cl))
  if fv.report:
    text, fig = write_report(run, cl)
    print(f"report: {text} ({fig})")
  return 0
