"""results.csv: one row per run, its columns named in one place (docs/model.md, section 8).

`result_row` builds a run's row; `result_columns` lists the columns a run of a config
has, so that a grid naming an unknown column (in `summary=`) is refused before compute.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from jaxcut.config import Config, field_names
from jaxcut.data import ROLE_NAMES

TIMING_COLUMNS = ("run_seconds",)
RUN_COLUMNS = ("run_id", "compiled_group", "method", "seed", "diverged") + TIMING_COLUMNS


def applies(cfg: Config, field: str) -> bool:
  """Whether a config field means anything for this run (results.csv leaves it blank if not)."""
  if field == "exact":
    return cfg.method != "erm"
  if field == "C":
    return cfg.method == "cutout"
  if field == "mixing":
    return cfg.method in ("cutmix", "mixup")
  if field == "mix_a":
    return cfg.method in ("cutmix", "mixup") and cfg.mixing != "uniform"
  if field == "momentum":
    return cfg.optimizer == "momentum"
  if field == "beta":
    return cfg.activation in ("smoothed_leaky_relu", "leaky_relu")
  if field == "r":
    return cfg.activation in ("smoothed_leaky_relu", "polyrelu")
  if field == "q":
    return cfg.activation in ("relu_q", "polyrelu")
  if field in ("network", "hidden", "gain"):  # depth 1 is the paper's network either way
    return cfg.depth > 1
  return True


def config_columns(cfg: Config) -> dict:
  """Every config field as CSV columns (blank where it does not apply to the run); group
  tuples become one column per group."""
  row = {}
  for f in field_names():
    v = getattr(cfg, f) if applies(cfg, f) else ""
    if f == "group_names":
      row["groups"] = "|".join(v)
    elif f == "group_counts":
      row.update({f"count_{g}": c for g, c in zip(cfg.group_names, v)})
    elif f == "group_masses":
      row.update({f"mass_{g}": x for g, x in zip(cfg.group_names, v)})
    elif f == "group_norms":
      row.update({f"norm_{g}": x for g, x in zip(cfg.group_names, v or (1.0,) * len(
          cfg.group_names))})
    else:
      row[f] = v
  return row


def metric_columns(cfg: Config, m: dict) -> dict:
  names = cfg.group_names
  row = {"test_acc": m["test_acc"], "test_acc_clean": m["test_acc_clean"],
         "train_acc": m["train_acc"], "train_loss": m["train_loss"], "objective": m["objective"]}
  for g, name in enumerate(names):
    row[f"test_acc_{name}"] = m["test_acc_group"][g]
    row[f"output_{name}"] = m["output_group"][g]
    row[f"margin_{name}"] = m["margin_group"][g]
  for r, role in enumerate(ROLE_NAMES):
    row[f"share_train_{role}"] = m["train_share"][r]
    row[f"share_test_{role}"] = m["test_share"][r]
  # float32 values in their shortest round-trip form (0.792, not 0.7919999957084656)
  num = (lambda v: float(str(np.float32(v)))) if cfg.dtype == "float32" else float
  row = {k: num(v) for k, v in row.items()}
  row.update({f"n_train_{name}": int(m["n_train_group"][g]) for g, name in enumerate(names)})
  row["span_residual"] = num(m["span_residual"])
  return row


def result_row(run, group: int, metrics: dict, seconds: float) -> dict:
  """The row of `run` (a jaxcut.grid.Run) computed in compiled group `group`; `seconds`:
  its wall time (its chunk's, divided by the chunk's runs)."""
  cfg = run.config
  diverged = bool(metrics["diverged"])
  row = {"run_id": run.run_id, "compiled_group": group, "method": cfg.method, "seed": run.seed}
  row.update({k: v for k, v in run.labels.items() if k not in field_names()})
  row.update(config_columns(cfg))
  if not diverged:
    row.update(metric_columns(cfg, metrics))
  row["diverged"] = diverged
  row["run_seconds"] = round(seconds, 4)
  return row


def row_columns(run, label_names: Iterable[str] = ()) -> list[str]:
  """The columns of `run`'s row, in the order `result_row` writes them (a finished run)."""
  labels = [k for k in run.labels if k not in field_names()]
  return list(dict.fromkeys(["run_id", "compiled_group", "method", "seed"] + labels
                            + list(config_columns(run.config))
                            + metric_names(run.config.group_names)
                            + ["diverged"] + list(TIMING_COLUMNS)))


def metric_names(group_names: Iterable[str]) -> list[str]:
  """The metric columns of a run whose groups are `group_names`."""
  names = ["test_acc", "test_acc_clean", "train_acc", "train_loss", "objective"]
  for g in group_names:
    names += [f"test_acc_{g}", f"output_{g}", f"margin_{g}"]
  names += [f"share_{split}_{role}" for role in ROLE_NAMES for split in ("train", "test")]
  return names + [f"n_train_{g}" for g in group_names] + ["span_residual"]


def result_columns(cfg: Config, labels: Iterable[str] = ()) -> set[str]:
  """Every column a run of `cfg` has in results.csv (labels: the grid's label columns)."""
  return (set(RUN_COLUMNS) | set(labels) | set(config_columns(cfg))
          | set(metric_names(cfg.group_names)))
