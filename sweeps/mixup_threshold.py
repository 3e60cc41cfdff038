"""Mixup's learning threshold against sigma_d^2 d and sigma_b^2 d, beside ERM, Cutout and CutMix.

The `threshold` study's ladder and arms (9 one-feature groups with masses ~ 2^-g in every
run; sigma_d^2 d over more than a decade with sigma_b fixed, and sigma_b^2 d likewise; n =
300, d = 10^5, P = 3, Cutout C = 1, gram backend) with Mixup, lam ~ U(0, 1), as a fourth
method. A method's threshold is the count of training points per signed feature where its
test accuracy falls below 0.75. Cutout's threshold follows sigma_b^2 d and ERM's sigma_d^2
d (the `threshold` study); CutMix's follows neither as much. Where is Mixup's? Claims:
Mixup's threshold depends less on sigma_d than ERM's, less on sigma_b than Cutout's, and
sits above CutMix's (Mixup needs more points per feature). At the cpu size Mixup is
sampled (one partner and one lam per example per step), as in the `mixup` study; at the
paper size it is exact.
"""

from __future__ import annotations

import math

from jaxcut.analysis import thresholds
from jaxcut.analysis.claims import Claim, Ctx, NotTested, result
from jaxcut.analysis.figures import STANDARD
from jaxcut.grid import Axis, Grid, first_paragraph
from jaxcut.stats import interval, paired, verdict
from sweeps import threshold as th

SIZES = ("cpu", "paper")


def mixup_not_sigma_d(c: Ctx) -> dict:
  return th.exponent_claim(c, "sigma_d", "erm", "mixup",
                           "Mixup's learning threshold depends less on sigma_d than ERM's")


def mixup_not_sigma_b(c: Ctx) -> dict:
  return th.exponent_claim(c, "sigma_b", "cutout", "mixup",
                           "Mixup's learning threshold depends less on sigma_b than Cutout's")


def mixup_threshold_above_cutmix(c: Ctx) -> dict:
  """Per seed, the mean over every noise point of log2 threshold count, Mixup minus CutMix."""
  c.need_label("arm")
  c.need_methods("mixup", "cutmix")
  logs = {}
  for m in ("mixup", "cutmix", "cutout", "erm"):
    per = {}
    for r in c.rows:
      if r["method"] == m and r.get("test_acc", "") != "":
        per.setdefault(r["seed"], []).append(math.log2(thresholds.run_threshold(r)[0]))
    logs[m] = {s: sum(v) / len(v) for s, v in per.items()}
  if not logs["mixup"]:
    raise NotTested("no finished Mixup runs")
  d = interval(paired(logs["mixup"], logs["cutmix"]))
  q = {"log2_threshold_mixup_minus_cutmix": d,
       **{f"log2_threshold_{m}": interval(v.values()) for m, v in logs.items() if v}}
  return result("Mixup needs more training points per feature than CutMix (a higher "
                "learning threshold)",
                "paired (Mixup - CutMix) log2 threshold count, averaged over the noise points, "
                "> 0", [verdict(d)], q, list(q)[:1], list(q)[1:])


_ARMS = ("arm", "sigma_d", "sigma_b")
CLAIMS = (
    Claim("threshold_mixup_not_sigma_d", "Mixup's learning threshold depends less on sigma_d "
          "than ERM's", mixup_not_sigma_d, over=_ARMS),
    Claim("threshold_mixup_not_sigma_b", "Mixup's learning threshold depends less on sigma_b "
          "than Cutout's", mixup_not_sigma_b, over=_ARMS),
    Claim("mixup_threshold_above_cutmix", "Mixup's learning threshold is above CutMix's",
          mixup_threshold_above_cutmix, over=_ARMS))


def get_grid(size):
  g = th.get_grid(size)
  # Cutout and CutMix exact as in `threshold` (the same runs); Mixup sampled at the cpu size
  method = lambda m: {"method": m, "exact": m != "mixup" or size == "paper"}
  return Grid(
      name="mixup_threshold", base=g.base, seeds=g.seeds, labels=g.labels, points=g.points,
      axes=(Axis("method", ("erm", "cutout", "cutmix", "mixup"), fields=method),),
      summary=g.summary, claims=CLAIMS, figures=STANDARD + (th.fig_threshold,),
      description=first_paragraph(__doc__))
