"""The regime, threshold, mixing, width, cutsize, mixup, mixup_threshold and depth grids at smoke size (2 seeds, 20 steps, small test sets): they
run, their reports draw their figures, and every claim they declare gets a verdict."""

import dataclasses
import json
import os

import pytest

from jaxcut import grid as grid_mod
from jaxcut.analysis.claims import claim_at
from jaxcut.analysis.report import write_report
from jaxcut.driver import run_sweep


# axis values (and mixing laws) kept at smoke size: fewer compiled programs
KEEP = {"regime": {"setting": ("separation", "C=P-1", "reference")},
        "mixing": {"setting": ("regime",)},
        "width": {"setting": ("regime",), "m": (1, 2), "activation": ("relu",)},
        "depth": {"setting": ("regime",), "net": ("paper", "patchmix2")},
        "cutsize": {"P": (3, 4), "ratio": (2.5, 20.0), "rare_mass": (0.1, 0.3)}}
LAWS = ("none", "uniform", "beta0.1", "half")


def smoke_size(name):
  g = grid_mod.load(name)
  small = dict(steps=20, log_every=10, n_test=30 * len(g.base.group_names), n=60)
  base = g.base.replace(**small)
  axes, claims, points = g.axes, g.claims, g.points
  if name in KEEP:
    keep = KEEP[name]
    axes = tuple(dataclasses.replace(a, values=keep[a.name]) if a.name in keep else a
                 for a in axes)
    at = lambda c: claim_at(c).at
    claims = tuple(c for c in claims if all(at(c)[k] in v for k, v in keep.items() if k in at(c))
                   and at(c).get("law", "none") in LAWS)
    points = tuple({**p, **{k: v for k, v in small.items() if k in p}} for p in points
                   if p.get("law", "none") in LAWS
                   and all(p[k] in v for k, v in keep.items() if k in p))
  return dataclasses.replace(g, base=base, seeds=2, axes=axes, claims=claims, points=points)


@pytest.mark.parametrize("name,figure", [("regime", "regime.png"), ("threshold", "threshold.png"),
                                         ("mixing", "mixing.png"), ("width", "width.png"),
                                         ("cutsize", "cutsize.png"), ("mixup", "mixup.png"),
                                         ("depth", "depth.png"),
                                         ("mixup_threshold", "threshold.png")])
def test_grid_runs_and_reports_its_claims(tmp_path, name, figure):
  g = smoke_size(name)
  out = str(tmp_path / name)
  result = run_sweep(g, out, quiet=True)
  assert not result.diverged
  _, figures = write_report(out, g)
  assert os.path.join(out, "report", figure) in figures
  claims = json.load(open(os.path.join(out, "report", "claims.json")))["claims"]
  assert [(c["id"], c["at"]) for c in claims] == [(c["name"], c["at"]) for c in
                                                  g.resolved_claims()]
  assert all(c["verdict"] in ("supported", "contradicted", "inconclusive") for c in claims), \
      [(c["id"], c.get("reason")) for c in claims if c["verdict"] == "not tested"]
