"""Mixing: does CutMix's advantage depend on its mixing law D_S? 8 laws, at two settings.

The paper proves its result for |S| uniform on {0..P} and says other laws (the CutMix
paper's Beta area law) lead to the same conclusion. Laws here: the paper's (`uniform`);
Beta(a, a) area laws, a in {0.1, 0.25, 0.5, 1, 2, 4} (a -> 0 mixes almost never: lam
near 0 or 1; large a mixes about half); and a fixed share (|S| = P/2). Each law is
summarised by Var(lam), lam = |S| / P (`objectives.lambda_moments`). ERM and Cutout run
once per setting as baselines. Settings: the `regime` preset with P = 4 (Cutout C = 1,
where the three-way separation holds and P/2 is a whole number of patches) and the
reference setting (P = 3, C = 2; there |S| = P/2 means 1 or 2; at the cpu size its
`small` version, n = 100, d = 1000, T = 1000).
"""

from jaxcut.config import PRESETS
from jaxcut.grid import Axis, Claim, Grid, setting_fields

SIZES = ("cpu", "paper")
LAWS = {"uniform": {"mixing": "uniform"},
        **{f"beta{a:g}": {"mixing": "beta", "mix_a": a} for a in (0.1, 0.25, 0.5, 1, 2, 4)},
        "half": {"mixing": "fixed", "mix_a": 0.5}}


def settings(size):
  """The setting's fields over the grid's base (the regime preset). At the cpu size the
  reference setting is its `small` version (n = 100, d = 1000, T = 1000, sigma^2 d kept)."""
  ref = PRESETS["reference" if size == "paper" else "small"]
  return {"regime": {"P": 4, "C": 1},
          "reference": setting_fields(ref)}


def get_grid(size):
  SETTINGS = settings(size)
  points = [{"law": "none", "method": m} for m in ("erm", "cutout")]
  points += [{"law": law, "method": "cutmix", **kw} for law, kw in LAWS.items()]
  claims = [Claim(c, at={"setting": s, "law": law}) for s in SETTINGS for law in LAWS
            for c in ("law_extreme_over_cutout", "law_rare_over_erm")]
  claims += [Claim("law_advantage_tracks_variance", at={"setting": s}) for s in SETTINGS]
  return Grid(name="mixing", base=PRESETS["regime"].replace(log_every=100), labels=("law",),
              points=tuple(points), axes=(Axis("setting", tuple(SETTINGS),
                                               fields=SETTINGS.__getitem__),),
              seeds=16 if size == "cpu" else 32,
              summary=("test_acc_rare", "test_acc_extreme", "test_acc", "share_train_feature"),
              claims=tuple(claims), description=__doc__.splitlines()[0])
