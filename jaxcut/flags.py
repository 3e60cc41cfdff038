"""Typed command-line flags built from `jaxcut.config.Config`: one override syntax for every CLI.

Every Config field is a flag of its own type (`--sigma_d=0.1`, `--P=4`, `--method=cutmix`,
`--exact` / `--noexact`, `--group_masses=0.9,0.1`), with its meaning, default and allowed
values in `--help` (from `jaxcut.field_docs`). `--set FIELD=VALUE` (repeatable) is the
same override in another spelling, kept for scripts. `python -m jaxcut.train` applies the
overrides to a preset; `python -m jaxcut.sweep` fixes them for every run of the grid.
`define_fields_flags` and `overrides` do the same for any settings dataclass
(`python -m jaxcut.realdata` over `jaxcut.images.config.RealConfig`).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Callable, Mapping, Sequence

from absl import flags as absl_flags

from jaxcut import config
from jaxcut.config import Config, field_names
from jaxcut.field_docs import field_help

CHOICES = {"method": config.METHODS, "activation": config.ACTIVATIONS,
           "mixing": config.MIXINGS, "optimizer": config.OPTIMIZERS, "dtype": config.DTYPES,
           "backend": config.BACKENDS, "network": config.NETWORKS}


def define_config_flags(fv: absl_flags.FlagValues, skip: Sequence[str] = ()) -> None:
  """One typed flag per Config field (default None: the preset's or grid's value)."""
  define_fields_flags(fv, Config, field_help, CHOICES, skip)


def config_overrides(fv: absl_flags.FlagValues, skip: Sequence[str] = ()) -> dict:
  """{field: value} from the typed flags and --set; the same field twice must agree."""
  return overrides(fv, field_names(), "a config field", skip)


def define_fields_flags(fv: absl_flags.FlagValues, cls, help_of: Callable[[str], str],
                        choices: Mapping[str, Sequence[str]] = {}, skip: Sequence[str] = ()
                        ) -> None:
  """One flag per field of the dataclass `cls`, of the field's type (enum where `choices`
  names the values), default None; and --set FIELD=VALUE."""
  hints = typing.get_type_hints(cls)
  for f in dataclasses.fields(cls):
    name = f.name
    if name in skip:
      continue
    kind, text = hints[name], help_of(name)
    if name in choices:
      absl_flags.DEFINE_enum(name, None, choices[name], text, flag_values=fv)
    elif kind is bool:
      absl_flags.DEFINE_bool(name, None, text, flag_values=fv)
    elif kind is int:
      absl_flags.DEFINE_integer(name, None, text, flag_values=fv)
    elif kind is float:
      absl_flags.DEFINE_float(name, None, text, flag_values=fv)
    else:  # tuples: comma-separated, coerced per item by the dataclass's replace
      absl_flags.DEFINE_string(name, None, text, flag_values=fv)
  absl_flags.DEFINE_multi_string(
      "set", [], "FIELD=VALUE: the same as --FIELD=VALUE (repeatable)", flag_values=fv)


def overrides(fv: absl_flags.FlagValues, names: Sequence[str], what: str,
              skip: Sequence[str] = ()) -> dict:
  """{field: value} over `names` from the typed flags and --set (`what` names a field in
  errors); the same field twice must agree."""
  from jaxcut.cli import UsageError
  out = {k: getattr(fv, k) for k in names if k not in skip and getattr(fv, k) is not None}
  for item in fv.set:
    if "=" not in item:
      raise UsageError(f"--set {item!r} must look like FIELD=VALUE")
    k, v = (x.strip() for x in item.split("=", 1))
    if k not in names:
      raise UsageError(f"--set {k}=...: {k!r} is not {what} (known: {', '.join(names)})")
    if k in skip:
      raise UsageError(f"--set {k}=... : use --{k}={v}")
    if k in out and str(out[k]) != v:
      raise UsageError(f"{k} is given twice (--{k}={out[k]} and --set {k}={v})")
    out[k] = v
  return out
