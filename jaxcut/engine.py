"""Running many runs at once: one compiled program per static group, sharded over devices.

A chunk of R runs that share a `Static` is laid out on a 1-D mesh ("runs") over all
devices (`jax.shard_map`): each device gets R / D runs and does them as a loop of vmaps of
`width` runs (`lax.map(..., batch_size=width)`). The chunk is padded to a multiple of
D * width with copies of its last run, whose results are dropped. Each run builds its own
key from its seed inside the program, so results do not depend on the chunking, the width
or the device count (up to float rounding of batched matmuls).

Chunk size and width: on CPU the width is 1 (a vmap of reference-size runs was 3x slower
per run than a loop: one run's data fits the cache, a batch does not); chunks hold 8
reference-size runs per device, or as many smaller ones as make the same work, up to 512
(`cpu_chunk`), so that commits stay a small share of the time. Gram-backend runs with a
tiny Gram matrix (`CPU_VMAP_MAX_GRAM`) are the exception: they are vmapped 64 at a time,
512 per chunk. On GPU/TPU the width is as many runs as half the device memory holds, per
run the larger of the estimate `bytes_per_run` and XLA's compiled memory analysis of 2
vmapped runs (`measured_bytes_per_run`), capped at 1024. `--chunk` and `--vmap` override both.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxcut import compiler
from jaxcut.config import Config, ConfigError, Spec, Static
from jaxcut.networks import per_patch
from jaxcut.training import train

AXIS = "runs"
# On CPU, gram runs whose Gram matrix is at most this size are vmapped (measured, 2 cores:
# N + 2m = 22 -> vmap 64 at 0.25 ms/run vs loop 0.56; 102 -> 2.3 vs 2.8; 202 -> 7.9 vs 5.7
# (slower); 602 -> ERM 42 vs 52 but exact CutMix 145 vs 112 (slower)).
CPU_VMAP_MAX_GRAM = 64


def bytes_per_run(static: Static) -> int:
  """A rough upper estimate of one run's working set in bytes (float32)."""
  n, P, d, m, K = static.n, static.P, static.d, static.m, static.K
  N = n * (P - 1)
  words = 0
  units = 2 * m + (static.depth - 1) * static.hidden  # every layer's units per patch
  if static.method in ("cutout", "cutmix") and static.exact:
    pairs = n * 2 ** P * (n if static.method == "cutmix" else 1)
    words += 6 * pairs * (1 if per_patch(static) else P * units)  # patchmix: masked / mixed Z
  if static.method == "mixup" and static.exact:  # mixed pre-activations through the layers
    from jaxcut.objectives import MIXUP_NODES
    words += 6 * MIXUP_NODES * units * n * n * P
  if static.bartlett:  # Gram, its Bartlett factor, feature parts, state snapshots, a test batch
    words += 3 * (N + 2 * m) ** 2 + 4 * n * P * (2 * K + 2 * m)
    words += static.n_log * 2 * m * (N + 2 * K) + 4 * 4096 * P * (2 * K + 2 * m)
  else:
    words += 4 * n * P * d  # data, its gradient-side temporaries
    words += 2 * min(static.n_test, 256) * P * d  # a test batch
    words += 2 * N ** 2 + 2 * N * d  # Gram factor, noise basis
    words += 8 * m * d + static.n_log * 2 * m * d  # filters, snapshots
  words += static.n_log * (8 * m * K + 32)
  return 4 * words


def device_memory() -> int:
  """Bytes one device can hold: host RAM on CPU, the reported limit on GPU/TPU."""
  if jax.default_backend() == "cpu":
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  try:
    return int(jax.local_devices()[0].memory_stats()["bytes_limit"])
  except Exception:  # backends without memory_stats
    return 16 << 30


def check_fits(cfg: Config) -> None:
  """Refuse (ConfigError, before any compute) a run too large for one device."""
  static = cfg.static()
  scale = 2 if static.dtype == "float64" else 1
  need, have = scale * bytes_per_run(static), device_memory()
  if need <= have // 2:
    return
  small_d = dataclasses.replace(static, d=min(static.d, 2 * static.K + 1))
  field = "d" if static.d and scale * bytes_per_run(small_d) <= have // 2 else "n"
  hint = "use backend=gram, whose cost does not grow with d" if field == "d" else \
      "use a smaller n, or exact=false for Cutout/CutMix/Mixup"
  raise ConfigError(f"{field}={getattr(cfg, field)} is out of range for this device: one run "
                    f"needs about {need / 2 ** 30:.3g} GiB and it has {have / 2 ** 30:.3g} GiB; "
                    f"{hint}")


def one_run(static: Static):
  """(seed, hypers) -> (trajectories, final metrics) of one run: what every program here
  compiles, vmapped, mapped or alone."""
  def run(seed, hypers):
    return train(jax.random.key(seed), Spec(static=static, hypers=hypers))[1:]
  return run


@functools.lru_cache(maxsize=None)
def measured_bytes_per_run(static: Static) -> int:
  """Compiled temp + output bytes per run of 2 vmapped runs (XLA's memory analysis), or the
  estimate `bytes_per_run` where the backend reports none. Costs one compile per group."""
  try:
    hyp = jax.tree.map(lambda x: np.stack([x, x]), _hypers_like(static))
    prog = compiler.jit(jax.vmap(one_run(static)))
    stats = prog.lower(np.zeros(2, np.uint32), hyp).compile().memory_analysis()
    return int((stats.temp_size_in_bytes + stats.output_size_in_bytes) / 2)
  except Exception:  # backends without memory analysis
    return bytes_per_run(static)


def _hypers_like(static: Static):
  """Some valid traced hyperparameters of this static group (shapes and dtypes only matter)."""
  cfg = Config(**{k: getattr(static, k) for k in ("P", "n", "group_names", "group_counts", "m",
                                                   "method", "exact", "mixing", "activation",
                                                   "optimizer", "steps", "log_every", "n_test",
                                                   "dtype", "backend")},
               d=static.d if static.d else 100_000,
               group_masses=tuple(1.0 / static.G for _ in range(static.G)), C=1)
  return cfg.hypers()


# A chunk's size on CPU: as many runs as 8 reference-setting runs' work (run_work), 8 to
# 512. Each chunk's commit costs ~70 ms (orbax), which a chunk of 8 ~10 ms runs (the benign
# grid's) spent 12 times over: 100,000 runs were ~14 minutes of commits.
CPU_CHUNK_WORK, CPU_CHUNK_MIN, CPU_CHUNK_MAX = 8 * 3000 * 300 * 3 * 2000, 8, 512


def run_work(static: Static) -> int:
  """A run's size in multiply-adds of its data pass, steps x n x P x d x m (d = 1 for the
  Bartlett gram draw): a rough relative cost, for chunk sizes only."""
  return static.steps * static.n * static.P * max(static.d, 1) * static.m


def cpu_chunk(static: Static) -> int:
  """Runs per chunk (and commit) on CPU (loop mode): `CPU_CHUNK_WORK` / `run_work`, within
  [CPU_CHUNK_MIN, CPU_CHUNK_MAX]."""
  return int(min(CPU_CHUNK_MAX, max(CPU_CHUNK_MIN, CPU_CHUNK_WORK // run_work(static))))


def default_layout(static: Static, n_runs: int, n_devices: int) -> tuple[int, int]:
  """(chunk, width): runs per chunk (a multiple of n_devices * width) and vmap width."""
  per_device = math.ceil(n_runs / n_devices)
  if jax.default_backend() == "cpu":
    if static.bartlett and static.N + 2 * static.m <= CPU_VMAP_MAX_GRAM:
      width = min(64, per_device)  # tiny gram runs: a vmap of 64 ran 2.2x the loop's speed
      return n_devices * min(8 * width, per_device), width
    width, per = 1, min(cpu_chunk(static), per_device)
  else:
    try:
      limit = jax.local_devices()[0].memory_stats()["bytes_limit"]
    except Exception:  # backends without memory_stats
      limit = 16 << 30
    per_run = max(bytes_per_run(static), measured_bytes_per_run(static))
    width = int(max(1, min(1024, per_device, (limit // 2) // per_run)))
    per = width
  return n_devices * max(per, 1), max(width, 1)


def mesh() -> Mesh:
  return Mesh(np.array(jax.devices()), (AXIS,))


# Compiled programs kept alive at once. XLA on CPU maps each program's code into the
# process (~700 memory maps); with every program kept, the 96-group `width` sweep reached
# vm.max_map_count (65530) after ~70 groups and died ("LLVM compilation error: Cannot
# allocate memory"). An evicted program is freed; the persistent compile cache keeps it on
# disk, so a group met again is loaded, not compiled.
PROGRAMS_KEPT = 8


@functools.lru_cache(maxsize=PROGRAMS_KEPT)
def chunk_program(static: Static, width: int, n_devices: int, xla: str = ""):
  """jit(shard_map(lax.map(train, batch_size=width))) for one static group."""
  # part of the cache key: a new mesh, or other compiler options (`compiler.choice()`,
  # read when the program is built), need a new program
  del n_devices, xla

  run = one_run(static)

  def local(seeds, hypers):
    return jax.lax.map(lambda a: run(*a), (seeds, hypers), batch_size=width)

  spec = PartitionSpec(AXIS)
  return compiler.jit(jax.shard_map(local, mesh=mesh(), in_specs=(spec, spec),
                                    out_specs=spec, check_vma=False))


@functools.lru_cache(maxsize=PROGRAMS_KEPT)
def single_program(static: Static, xla: str = ""):
  """One run, jitted (the loop mode); xla: `compiler.choice()`, part of the cache key."""
  del xla
  return compiler.jit(one_run(static))


def run_chunk(configs: Sequence[Config], seeds: Sequence[int], chunk: int, width: int):
  """Run configs (one static group) with their seeds.

  Returns (positions, traj, metrics): numpy arrays [r, ...] for the runs this process's
  devices computed, and their positions in `configs` (all of them with one process).
  `chunk` is the padded size (a multiple of devices * width), so every chunk of a group
  has the same shape and reuses one compiled program. With one device and width 1 the
  runs are dispatched one by one to a jitted single run (no padding): measured, a
  `lax.map` over runs inside one program was 5-13% slower per run than that loop on CPU.
  """
  static = configs[0].static()
  n_dev = len(jax.devices())
  R = len(configs)
  if n_dev == 1 and width == 1:
    prog = single_program(static, compiler.choice())
    outs = [prog(np.uint32(s), c.hypers()) for c, s in zip(configs, seeds)]
    traj, metrics = jax.tree.map(lambda *x: np.stack([np.asarray(v) for v in x]), *outs)
    return np.arange(R), traj, metrics
  if R > chunk or chunk % (n_dev * width):
    raise ValueError(f"chunk={chunk} must hold {R} runs and be a multiple of "
                     f"devices * width = {n_dev * width}")
  pad = chunk - R
  hypers = [c.hypers() for c in configs] + [configs[-1].hypers()] * pad
  stacked = jax.tree.map(lambda *x: np.stack(x), *hypers)
  seed_arr = np.asarray(list(seeds) + [seeds[-1]] * pad, np.uint32)
  sharding = NamedSharding(mesh(), PartitionSpec(AXIS))

  def to_global(x):  # every process holds the whole chunk; each places its own shards
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

  out = chunk_program(static, width, n_dev, compiler.choice())(to_global(seed_arr), jax.tree.map(to_global, stacked))
  if jax.process_count() == 1:  # every shard is here
    traj, metrics = jax.tree.map(lambda x: np.asarray(x)[:R], out)
    return np.arange(R), traj, metrics
  starts = sorted({s.index[0].start or 0 for s in jax.tree.leaves(out)[0].addressable_shards})

  def local(x):  # this process's shards, in run order (replicas of a shard counted once)
    by_start = {s.index[0].start or 0: s for s in x.addressable_shards}
    return np.concatenate([np.asarray(by_start[k].data) for k in starts])

  positions = np.concatenate([
      np.arange(k, k + jax.tree.leaves(out)[0].addressable_shards[0].data.shape[0])
      for k in starts])
  traj, metrics = jax.tree.map(local, out)
  keep = positions < R
  return positions[keep], *jax.tree.map(lambda x: x[keep], (traj, metrics))
