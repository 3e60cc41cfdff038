"""Subsets of a grid (`--only LABEL=V1,V2`): the grid with some axis values and points
left out, its runs keeping their keys (`Grid.run_keys`), so that a subset's sweep grows
into the full grid in place (`jaxcut.store.SweepDir.grow`)."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from jaxcut.grid import Grid, GridError, label_values, text


def _matches(value, token: str) -> bool:
  """Whether --only's `token` names `value`: as printed (4 significant digits), exactly,
  or as the same number."""
  if token in (str(value), text(value)):
    return True
  try:
    return not isinstance(value, (bool, str, tuple, list)) and float(token) == float(value)
  except (TypeError, ValueError):
    return False


def narrowed(grid: Grid, only: Mapping[str, Sequence[str]]) -> Grid:
  """The grid keeping, for each label in `only`, the values its tokens name (`--only
  method=cutmix,cutout`): its axes lose the other values and its points those that carry
  them. Contrasts between methods it no longer runs are dropped. Runs keep their keys
  (`Grid.run_keys`), so a narrowed sweep grows into the full one in place."""
  labels = grid.label_names()
  axes, points, kept = list(grid.axes), list(grid.points), []
  for label, tokens in only.items():
    if label not in labels:
      raise GridError(f"--only {label}=...: grid {grid.name} has no label {label!r} (its "
                      f"labels: {', '.join(labels)})")
    values = label_values(grid, label)
    unknown = [t for t in tokens if not any(_matches(v, t) for v in values)]
    if unknown or not tokens:
      raise GridError(f"--only {label}={','.join(tokens)}: {unknown[0] if unknown else '(none)'} "
                      f"is not a value of {label} in grid {grid.name} (values: "
                      f"{', '.join(map(text, values))})")
    keep = [v for v in values if any(_matches(v, t) for t in tokens)]
    kept.append((label, tuple(keep)))
    axes = [dataclasses.replace(a, values=tuple(keep)) if a.name == label else a for a in axes]
    if any(label in p for p in points):
      points = [p for p in points if label in p and p[label] in keep]
  methods = next((set(a.values) for a in axes if a.name == "method"), None)
  if methods is None and any("method" in p for p in points):
    methods = {p.get("method", grid.base.method) for p in points}
  contrasts = tuple(c for c in grid.contrasts
                    if methods is None or (c[0] in methods and c[1] in methods))
  return dataclasses.replace(grid, axes=tuple(axes), points=tuple(points),
                             contrasts=contrasts, only=grid.only + tuple(kept))
