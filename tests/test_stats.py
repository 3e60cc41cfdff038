"""The verdict rule and intervals (jaxcut.stats), learning thresholds, claim declarations."""

import math

import numpy as np
import pytest
from scipy import stats as st

from jaxcut import stats
from jaxcut.analysis import thresholds
from jaxcut.config import PRESETS
from jaxcut.analysis.claims import Claim
from jaxcut.grid import Axis, Grid, GridError
from sweeps.paper import CUTMIX_BEST_OVERALL, PAPER


def test_interval_is_the_student_t_interval():
  v = [0.3, 0.5, 0.45, 0.7, 0.52]
  q = stats.interval(v)
  lo, hi = st.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=st.sem(v))
  np.testing.assert_allclose([q["lo"], q["hi"]], [lo, hi], rtol=1e-12)
  assert q["n"] == 5 and stats.interval([1.0])["n"] == 1 and math.isnan(stats.interval([1.0])["lo"])
  assert stats.interval([1.0, float("nan"), 3.0])["n"] == 2  # non-finite values dropped


@pytest.mark.parametrize("values,sign,expected", [
    ([0.1, 0.12, 0.09, 0.11], 1, "supported"),
    ([0.1, 0.12, 0.09, 0.11], -1, "contradicted"),
    ([-0.2, 0.3, 0.1, -0.1], 1, "inconclusive"),  # a wide interval around 0
    ([0.6, -0.46, 1.6], 1, "inconclusive"),  # the 2-seed-like case: mean > 0, wide
    ([0.5], 1, "inconclusive"),  # one seed: no interval
])
def test_verdict_rule(values, sign, expected):
  assert stats.verdict(stats.interval(values), sign) == expected


def test_parts_combine_supported_only_if_all_are():
  S, C, I = stats.SUPPORTED, stats.CONTRADICTED, stats.INCONCLUSIVE
  assert stats.all_of([S, S]) == S
  assert stats.all_of([S, I]) == I
  assert stats.all_of([S, C]) == C and stats.all_of([I, C]) == C
  assert stats.all_of([]) == I


def test_shifted_moves_the_threshold():
  q = stats.interval([0.93, 0.95, 0.94, 0.945, 0.935])
  assert stats.verdict(stats.shifted(q, 0.9)) == "supported"
  assert stats.verdict(stats.shifted(q, 0.99)) == "contradicted"


def test_crossing_interpolates_in_log_frequency_and_clips():
  f = [64, 32, 16, 8]
  t, clipped = thresholds.crossing(f, [1.0, 0.9, 0.6, 0.5], 0.75)
  # between 32 (0.9) and 16 (0.6): half way in log2
  assert not clipped and math.isclose(t, 2 ** 4.5, rel_tol=1e-12)
  assert thresholds.crossing(f, [0.6, 0.5, 0.5, 0.5]) == (64.0, True)
  assert thresholds.crossing(f, [1.0, 1.0, 0.9, 0.8]) == (8.0, True)
  # order of the input does not matter
  assert thresholds.crossing(f[::-1], [0.5, 0.6, 0.9, 1.0], 0.75)[0] == t


def test_run_threshold_reads_a_ladder_row():
  row = {"groups": "a|b|c", "n": "400", "mass_a": "0.5", "mass_b": "0.25", "mass_c": "0.25",
         "count_a": "1", "count_b": "1", "count_c": "2", "test_acc_a": "1.0",
         "test_acc_b": "0.8", "test_acc_c": "0.7"}
  groups, counts = thresholds.ladder_counts(row)
  np.testing.assert_allclose(counts, [100, 50, 25])  # n rho_k / 2
  t, clipped = thresholds.run_threshold(row)
  assert not clipped and math.isclose(t, 2 ** ((math.log2(50) + math.log2(25)) / 2))


def test_grid_claims_are_checked_before_compute():
  base = PRESETS["tiny"]
  with pytest.raises(GridError, match="'no_such_claim', which is not a jaxcut.analysis.claims.Claim"):
    Grid(name="g", base=base, claims=("no_such_claim",)).runs()
  with pytest.raises(GridError, match="tested at sigma_b"):
    Grid(name="g", base=base, axes=(Axis("sigma_d", (0.1, 0.2)),),
         claims=(CUTMIX_BEST_OVERALL.at(sigma_b=0.1),)).runs()
  other = Claim(CUTMIX_BEST_OVERALL.name, "another claim of the same name", lambda c: {})
  with pytest.raises(GridError, match="two different claims are named 'cutmix_best_overall'"):
    Grid(name="g", base=base, claims=(CUTMIX_BEST_OVERALL, other)).runs()
  with pytest.raises(GridError, match="figures= holds 'rarity.png'"):
    Grid(name="g", base=base, figures=("rarity.png",)).runs()
  with pytest.raises(GridError, match="label 'eta' is a Config field"):
    Grid(name="g", base=base, labels=("eta",), points=({"eta": 0.1},)).runs()
  g = Grid(name="g", base=base, labels=("arm",), points=({"arm": "x", "eta": 0.5},),
           claims=PAPER)
  run = g.runs()[0]
  assert run.labels == {"arm": "x", "eta": 0.5} and run.config.eta == 0.5
  assert [c["name"] for c in g.describe()["claims"]][:3] == [
      "rare_cutout_over_erm", "rare_cutmix_over_erm", "extreme_cutmix_over_cutout"]
  assert Grid(name="g", base=base).describe()["claims"] == []  # no claims unless declared
