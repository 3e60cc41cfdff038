"""Sweep throughput vs a per-config loop, compile time, scaling, memory per run.

    python -m benchmarks.sweep_throughput            # ~5 min on 2 CPU cores
    python -m benchmarks.sweep_throughput --quick    # ~1 min, fewer sizes

Prints tables and writes benchmarks/results-<backend>.json. "loop" is `train` jitted once
and called one config at a time; "sweep" is what `python -m jaxcut.sweep` runs (one
compiled chunk per static group, `jaxcut.engine.run_chunk`, default layout unless stated).
Both are timed after a warm-up call, in the same process, on the same configs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import numpy as np

from jaxcut import compiler, engine
from jaxcut.config import PRESETS, Config
from jaxcut.training import train


DRY = False  # --dry: tiny sizes


def timed(fn):
  t0 = time.perf_counter()
  out = jax.block_until_ready(fn())
  return time.perf_counter() - t0, out


def loop_vs_sweep(cfg: Config, runs: int, width=None, chunk=None) -> dict:
  """Seconds per run for the loop and the sweep over `runs` seeds of cfg."""
  spec = cfg.spec()
  f = compiler.jit(lambda k: train(k, spec)[1:])
  compile_loop, _ = timed(lambda: f(jax.random.key(0)))
  t_loop, _ = timed(lambda: [f(jax.random.key(s)) for s in range(runs)])
  n_dev = len(jax.devices())
  size, w = engine.default_layout(cfg.static(), runs, n_dev)
  w = width or w
  size = chunk or size
  size = -(-size // (n_dev * w)) * n_dev * w
  cfgs, seeds = [cfg] * runs, list(range(runs))

  def sweep():
    return [engine.run_chunk(cfgs[i:i + size], seeds[i:i + size], size, w)
            for i in range(0, runs, size)]
  compile_sweep, _ = timed(lambda: engine.run_chunk(cfgs[:1], seeds[:1], size, w))
  t_sweep, _ = timed(sweep)
  steps = cfg.steps
  return {"runs": runs, "width": w, "chunk": size,
          "loop_s_per_run": t_loop / runs, "sweep_s_per_run": t_sweep / runs,
          "loop_run_steps_per_s": runs * steps / t_loop,
          "sweep_run_steps_per_s": runs * steps / t_sweep,
          "speedup": t_loop / t_sweep,
          "compile_loop_s": compile_loop, "compile_sweep_s": compile_sweep}


def step_time(cfg: Config, base: int = 300) -> float:
  """Seconds per training step of one run (jit, warm): (time at 2T - time at T) / T, so the
  per-run fixed costs (sampling, Gram factor, test set, logging) cancel."""
  times = []
  base = max(cfg.steps, base)
  for T in (base, 2 * base):
    spec = cfg.replace(steps=T, log_every=T, n_test=min(cfg.n_test, 256)).spec()
    f = compiler.jit(lambda k: train(k, spec)[1:])
    jax.block_until_ready(f(jax.random.key(0)))
    times.append(min(timed(lambda: f(jax.random.key(1)))[0] for _ in range(2)))
  return (times[1] - times[0]) / base


def memory_per_run(cfg: Config, runs: int = 4) -> float:
  """Compiled temp + output bytes of a chunk of `runs` vmapped runs, per run."""
  static = cfg.static()
  prog = engine.chunk_program(static, runs, len(jax.devices()))
  import jax.numpy as jnp
  hyp = jax.tree.map(lambda *x: jnp.stack(x), *[cfg.hypers()] * runs)
  seeds = np.arange(runs, dtype=np.uint32)
  stats = prog.lower(seeds, hyp).compile().memory_analysis()
  if stats is None:
    return float("nan")
  return (stats.temp_size_in_bytes + stats.output_size_in_bytes) / runs


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--out", default=None)
  ap.add_argument("--only", default="startup,compile,xla,methods,tiny,width,scaling,memory,gram,"
                                    "mixup,networks",
                  help="comma-separated sections to run")
  ap.add_argument("--dry", action="store_true", help="the same sections at tiny sizes (a "
                  "check that they run, not figures)")
  args = ap.parse_args()
  from jaxcut import runtime
  runtime.configure()  # the same settings as the CLIs (full-precision float32 matmuls)
  only = set(args.only.split(","))
  q = args.quick or args.dry
  global DRY
  DRY = args.dry
  ref = PRESETS["reference"].replace(steps=300 if not q else 100, log_every=30 if not q else 50)
  if DRY:
    ref = PRESETS["tiny"].replace(steps=20, log_every=10)
  res = {"machine": {"backend": jax.default_backend(),
                     "devices": [d.device_kind for d in jax.devices()],
                     "cpu_count": os.cpu_count(), "platform": platform.platform(),
                     "jax": jax.__version__}}

  print(f"# backend {jax.default_backend()}, {len(jax.devices())} device(s) "
        f"{jax.devices()[0].device_kind}, {os.cpu_count()} cores")
  sections = {"startup": lambda: startup_section(res),
              "compile": lambda: compile_section(res),
              "xla": lambda: xla_section(res, q),
              "rarity384": lambda: rarity384_section(res),
              "methods": lambda: methods_section(res, ref, q),
              "tiny": lambda: tiny_section(res, q),
              "width": lambda: width_section(res, ref),
              "scaling": lambda: scaling_section(res, ref, q),
              "memory": lambda: memory_section(res, ref),
              "gram": lambda: gram_section(res, q),
              "mixup": lambda: mixup_section(res, ref),
              "networks": lambda: networks_section(res, ref)}
  unknown = only - set(sections)
  if unknown:
    ap.error(f"--only: unknown sections {sorted(unknown)}; known: {', '.join(sections)}")
  for name, run in sections.items():
    if name in only:
      run()
  out = args.out or os.path.join(os.path.dirname(__file__), f"results-{jax.default_backend()}.json")
  if os.path.exists(out):  # keep sections run earlier
    with open(out) as f:
      res = {**json.load(f), **res}
  with open(out, "w") as f:
    json.dump(res, f, indent=1)
  print(f"\nwrote {out}")


def _sweep_seconds(args, cache) -> float:
  import subprocess
  import sys
  import tempfile
  out = tempfile.mkdtemp()
  t0 = time.perf_counter()
  r = subprocess.run([sys.executable, "-m", "jaxcut.sweep", *args, "--quiet", "--overwrite",
                      f"--out={out}", f"--cache_dir={cache}"], capture_output=True, text=True)
  if r.returncode:
    raise RuntimeError(r.stderr[-2000:])
  return time.perf_counter() - t0


def startup_section(res):
  """What a user waits for on a small sweep: a new process, cold and warm compilation cache."""
  import tempfile
  args = ["--grid=paper", "--seeds=1", "--steps=1000"]
  cache = tempfile.mkdtemp()
  cold = _sweep_seconds(args, cache)
  warm = _sweep_seconds(args, cache)
  off = _sweep_seconds(args, "off")
  res["startup"] = {"command": " ".join(args), "cold_s": cold, "warm_s": warm, "no_cache_s": off}
  print(f"\n## end to end: python -m jaxcut.sweep {' '.join(args)} (3 runs, a new process)")
  print(f"cold cache {cold:.1f} s, warm cache {warm:.1f} s, cache off {off:.1f} s")


def compile_section(res):
  """Compile seconds per static group at the reference setting, and where they go."""
  from jaxcut import training as train_mod
  print("\n## compile seconds per static group (reference setting, T=3000; lower + compile)")
  jax.config.update("jax_enable_compilation_cache", False)  # compile, do not load
  res["compile"] = {}
  for backend in ("direct", "gram"):
    for method in ("erm", "cutout", "cutmix"):
      cfg = PRESETS["reference"].replace(method=method, backend=backend)
      spec = cfg.spec()
      f = compiler.jit(engine.one_run(spec.static))
      t0 = time.perf_counter()
      low = f.lower(np.uint32(0), spec.hypers)
      t1 = time.perf_counter()
      low.compile()
      t2 = time.perf_counter()
      res["compile"][f"{method}:{backend}"] = {"trace_lower_s": t1 - t0, "compile_s": t2 - t1}
      print(f"{method:<7}{backend:<7} trace+lower {t1 - t0:5.2f} s  compile {t2 - t1:5.2f} s")
  # the account: the same program without the test evaluation, then also without the
  # logged quantities and final metrics (stand-ins of the same shapes)
  import jax.numpy as jnp
  from jaxcut import metrics as metrics_mod
  saved = (metrics_mod.test_metrics, metrics_mod.stratified_accuracy, train_mod._log_entry,
           train_mod._final)
  fake_test = lambda *a, **k: {"test_acc": jnp.float32(0), "test_acc_group": jnp.zeros(3),
                               "test_share": jnp.zeros(3)}
  cfg = PRESETS["reference"].replace(method="cutout")
  spec = cfg.spec()

  def compile_s():
    jax.clear_caches()
    f = compiler.jit(engine.one_run(spec.static))
    t0 = time.perf_counter()
    f.lower(np.uint32(0), spec.hypers).compile()
    return time.perf_counter() - t0

  try:
    full = compile_s()
    metrics_mod.test_metrics = metrics_mod.stratified_accuracy = fake_test
    no_test = compile_s()
    train_mod._log_entry = lambda static, hypers, phi, W, *a: {"objective": jnp.sum(W)}
    train_mod._final = lambda static, hypers, phi, W, *a: {"x": jnp.sum(W)}
    loop_only = compile_s()
  finally:
    (metrics_mod.test_metrics, metrics_mod.stratified_accuracy, train_mod._log_entry,
     train_mod._final) = saved
  jax.config.update("jax_enable_compilation_cache", True)
  res["compile_account"] = {"full_s": full, "without_test_s": no_test, "loop_only_s": loop_only}
  print(f"Cutout, direct: whole program {full:.2f} s = training loop {loop_only:.2f} s + logging "
        f"and final metrics {no_test - loop_only:.2f} s + test evaluation {full - no_test:.2f} s")


def xla_section(res, q):
  """XLA's defaults against jaxcut's CPU compiler options (jaxcut.compiler), side by side in
  one process: compile seconds (no cache) and warm run seconds per program, then a small
  sweep end to end in a new process with a cold cache."""
  if jax.default_backend() != "cpu":
    print("\n## XLA options: CPU only (other backends keep XLA's defaults)")
    return
  jax.config.update("jax_enable_compilation_cache", False)
  sets = {"default": None, "jaxcut": dict(compiler.CPU), "quick": dict(compiler.QUICK)}
  sizes = {"tiny": PRESETS["tiny"].replace(steps=60, log_every=20),
           "reference": PRESETS["reference"].replace(steps=1000 if q else 3000)}
  if DRY:
    sizes = {"tiny": PRESETS["tiny"].replace(steps=20, log_every=10)}
  variants = [("erm", "direct", {}), ("cutmix", "direct", {}), ("cutmix", "gram", {}),
              ("cutout", "gram", {}), ("mixup", "direct", {"exact": False})]
  print(f"\n## XLA defaults vs jaxcut's CPU options {compiler.CPU} (fast-compile) and "
        f"{compiler.QUICK} (quick-compile): seconds per program (compile without cache; run "
        "warm, best of 2); ratios to XLA's defaults")
  print(f"{'size':<10}{'method':<16}{'compile default':>16}{'jaxcut':>8}{'quick':>7}"
        f"{'ratios':>12}{'run default':>13}{'jaxcut':>8}{'quick':>8}{'ratios':>12}")
  res["xla"] = {"options": {k: str(v) for k, v in compiler.CPU.items()},
                "quick_options": {k: str(v) for k, v in compiler.QUICK.items()},
                "programs": {}}
  for size, base in sizes.items():
    for method, backend, kw in variants:
      cfg = base.replace(method=method, backend=backend, **kw)
      spec = cfg.spec()
      row = {}
      for name, opts in sets.items():
        f = jax.jit(engine.one_run(spec.static), compiler_options=opts)
        t0 = time.perf_counter()
        c = f.lower(np.uint32(0), spec.hypers).compile()
        comp = time.perf_counter() - t0
        jax.block_until_ready(c(np.uint32(0), spec.hypers))
        run = min(timed(lambda: c(np.uint32(1), spec.hypers))[0] for _ in range(2))
        row[name] = {"compile_s": comp, "run_s": run}
      label = f"{method}:{backend}" + ("" if cfg.exact else ":sampled")
      res["xla"]["programs"][f"{size}:{label}"] = row
      d, j, k = row["default"], row["jaxcut"], row["quick"]
      ratio = lambda key: f"{j[key] / d[key]:.2f}/{k[key] / d[key]:.2f}"
      print(f"{size:<10}{label:<16}{d['compile_s']:16.2f}{j['compile_s']:8.2f}"
            f"{k['compile_s']:7.2f}{ratio('compile_s'):>12}{d['run_s']:13.3f}{j['run_s']:8.3f}"
            f"{k['run_s']:8.3f}{ratio('run_s'):>12}")
  jax.config.update("jax_enable_compilation_cache", True)
  import tempfile
  args = ["--grid=paper", "--seeds=1", "--steps=100" if DRY else "--steps=1000"]
  ends = {name: _sweep_seconds(args + [f"--xla_options={name}"], tempfile.mkdtemp())
          for name in compiler.CHOICES}
  res["xla"]["end_to_end"] = {"command": " ".join(args), **ends}
  print(f"python -m jaxcut.sweep {' '.join(args)}, new process, cold cache: XLA defaults "
        f"{ends['default']:.1f} s, fast-compile {ends['fast-compile']:.1f} s, quick-compile "
        f"{ends['quick-compile']:.1f} s")


def rarity384_section(res):
  """The 384-run rarity grid at paper size, end to end, warm cache (issue #15's target)."""
  import tempfile
  cache = tempfile.mkdtemp()
  args = ["--grid=rarity", "--size=paper"]
  cold = _sweep_seconds(args, cache)
  res["rarity384"] = {"command": " ".join(args), "cold_s": cold}
  print(f"\n## python -m jaxcut.sweep {' '.join(args)} (384 runs): {cold:.0f} s end to end, "
        f"cold cache")


VARIANTS = [("erm", {}), ("cutout", {}), ("cutmix", {}),
            ("cutout_sampled", {"exact": False}), ("cutmix_sampled", {"exact": False})]


def methods_section(res, ref, q):
  print(f"\n## methods at n={ref.n}, d={ref.d}, P={ref.P}, T={ref.steps}, 4 runs each")
  print(f"{'method':<16}{'loop s/run':>11}{'sweep s/run':>12}{'sweep/loop':>11}"
        f"{'run-steps/s':>12}{'compile s':>10}{'step ms':>9}")
  res["methods"] = {}
  for name, kw in [v for v in VARIANTS if not DRY or v[0] == "erm"]:
    cfg = ref.replace(method=name.split("_")[0], **kw)
    r = loop_vs_sweep(cfg, 4)
    r["step_ms"] = 1e3 * step_time(cfg)
    res["methods"][name] = r
    print(f"{name:<16}{r['loop_s_per_run']:>11.3f}{r['sweep_s_per_run']:>12.3f}"
          f"{r['speedup']:>11.2f}{r['sweep_run_steps_per_s']:>12.0f}"
          f"{r['compile_sweep_s']:>10.2f}{r['step_ms']:>9.3f}")
  m = res["methods"]
  if "cutmix" in m:
    print(f"exact CutMix step / ERM step: {m['cutmix']['step_ms'] / m['erm']['step_ms']:.2f}")


def mixup_section(res, ref):
  """Mixup's step against the paper's methods, side by side, both backends (issue #23 item 6:
  the step of a method written on the pre-activations)."""
  print(f"\n## Mixup vs the paper's methods: ms/step at n={ref.n}, d={ref.d}, P={ref.P} "
        f"(warm, one run)")
  arms = [("erm", {}), ("cutout", {}), ("cutmix", {}), ("cutmix sampled", {"exact": False}),
          ("mixup", {}), ("mixup sampled", {"exact": False}),
          ("mixup beta0.2", {"mixing": "beta", "mix_a": 0.2})]
  print(f"{'method':<16}{'direct ms':>11}{'gram ms':>10}{'direct MiB/run':>16}")
  res["mixup"] = {}
  for name, kw in arms:
    cfg = ref.replace(method=name.split()[0], **kw)
    r = {"direct_ms": 1e3 * step_time(cfg),
         "gram_ms": 1e3 * step_time(cfg.replace(backend="gram")),
         "direct_mib_per_run": memory_per_run(cfg, 2) / 2 ** 20}
    res["mixup"][name] = r
    print(f"{name:<16}{r['direct_ms']:>11.2f}{r['gram_ms']:>10.2f}{r['direct_mib_per_run']:>16.1f}")
  m = res["mixup"]
  print(f"exact Mixup step / exact CutMix step: direct {m['mixup']['direct_ms'] / m['cutmix']['direct_ms']:.2f}, "
        f"gram {m['mixup']['gram_ms'] / m['cutmix']['gram_ms']:.2f}; sampled Mixup / ERM: direct "
        f"{m['mixup sampled']['direct_ms'] / m['erm']['direct_ms']:.2f}")


def networks_section(res, ref):
  """Issue #23 item 6, side by side in one process: (a) the paper's network with Cutout and
  CutMix computed on the pre-activations Z (the path `patchmix` takes: every masked and
  mixed Z through the network) against its hand-written per-patch path, both backends;
  (b) deeper networks' step time and compiled memory per run at the reference setting."""
  from jaxcut import networks
  print(f"\n## the paper's network: per-patch (hand-written) vs pre-activation (Z) objectives, "
        f"ms/step at n={ref.n}, d={ref.d}, P={ref.P} (warm, one run)")
  print(f"{'method':<16}{'direct hand':>12}{'direct Z':>10}{'ratio':>7}{'gram hand':>11}"
        f"{'gram Z':>8}{'ratio':>7}")
  res["networks"] = {"paper_z_path": {}, "deeper": {}}
  arms = [("cutout", {}), ("cutmix", {}), ("cutmix sampled", {"exact": False})]
  keep = networks.per_patch
  for name, kw in arms:
    cfg = ref.replace(method=name.split()[0], **kw)
    r = {}
    for backend in ("direct", "gram"):
      c = cfg.replace(backend=backend)
      r[f"{backend}_hand_ms"] = 1e3 * step_time(c, 100)
      networks.per_patch = lambda static: False  # force the Z-level objectives
      try:
        r[f"{backend}_z_ms"] = 1e3 * step_time(c, 100)
      finally:
        networks.per_patch = keep
    res["networks"]["paper_z_path"][name] = r
    print(f"{name:<16}{r['direct_hand_ms']:>12.2f}{r['direct_z_ms']:>10.2f}"
          f"{r['direct_z_ms'] / r['direct_hand_ms']:>7.2f}{r['gram_hand_ms']:>11.2f}"
          f"{r['gram_z_ms']:>8.2f}{r['gram_z_ms'] / r['gram_hand_ms']:>7.2f}")
  print(f"\n## deeper networks at n={ref.n}, d={ref.d}, P={ref.P}, hidden 8: ms/step (gram "
        f"backend, warm) and compiled MiB per run (direct backend, a chunk of 2)")
  print(f"{'network':<12}{'method':<16}{'ms/step':>9}{'MiB/run':>10}")
  nets = [("paper", {}), ("cnn2", {"depth": 2}), ("cnn4", {"depth": 4}),
          ("patchmix2", {"network": "patchmix", "depth": 2}),
          ("patchmix4", {"network": "patchmix", "depth": 4})]
  for net, nkw in nets:
    for name, kw in [("erm", {})] + arms:
      cfg = ref.replace(method=name.split()[0], **nkw, **kw)
      heavy = nkw.get("network") == "patchmix" and name == "cutmix"
      r = {"ms_per_step": 1e3 * step_time(cfg.replace(backend="gram", steps=10 if heavy
                                                      else ref.steps), 10 if heavy else 100),
           # the exact objectives' memory (what the engine's layout uses)
           "mib_per_run": memory_per_run(cfg, 2) / 2 ** 20 if name in ("cutout", "cutmix")
           else float("nan")}
      res["networks"]["deeper"][f"{net} {name}"] = r
      print(f"{net:<12}{name:<16}{r['ms_per_step']:>9.2f}{r['mib_per_run']:>10.1f}")


def tiny_section(res, q):
  tiny = Config(n=20, d=1000, P=2, group_counts=(2, 5, 5), steps=100, log_every=100,
                n_test=256)
  print("\n## tiny runs (n=20, d=1000, P=2, T=100, ERM): sweep vs loop by number of runs")
  print(f"{'backend':<8}{'runs':>6}{'width':>7}{'loop s/run':>12}{'sweep s/run':>13}"
        f"{'speedup':>9}{'vs direct loop':>16}")
  res["tiny"] = []
  direct_loop = {}
  for backend in ("direct", "gram"):
    counts = ((1, 8, 64) if q else (1, 8, 64, 512)) + ((512,) if backend == "gram" and q else ())
    for runs in (8,) if DRY else counts:
      r = loop_vs_sweep(tiny.replace(backend=backend), runs)
      r["backend"] = backend
      if backend == "direct":
        direct_loop[runs] = r["loop_s_per_run"]
      base = direct_loop.get(runs, direct_loop[max(direct_loop)])
      r["speedup_vs_direct_loop"] = base / r["sweep_s_per_run"]
      res["tiny"].append(r)
      print(f"{backend:<8}{runs:>6}{r['width']:>7}{r['loop_s_per_run']:>12.4f}"
            f"{r['sweep_s_per_run']:>13.4f}{r['speedup']:>9.2f}"
            f"{r['speedup_vs_direct_loop']:>16.1f}")


def width_section(res, ref):
  ref = ref.replace(steps=100, log_every=50)
  print(f"\n## vmap width at n={ref.n}, d={ref.d} (ERM, 4 runs, T={ref.steps})")
  res["width"] = []
  for w in (1, 2) if DRY else (1, 2, 4):
    r = loop_vs_sweep(ref, 4, width=w, chunk=4)
    res["width"].append(r)
    print(f"width {w}: sweep {r['sweep_s_per_run']:.3f} s/run, loop {r['loop_s_per_run']:.3f} "
          f"s/run, sweep/loop {r['speedup']:.2f}, compile {r['compile_sweep_s']:.1f} s")


def scaling_section(res, ref, q):
  print("\n## scaling of one run's step time (ms/step)")
  res["scaling"] = {}
  base = ref.replace(steps=50, log_every=50)
  axes = {"n": (20, 100, 300, 1000) + (() if q else (3000,)),
          "d": (100, 1000, 2000, 5000) + (() if q else (20000,)),
          "P": (2, 3, 4, 6) + (() if q else (8,))}
  for field, values in axes.items():
    for method, exact in (("erm", True), ("cutmix", True), ("cutmix", False)):
      row = []
      for v in values:
        cfg = base.replace(method=method, exact=exact, **{field: v})
        if field == "d" and v <= 2 * cfg.K:
          cfg = cfg.replace(group_counts=(1, 1, 1))
        row.append(1e3 * step_time(cfg))
      label = f"{method}{'' if exact else ' sampled'}"
      res["scaling"][f"{field}:{label}"] = dict(zip(map(str, values), row))
      print(f"{field:>2} {label:<15}" + "".join(f"{field}={v}: {t:8.3f}  " for v, t in zip(values, row)))


def memory_section(res, ref):
  print("\n## compiled memory per run (temp + outputs, 4-run chunk)")
  res["memory_bytes_per_run"] = {}
  for name, kw in VARIANTS[:3]:
    b = memory_per_run(ref.replace(method=name))
    res["memory_bytes_per_run"][name] = b
    print(f"{name:<10}{b / 2**20:8.1f} MiB")


def run_time(cfg: Config) -> float:
  """Seconds of one whole run (jit, warm, best of 2)."""
  spec = cfg.spec()
  f = compiler.jit(lambda k: train(k, spec)[1:])
  jax.block_until_ready(f(jax.random.key(0)))
  return min(timed(lambda: f(jax.random.key(1)))[0] for _ in range(2))


def gram_section(res, q):
  """Direct vs gram backend: step time against d (sigma^2 d fixed), and whole runs."""
  print("\n## gram vs direct backend: ms/step against d (reference n=300, P=3; sigma^2 d fixed)")
  dims = (1000, 2000, 5000) + (() if q else (20000,))
  res["gram"] = {"step_ms": {}, "run_s": {}}
  for method in ("erm", "cutmix"):
    for backend in ("direct", "gram"):
      ds = dims + ((10 ** 5, 10 ** 6) if backend == "gram" else ())
      row = {}
      for d in ds:
        s = (2000 / d) ** 0.5
        cfg = PRESETS["reference"].replace(method=method, backend=backend, d=d,
                                           sigma_d=0.25 * s, sigma_b=0.05 * s)
        row[d] = 1e3 * step_time(cfg)
      res["gram"]["step_ms"][f"{method}:{backend}"] = {str(k): v for k, v in row.items()}
      print(f"{method:<7}{backend:<7}" + "".join(f"d={d:g}: {t:7.3f}  " for d, t in row.items()))
  print("\nwhole run at the reference setting (T=3000, n_test=2000), seconds")
  for method in ("erm", "cutout", "cutmix"):
    t = {b: run_time(PRESETS["reference"].replace(method=method, backend=b))
         for b in ("direct", "gram")}
    res["gram"]["run_s"][method] = t
    print(f"{method:<7} direct {t['direct']:6.2f}  gram {t['gram']:6.2f}  "
          f"direct/gram {t['direct'] / t['gram']:5.2f}")


if __name__ == "__main__":
  main()
