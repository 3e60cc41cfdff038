"""Each Config field in words: its meaning and allowed values (`--help`, docs/model.md).

The checks themselves are `jaxcut.config.Config.validate`; these texts say the same in
words, and `field_help` adds the type, the reference value and whether the field is
compile-time or traced.
"""

from __future__ import annotations

from typing import Mapping, Tuple

from jaxcut.config import (ACTIVATIONS, BACKENDS, DTYPES, FEATURES, FIELD_TYPES, INITS, METHODS,
                           MIXINGS, NETWORKS, OPTIMIZERS, OUTPUT_SCALES, TRACED_FIELDS, Config)

FIELD_DOCS: Mapping[str, Tuple[str, str]] = {
    "P": ("patches per input", "an integer >= 2"),
    "d": ("dimension of a patch", "an integer > 2K (2K coordinates hold the features)"),
    "n": ("training points", "an integer >= 1"),
    "group_names": ("rarity groups of features, comma-separated",
                    "distinct names of letters, digits and '_'"),
    "group_counts": ("features per class in each group", "one integer >= 1 per group"),
    "group_masses": ("total probability of each group (shared equally by its features)",
                     "one number >= 0 per group, summing to 1"),
    "sigma_d": ("std of the dominant-noise patch", "> 0, with sigma_d^2 (d - 2K) a normal "
                "number of dtype"),
    "sigma_b": ("std of the background-noise patches", "> 0, with sigma_b^2 (d - 2K) a "
                "normal number of dtype"),
    "alpha": ("strength of the feature noise alpha v_{s,1} in the dominant patch", ">= 0"),
    "label_flip": ("probability that a label (training and test) is the clean label flipped; "
                   "the patches carry the clean label's feature", "in [0, 0.5)"),
    "group_norms": ("norm of each group's features (empty: all 1)",
                    "empty, or one number >= 0 per group"),
    "features": ("class features: orthogonal (v_{-1,k} = e_{K+k}, this paper's) or antipodal "
                 "(v_{-1,k} = -v_{+1,k}, the signal-noise papers')", f"one of {', '.join(FEATURES)}"),
    "noise_projected": ("noise orthogonal to the feature coordinates (true, this paper's) or "
                        "on every coordinate (false: Kou et al.'s; direct backend)",
                        "true or false"),
    "m": ("filters per class", "an integer >= 1"),
    "activation": ("activation phi (relu_q: max(z, 0)^q; polyrelu: Chidambaram et al.'s, 0 "
                   "below 0, z^q / (q r^(q-1)) on [0, r], z - (1 - 1/q) r above)",
                   f"one of {', '.join(ACTIVATIONS)}"),
    "sigma_0": ("std of the initial filters", "> 0"),
    "beta": ("slope of the (smoothed) leaky ReLU for z < 0", "in (0, 1)"),
    "r": ("smoothing width of the smoothed leaky ReLU (and rho of polyrelu)", "> 0"),
    "output_scale": ("factor on the network's output: none (this paper's), 1/m, 1/P (a mean "
                     "over patches) or 1/(mP)", f"one of {', '.join(OUTPUT_SCALES)}"),
    "bias": ("a trainable bias per filter (direct backend; not with Cutout)", "true or false"),
    "network": ("layers 2..depth: cnn (per patch, shared over patches, then the patch sum) or "
                "patchmix (each also mixes the patches through a trained [P, P] matrix)",
                f"one of {', '.join(NETWORKS)}"),
    "depth": ("trained layers: 1 is the paper's network (filters, then phi and the patch "
              "sum); L adds L - 1 hidden layers of `hidden` units", "an integer in 1..8"),
    "hidden": ("units of each of layers 2..depth (readout: +1 on half, -1 on the rest)",
               "an even integer >= 2"),
    "gain": ("init scale of layers 2..depth: entries N(0, gain^2 / fan_in)", "> 0"),
    "q": ("exponent q of relu_q (max(z, 0)^q) and polyrelu (z^q / (q r^(q-1)) on [0, r])",
          ">= 1"),
    "init": ("law of the initial filter entries (and biases), std sigma_0 either way: normal, "
             "or uniform on [-sqrt(3) sigma_0, sqrt(3) sigma_0] (PyTorch's default with sigma_0 "
             "= 1/sqrt(3 d))", f"one of {', '.join(INITS)}"),
    "method": ("training method", f"one of {', '.join(METHODS)}"),
    "exact": ("exact expectation over Cutout subsets / CutMix pairs and subsets / Mixup pairs "
              "and lam (16 quadrature nodes) (false: one sampled augmentation per example per "
              "step)", "true or false"),
    "C": ("Cutout size: patches zeroed (method=cutout)", "an integer in 1..P-1"),
    "mixing": ("CutMix law D_S of |S|: uniform on 0..P (the paper's), round(lam P) with lam "
               "~ Beta(a, a), or fixed: k or P - k, k = round(mix_a P); Mixup law of lam: "
               "U(0, 1), Beta(a, a), or fixed: a or 1 - a (a = 1/2: midpoint Mixup)",
               f"one of {', '.join(MIXINGS)}"),
    "mix_a": ("a of the Beta(a, a) mixing law (mixing=beta), or |S| / P (CutMix) and lam "
              "(Mixup) with mixing=fixed", "> 0 (beta); in [0, 1] (fixed)"),
    "optimizer": ("optimizer of full-batch gradient descent",
                  f"one of {', '.join(OPTIMIZERS)} (gram backend: sgd or momentum)"),
    "eta": ("step size", "> 0"),
    "momentum": ("momentum (optimizer=momentum)", "in [0, 1)"),
    "steps": ("training steps T", "an integer >= 1"),
    "log_every": ("steps between logged points", "an integer in 1..steps dividing steps"),
    "n_test": ("test points (split equally over the groups)", "an integer >= the number of "
               "groups"),
    "dtype": ("floating-point type", f"one of {', '.join(DTYPES)}"),
    "backend": ("direct: explicit d-dimensional vectors; gram: inner products only (cost free "
                "of d)", f"one of {', '.join(BACKENDS)}"),
}


def field_help(name: str) -> str:
  """'meaning. type, default X, allowed: ...; compile-time|traced' for --help."""
  meaning, allowed = FIELD_DOCS[name]
  default = getattr(Config(), name)
  if isinstance(default, tuple):
    default = ",".join(map(str, default))
  kind = "traced" if name in TRACED_FIELDS or (name == "d") else "compile-time"
  if name == "d":
    kind = ("traced (compiled at the next of 16, 24, 32, 48, .., 2^k, 3 2^(k-1) and zero-"
            "padded; any d with backend=gram's Bartlett draw)")
  return (f"{meaning}. {FIELD_TYPES[name]}, reference value {default}; allowed: {allowed}; "
          f"{kind}")
