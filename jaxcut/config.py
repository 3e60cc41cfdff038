"""Run configuration: one flat user-facing `Config`, split into compile-time and traced parts.

* `Static` (frozen, hashable) fixes array shapes and code paths: P, d (the arrays' width:
  the run's d rounded up by `compiled_d`, the run's own d being traced), n, the feature
  groups' names and counts, filters per class m, method, exact/sampled, mixing law D_S,
  activation, the network (family, depth, hidden width), optimizer, steps T, log cadence,
  test-set size. Runs that differ here need another compiled program.
* `Hypers` (a `flax.struct` pytree of arrays) holds every continuous hyperparameter:
  group masses, sigma_d, sigma_b, alpha, sigma_0, beta, r, eta, momentum, the Cutout
  size C (masks are built over all 2^P subsets, so C need not fix a shape), the CutMix
  Beta parameter a, the later layers' init gain and the activation exponent q. Stacking
  `Hypers` and vmapping serves a whole grid with one compiled program.
* `Spec` carries both through `jit`/`vmap`: static fields live in the pytree's treedef.

`Config.validate()` checks every field before any compute and raises `ConfigError`
naming the field and its allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Optional, Tuple

import flax.struct
import numpy as np

METHODS = ("erm", "cutout", "cutmix", "mixup")
ACTIVATIONS = ("smoothed_leaky_relu", "leaky_relu", "relu", "gelu", "relu_q", "polyrelu")
NETWORKS = ("cnn", "patchmix")
MIXINGS = ("uniform", "beta", "fixed")
OPTIMIZERS = ("sgd", "momentum", "adam")
DTYPES = ("float32", "float64")
BACKENDS = ("direct", "gram")
FEATURES = ("orthogonal", "antipodal")
OUTPUT_SCALES = ("none", "1/m", "1/P", "1/(mP)")
INITS = ("normal", "uniform")


class InputError(ValueError):
  """Bad user input (config, grid, flags, output dir): reported as one line, exit code 2."""


class ConfigError(InputError):
  """A config field is out of its allowed range; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Static:
  """Compile-time settings (shapes and code paths); a `jit` static argument."""
  P: int
  d: int
  n: int
  group_names: Tuple[str, ...]
  group_counts: Tuple[int, ...]
  m: int
  method: str
  exact: bool
  mixing: str
  activation: str
  optimizer: str
  steps: int
  log_every: int
  n_test: int
  dtype: str
  backend: str
  features: str = "orthogonal"
  noise_projected: bool = True
  output_scale: str = "none"
  bias: bool = False
  init: str = "normal"
  network: str = "cnn"
  depth: int = 1
  hidden: int = 8

  @property
  def K(self) -> int:
    """Features per class: sum of the group counts."""
    return int(sum(self.group_counts))

  @property
  def G(self) -> int:
    return len(self.group_counts)

  @property
  def n_log(self) -> int:
    """Logged time points: t = 0, log_every, ..., steps."""
    return self.steps // self.log_every + 1

  @property
  def N(self) -> int:
    """Training noise vectors: n (P - 1)."""
    return self.n * (self.P - 1)

  @property
  def d_in(self) -> int:
    """Coordinates of a patch as the network sees it: d, plus a constant 1 with bias=True
    (the filter's last coordinate is then its bias)."""
    return self.d + int(self.bias)

  @property
  def scale(self) -> float:
    """The output scaling: f = scale * sum_p sum_j [phi(.) - phi(.)]."""
    return {"none": 1.0, "1/m": 1.0 / self.m, "1/P": 1.0 / self.P,
            "1/(mP)": 1.0 / (self.m * self.P)}[self.output_scale]

  @property
  def bartlett(self) -> bool:
    """Gram backend drawing the noise Gram directly (d traced, `Static.d` = 0)."""
    return self.backend == "gram" and self.d == 0

  def feature_group(self) -> np.ndarray:
    """[K] group index of feature k (features are numbered group by group)."""
    return np.repeat(np.arange(self.G), self.group_counts)


@flax.struct.dataclass
class Hypers:
  """Traced (vmappable) hyperparameters, all float arrays."""
  masses: Any  # [G] total probability of each feature group (rho summed over the group)
  sigma_d: Any  # dominant-noise std
  sigma_b: Any  # background-noise std
  alpha: Any  # feature-noise strength in the dominant-noise patch
  sigma_0: Any  # init std
  beta: Any  # leaky slope
  r: Any  # smoothing width
  eta: Any  # step size
  momentum: Any  # used by optimizer='momentum'
  C: Any  # Cutout size (integer valued)
  mix_a: Any  # Beta(a, a) parameter of mixing='beta'; |S| / P of mixing='fixed'
  d: Any  # the run's dimension (Static.d, the arrays' width, may be larger: zero padding)
  label_flip: Any = 0.0  # probability that an observed label is the clean one flipped
  norms: Any = None  # [G] norm of each group's features (Config.group_norms; () -> 1)
  gain: Any = 1.0  # init scale of layers 2..depth (jaxcut.networks)
  q: Any = 3.0  # exponent of relu_q and polyrelu


@flax.struct.dataclass
class Spec:
  """What `train` consumes: static settings in the treedef, hypers as leaves."""
  static: Static = flax.struct.field(pytree_node=False)
  hypers: Hypers


def compiled_d(d: int) -> int:
  """The width a run of dimension d is compiled at: the smallest of 16, 24, 32, 48, 64, ..
  (2^k and 3 2^(k-1)) that holds d. Coordinates d.. are zero padding, exactly inert (no
  data, no filter weight, zero gradient), so runs of nearby d share one program, at most
  1.5x the work of their own size (`benign` at paper size: 100 dimensions, 8 programs)."""
  size = 16
  while size < d:
    size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
  return size


STATIC_FIELDS = tuple(f.name for f in dataclasses.fields(Static))
TRACED_FIELDS = ("group_masses", "group_norms") + tuple(
    f.name for f in dataclasses.fields(Hypers) if f.name not in ("masses", "norms"))
# Fields added after reproductions were committed, at the value that leaves a run as it was
# before they existed (`Config.defining`): depth 1 is the paper's network whatever the rest.
LATER_FIELDS = {"network": "cnn", "depth": 1, "hidden": 8, "gain": 1.0, "q": 3.0}


@dataclasses.dataclass(frozen=True)
class Config:
  """Everything that defines one run except its seed. Defaults: the reference setting
  (docs/model.md)."""
  # data (static)
  P: int = 3
  d: int = 2000
  n: int = 300
  group_names: Tuple[str, ...] = ("common", "rare", "extreme")
  group_counts: Tuple[int, ...] = (2, 5, 5)
  # data (traced)
  group_masses: Tuple[float, ...] = (0.8, 0.15, 0.05)
  sigma_d: float = 0.25
  sigma_b: float = 0.05
  alpha: float = 0.005
  # other papers' data knobs (docs/model.md, section 10); the defaults are this paper's
  label_flip: float = 0.0
  group_norms: Tuple[float, ...] = ()
  features: str = "orthogonal"
  noise_projected: bool = True
  # model
  m: int = 1
  activation: str = "smoothed_leaky_relu"
  sigma_0: float = 0.01
  beta: float = 0.1
  r: float = 0.1
  output_scale: str = "none"
  bias: bool = False
  init: str = "normal"
  # deeper networks (jaxcut.networks; depth 1 is the paper's whatever network says)
  network: str = "cnn"
  depth: int = 1
  hidden: int = 8
  gain: float = 1.0
  q: float = 3.0
  # objective
  method: str = "erm"
  exact: bool = True
  C: int = 2
  mixing: str = "uniform"
  mix_a: float = 1.0
  # optimisation
  optimizer: str = "sgd"
  eta: float = 1.0
  momentum: float = 0.9
  steps: int = 3000
  log_every: int = 30
  # evaluation
  n_test: int = 2000
  # float64 needs jax_enable_x64 (the CLIs switch it on when asked for)
  dtype: str = "float32"
  # direct: explicit d-dim vectors; gram: train on the noise Gram (cost free of d)
  backend: str = "direct"

  def replace(self, **kw) -> "Config":
    unknown = sorted(set(kw) - set(field_names()))
    if unknown:
      raise ConfigError(f"unknown config field {unknown[0]!r}; known fields: "
                        f"{', '.join(field_names())}")
    return dataclasses.replace(self, **{k: coerce(k, v) for k, v in kw.items()})

  def with_steps(self, steps: int) -> "Config":
    """T = steps, keeping about as many logged points (log_every scaled, dividing T)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
      raise ConfigError(f"steps={steps!r} is out of range: steps must be an integer >= 1")
    points = max(1, self.steps // self.log_every)
    every = max(1, steps // points)
    while steps % every:
      every -= 1
    return self.replace(steps=steps, log_every=every)

  def log_note(self, before: "Config") -> str:
    """'' or a note when `with_steps` could not keep `before`'s number of logged points
    (log_every must divide T: a prime T logs every step)."""
    want = max(1, before.steps // before.log_every)
    got = self.steps // self.log_every
    if got <= 2 * want:
      return ""
    near = max(want, round(self.steps / want) * want)
    return (f"note: steps={self.steps} has no divisor near steps/{want}, so log_every="
            f"{self.log_every} logs {got + 1} points (log_every must divide steps); "
            f"steps={near} would log {want + 1}")

  def defining(self) -> dict:
    """`to_dict` less the fields added after reproductions were committed while they hold
    the value that leaves a run as it was before they existed (`LATER_FIELDS`): what a
    run's fingerprint and run key hash, so that adding a knob re-keys no sweep."""
    out = self.to_dict()
    for k, v in LATER_FIELDS.items():
      if out[k] == v:
        del out[k]
    return out

  def to_dict(self) -> dict:
    # not dataclasses.asdict: it deep-copies every value (25 s of hashing a 100,000-run grid)
    out = {}
    for f in dataclasses.fields(self):
      v = getattr(self, f.name)
      out[f.name] = list(v) if isinstance(v, tuple) else v
    return out

  @property
  def K(self) -> int:
    return int(sum(self.group_counts))

  @property
  def gram_explicit(self) -> bool:
    """Gram backend with a singular noise Wishart (d - 2K < n(P-1) + 2m): explicit vectors."""
    return self.d - 2 * self.K < self.n * (self.P - 1) + 2 * self.m

  def static(self) -> Static:
    """The compiled settings: d is the arrays' width, `compiled_d(d)` (0 for the gram
    backend's Bartlett draw); the run's own d is traced (`Hypers.d`)."""
    kw = {k: getattr(self, k) for k in STATIC_FIELDS}
    if self.depth == 1:  # the paper's network: the later layers' settings mean nothing
      kw.update(network="cnn", hidden=LATER_FIELDS["hidden"])
    if self.backend == "gram" and not self.gram_explicit:
      kw["d"] = 0  # d is traced: one program serves every d
    else:
      kw["d"] = compiled_d(self.d)
    return Static(**kw)

  def hypers(self) -> Hypers:
    import jax
    if self.dtype == "float64" and not jax.config.jax_enable_x64:
      raise ConfigError("dtype=float64 needs 64-bit JAX: set JAX_ENABLE_X64=1 or use "
                        "jax.enable_x64(True)")
    # numpy leaves: no device dispatch per field when runs are launched one by one
    kw = {k: np.asarray(getattr(self, k), self.dtype) for k in TRACED_FIELDS}
    kw["masses"] = kw.pop("group_masses")
    kw["norms"] = kw.pop("group_norms")
    if not self.group_norms:
      kw["norms"] = np.ones(len(self.group_names), self.dtype)
    return Hypers(**kw)

  def spec(self) -> Spec:
    self.validate()
    return Spec(static=self.static(), hypers=self.hypers())

  def validate(self) -> "Config":
    """Raise ConfigError naming the first bad field and its allowed range."""
    def need(ok, field, allowed):
      if not ok:
        e = ConfigError(f"{field}={getattr(self, field)!r} is out of range: "
                        f"{field} must be {allowed}")
        e.field = field
        raise e
    for f in ("P", "d", "n", "m", "steps", "log_every", "n_test", "C", "depth", "hidden"):
      need(isinstance(getattr(self, f), int) and not isinstance(getattr(self, f), bool),
           f, "an integer")
    need(self.P >= 2, "P", "an integer >= 2 (patches per input)")
    need(self.n >= 1, "n", "an integer >= 1")
    G = len(self.group_names)
    need(G >= 1, "group_names", "a non-empty list of group names")
    need(len(set(self.group_names)) == G and all(
        isinstance(g, str) and g and g.replace("_", "").isalnum() for g in self.group_names),
         "group_names", "distinct non-empty names of letters, digits and '_'")
    need(len(self.group_counts) == G and all(
        isinstance(c, int) and c >= 1 for c in self.group_counts),
         "group_counts", f"{G} integers >= 1 (one per group)")
    need(len(self.group_masses) == G and all(
        math.isfinite(x) and x >= 0 for x in self.group_masses),
         "group_masses", f"{G} non-negative numbers (one per group) summing to 1")
    need(abs(sum(self.group_masses) - 1.0) <= 1e-6, "group_masses",
         f"non-negative and sum to 1 (they sum to {sum(self.group_masses):.6g})")
    need(len(self.group_norms) in (0, G) and all(
        math.isfinite(x) and x >= 0 for x in self.group_norms),
         "group_norms", f"empty (every feature of norm 1) or {G} numbers >= 0 (one per group)")
    need(math.isfinite(self.label_flip) and 0 <= self.label_flip < 0.5, "label_flip",
         "in [0, 0.5)")
    need(self.features in FEATURES, "features", f"one of {', '.join(FEATURES)}")
    need(isinstance(self.noise_projected, bool), "noise_projected", "true or false")
    need(self.output_scale in OUTPUT_SCALES, "output_scale", f"one of {', '.join(OUTPUT_SCALES)}")
    need(isinstance(self.bias, bool), "bias", "true or false")
    need(self.init in INITS, "init", f"one of {', '.join(INITS)}")
    need(self.network in NETWORKS, "network", f"one of {', '.join(NETWORKS)}")
    need(1 <= self.depth <= 8, "depth", "an integer in 1..8 (trained layers; 1: the paper's)")
    need(self.hidden >= 2 and self.hidden % 2 == 0, "hidden", "an even integer >= 2 (units of "
         "layers 2..depth; the readout is +1 on half of them and -1 on the rest)")
    need(math.isfinite(self.gain) and self.gain > 0, "gain", "> 0")
    need(math.isfinite(self.q) and self.q >= 1, "q", ">= 1 (exponent of relu_q and polyrelu)")
    if self.depth > 1 or self.network != "cnn":
      need(not self.bias, "bias", "false with depth > 1 or network=patchmix (the bias is a "
           "first-layer knob of the paper's network)")
    if self.backend == "gram":
      need(self.noise_projected, "noise_projected", "true with backend=gram (noise along the "
           "features has no exact inner-product form there; use backend=direct)")
      need(not self.bias, "bias", "false with backend=gram (use backend=direct)")
      need(self.init == "normal", "init", "normal with backend=gram (its Wishart law needs "
           "Gaussian filters; use backend=direct)")
    if self.bias:
      need(self.method != "cutout", "method", "erm, cutmix or mixup with bias=true (Cutout removes "
           "patches through their outputs, which a filter's bias would not let vanish)")
    need(self.d > 2 * self.K, "d",
         f"> 2K = {2 * self.K} (the features take 2K coordinates, the noise the rest)")
    for f in ("sigma_d", "sigma_b", "sigma_0", "eta", "r"):
      need(math.isfinite(getattr(self, f)) and getattr(self, f) > 0, f, "> 0")
    need(math.isfinite(self.alpha) and self.alpha >= 0, "alpha", ">= 0")
    need(0 < self.beta < 1, "beta", "in (0, 1)")
    need(0 <= self.momentum < 1, "momentum", "in [0, 1)")
    need(self.m >= 1, "m", "an integer >= 1 (filters per class)")
    need(self.method in METHODS, "method", f"one of {', '.join(METHODS)}")
    need(self.activation in ACTIVATIONS, "activation", f"one of {', '.join(ACTIVATIONS)}")
    need(self.mixing in MIXINGS, "mixing", f"one of {', '.join(MIXINGS)}")
    need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {', '.join(OPTIMIZERS)}")
    need(self.dtype in DTYPES, "dtype", f"one of {', '.join(DTYPES)}")
    need(self.backend in BACKENDS, "backend", f"one of {', '.join(BACKENDS)}")
    if self.backend == "gram":
      need(self.optimizer in ("sgd", "momentum"), "optimizer",
           "sgd or momentum with backend=gram (adam's per-coordinate steps leave the "
           "span of the features and training noise)")
    need(isinstance(self.exact, bool), "exact", "true or false")
    if self.method == "cutout":
      need(1 <= self.C <= self.P - 1, "C", f"an integer in 1..P-1 = 1..{self.P - 1}")
    if self.method in ("cutmix", "mixup") and self.mixing == "beta":
      need(math.isfinite(self.mix_a) and self.mix_a > 0, "mix_a", "> 0")
    if self.method == "cutmix" and self.mixing == "fixed":
      need(0 <= self.mix_a <= 1, "mix_a", "in [0, 1] with mixing=fixed (|S| = round(mix_a P) "
           "or P minus that)")
    if self.method == "mixup" and self.mixing == "fixed":
      need(0 <= self.mix_a <= 1, "mix_a", "in [0, 1] with mixing=fixed (lam = mix_a or 1 - "
           "mix_a)")
    if self.method in ("cutout", "cutmix") and self.exact:
      need(self.P <= 16, "P", "<= 16 for exact Cutout/CutMix (they sum over all 2^P subsets)")
    need(self.steps >= 1, "steps", "an integer >= 1")
    need(1 <= self.log_every <= self.steps and self.steps % self.log_every == 0,
         "log_every", f"an integer in 1..steps that divides steps={self.steps}")
    need(self.n_test >= G, "n_test", f"an integer >= the number of groups ({G}): the "
         "test set is stratified by group")
    self._validate_dtype_range()
    return self

  def _validate_dtype_range(self) -> None:
    """Every traced value must be a normal number of the run's dtype (no overflow to inf,
    no underflow to 0), and so must the noise scales sigma^2 (d - 2K) the data uses."""
    info = np.finfo(self.dtype)
    lo, hi = float(info.tiny), float(info.max)

    def normal(x):
      return x == 0 or lo <= abs(x) <= hi

    for f in TRACED_FIELDS:
      for x in np.atleast_1d(getattr(self, f)):
        if not normal(float(x)):
          raise ConfigError(f"{f}={getattr(self, f)!r} is out of range: {f} must be 0 or of "
                            f"magnitude {lo:.3g} .. {hi:.3g} in {self.dtype}")
    dp = self.d - 2 * self.K
    for f in ("sigma_d", "sigma_b", "sigma_0"):
      x = getattr(self, f)
      if not normal(x * x * dp):
        raise ConfigError(
            f"{f}={x!r} is out of range: {f}^2 (d - 2K) must be of magnitude {lo:.3g} .. "
            f"{hi:.3g} in {self.dtype}, i.e. {f} in {math.sqrt(lo / dp):.3g} .. "
            f"{math.sqrt(hi / dp):.3g} at d={self.d}")


def field_names() -> Tuple[str, ...]:
  return tuple(f.name for f in dataclasses.fields(Config))


FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Config)}  # annotations, as text


def coerce(field: str, value: Any, kind: Optional[str] = None) -> Any:
  """Turn a CLI string or JSON value into the field's Python type, or raise ConfigError.
  `kind` is the field's annotation ("int", "Tuple[float, ...]"; default: Config's)."""
  kind = kind or FIELD_TYPES[field]
  try:
    if kind.startswith("Tuple"):
      items = value.split(",") if isinstance(value, str) else list(value)
      inner = {"str": str, "int": _int, "float": float}[kind[len("Tuple["):].split(",")[0]]
      return tuple(inner(x.strip() if isinstance(x, str) else x) for x in items)
    if kind == "bool":
      return _bool(value)
    if kind == "int":
      return _int(value)
    if kind == "float":
      if isinstance(value, bool):
        raise ValueError
      return float(value)
    return str(value) if not isinstance(value, str) else value
  except (ValueError, TypeError, KeyError):
    raise ConfigError(f"{field}={value!r} is not a valid {kind}") from None


def _int(x):
  if isinstance(x, bool):
    raise ValueError
  if isinstance(x, float):
    if not x.is_integer():
      raise ValueError
    return int(x)
  return int(x)


def _bool(x):
  if isinstance(x, bool):
    return x
  if isinstance(x, str) and x.lower() in ("true", "1", "yes"):
    return True
  if isinstance(x, str) and x.lower() in ("false", "0", "no"):
    return False
  raise ValueError


PRESETS: Mapping[str, Config] = {
    # The reference setting: P = 3, d = 2000, n = 300, common / rare / extreme groups.
    "reference": Config(),
    # A quick look at the same effects (seconds per run on a laptop CPU).
    "small": Config(n=100, d=1000, steps=1000, log_every=20, n_test=1000,
                    sigma_d=0.25 * math.sqrt(2), sigma_b=0.05 * math.sqrt(2)),
    # Where the three-way separation shows in test accuracy (the `regime` grid's base):
    # counts per signed feature 105 / 33 / 6 against sigma_d^2 d = 1000, sigma_b^2 d = 100.
    "regime": Config(n=300, d=100_000, P=3, C=1, backend="gram",
                     group_counts=(1, 1, 2), group_masses=(0.7, 0.22, 0.08),
                     sigma_d=0.1, sigma_b=math.sqrt(1e-3)),
    # Tests and first contact.
    "tiny": Config(n=20, d=100, group_counts=(1, 2, 2), steps=50, log_every=10, n_test=200),
}


def preset(name: str) -> Config:
  if name not in PRESETS:
    raise ConfigError(f"preset={name!r} is unknown: preset must be one of {', '.join(PRESETS)}")
  return PRESETS[name]
