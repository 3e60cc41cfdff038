"""One script for an accelerator: what the device is, whether jaxcut's tests pass on it, how
fast the engine goes there, and the paper-size rarity grid end to end.

    benchmarks/device_check.sh            # on a GPU / TPU machine: at most --budget seconds
    benchmarks/device_check.sh --dry      # the same path at tiny sizes, on CPU (a test runs it)

Writes benchmarks/results-<device>.json (or --out) after every step and prints a table.
Each step records its wall time and status; a failing or timed-out step is recorded and the
next one runs; a step that no longer fits in --budget is recorded as skipped. Settings in
use are recorded: float32 matmul precision (jaxcut asks for "highest": no TF32, so
results match CPU within float32 rounding; jaxcut.runtime) and XLA_FLAGS (set
--xla_gpu_deterministic_ops=true for bitwise reproducible GPU reductions).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tests run on the device: results there equal CPU results (4 fake CPU devices vs the device's
# own reference), vmapped == looped, gram == direct. The whole engine suite compiles ~100
# programs (5 min on 2 CPU cores, longer on a GPU, where one compile takes 6-17 s).
TESTS = {
    False: ["tests/test_sweep.py", "tests/test_gram.py", "-k",
            "fake_devices or vmapped_sweep_equals_looped or "
            "(gram_run_equals_direct and float32)"],
    True: ["tests/test_train.py", "-k", "same_key"],
}


class Budget:
  """Wall-clock deadline shared by the steps: each subprocess gets what is left."""

  def __init__(self, seconds: float):
    self.end = time.time() + seconds

  def left(self) -> float:
    return self.end - time.time()


BUDGET = Budget(float("inf"))


def step(results: dict, name: str, fn, need: float = 0.0, out: str | None = None) -> None:
  """Runs fn, records {ok, seconds, ...} under name, and rewrites `out` at once (a check cut
  short still leaves every finished step on disk)."""
  t0 = time.time()
  if BUDGET.left() < need:
    results[name] = {"ok": False, "skipped": True, "seconds": 0.0,
                     "error": f"skipped: {BUDGET.left():.0f} s of --budget left, needs {need:.0f}"}
  else:
    try:
      res = fn()
      results[name] = {"ok": True, "seconds": round(time.time() - t0, 2), **(res or {})}
    except Exception as e:  # record and go on: one broken step must not hide the others
      results[name] = {"ok": False, "seconds": round(time.time() - t0, 2),
                       "error": f"{type(e).__name__}: {e}"[-2000:]}
  r = results[name]
  print(f"[device_check] {name}: {'ok' if r['ok'] else 'FAILED'} in {r['seconds']} s",
        file=sys.stderr, flush=True)
  if out:
    with open(out, "w") as f:
      json.dump(results, f, indent=1)


def capture(cmd, timeout: float, env=None) -> tuple[str, str, int | None]:
  """(stdout, stderr, exit code) of cmd run in the repository, at most `timeout` seconds
  and what is left of the budget; exit code None when it timed out (with what it printed)."""
  timeout = max(1.0, min(timeout, BUDGET.left()))
  try:
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})
  except subprocess.TimeoutExpired as e:
    text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
    return text(e.stdout), text(e.stderr), None
  return r.stdout, r.stderr, r.returncode


def run(cmd, env=None, timeout=600) -> str:
  """cmd's stdout; RuntimeError when it fails or times out."""
  stdout, stderr, rc = capture(cmd, timeout, env)
  if rc is None:
    raise RuntimeError(f"{' '.join(cmd)} timed out; stdout tail: {stdout[-1500:]}")
  if rc != 0:
    raise RuntimeError(f"{' '.join(cmd)} exited {rc}: {stdout[-800:]} {stderr[-1500:]}")
  return stdout


def device_info() -> dict:
  import jax
  from jaxcut import engine, runtime
  settings = runtime.configure()
  d = jax.devices()[0]
  return {"backend": jax.default_backend(), "device_kind": d.device_kind,
          "device_count": len(jax.devices()), "memory_bytes": engine.device_memory(),
          "jax": jax.__version__, "python": platform.python_version(),
          "cpu_count": os.cpu_count(), **settings}


def tests(dry: bool, keep: float = 0.0, log: str | None = None) -> dict:
  """The selection's counts; failures are named (pytest -rf) and make the step fail, and
  pytest's whole output (the assertion's numbers) goes to `log`. `keep`: seconds of the
  budget left over for the steps after this one."""
  # -n 0: one process on the device (pyproject's -n auto would start a worker per core,
  # each taking its own share of the accelerator's memory)
  cmd = [sys.executable, "-m", "pytest", "-q", "-rf", "-n", "0", "-p", "no:cacheprovider",
         *TESTS[dry]]
  stdout, _, rc = capture(cmd, min(480, BUDGET.left() - keep))
  if log:
    with open(log, "w") as f:
      f.write(stdout)
  lines = stdout.strip().splitlines() or [""]
  counts = {k: int(v) for v, k in
            re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)", lines[-1])}
  failed = [ln[len("FAILED "):][:300] for ln in lines if ln.startswith("FAILED ")]
  if rc != 0:
    what = "timed out" if rc is None else f"exited {rc}"
    raise RuntimeError(f"pytest {what}: {lines[-1]}; failed: {failed}; "
                       f"progress: {''.join(ln for ln in lines if set(ln) <= set('.FsEx%[] 0123456789'))[-300:]}")
  return {"summary": lines[-1], **counts}


def benchmark(dry: bool, out: str) -> dict:
  args = ["--only", "methods,tiny,width", "--out", out] + (["--dry"] if dry else ["--quick"])
  run([sys.executable, "-m", "benchmarks.sweep_throughput", *args], timeout=480)
  with open(out) as f:
    res = json.load(f)
  return {k: res[k] for k in ("methods", "tiny", "width") if k in res}


def layout(dry: bool) -> dict:
  """The engine's per-run memory: the estimate vs XLA's compiled analysis, and the layout."""
  from jaxcut import engine
  from jaxcut.config import PRESETS
  base = PRESETS["tiny"] if dry else PRESETS["reference"]
  out = {}
  for method in ("erm",) if dry else ("erm", "cutmix"):
    for backend in ("direct", "gram"):
      st = base.replace(method=method, backend=backend).static()
      est, meas = engine.bytes_per_run(st), engine.measured_bytes_per_run(st)
      chunk, width = engine.default_layout(st, 384, 1)
      out[f"{method}:{backend}"] = {"estimate_bytes": est, "measured_bytes": meas,
                                    "chunk": chunk, "width": width}
  return out


def rarity(dry: bool, tmp: str) -> dict:
  args = (["--grid=rarity", "--seeds=1", "--steps=20"] if dry
          else ["--grid=rarity", "--size=paper"])
  cache = os.path.join(tmp, "xla-cache")
  out = {}
  for label in ("cold", "warm"):  # warm: the compilation cache filled by the cold run
    t0 = time.time()
    try:
      stdout = run([sys.executable, "-m", "jaxcut.sweep", *args, "--quiet", "--overwrite",
                    f"--out={os.path.join(tmp, 'rarity')}", f"--cache_dir={cache}"], timeout=600)
    except RuntimeError as e:
      if label == "cold":
        raise
      out["warm_error"] = str(e)[-500:]  # the cold figure stands on its own
      break
    out[f"{label}_seconds"] = round(time.time() - t0, 2)
    out["summary"] = stdout.splitlines()[0]
  return out


def main() -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--dry", action="store_true", help="tiny sizes on CPU")
  ap.add_argument("--out", default=None, help="result file (default "
                  "benchmarks/results-<device>.json)")
  ap.add_argument("--budget", type=float, default=540.0,
                  help="seconds for the whole check (steps that no longer fit are skipped)")
  ap.add_argument("--only", default="benchmark,layout,tests,rarity",
                  help="steps to run, in this order (device always runs first)")
  args = ap.parse_args()
  order = [x for x in args.only.split(",") if x]
  unknown = set(order) - {"benchmark", "layout", "tests", "rarity"}
  if unknown:
    ap.error(f"--only: unknown steps {sorted(unknown)}; known: benchmark, layout, tests, rarity")
  BUDGET.end = time.time() + args.budget
  if args.dry:
    os.environ["JAX_PLATFORMS"] = "cpu"
  # This process and the steps' subprocesses share the device: none may grab 75% of it.
  os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
  import tempfile
  tmp = tempfile.mkdtemp(prefix="jaxcut-device-check-")
  res: dict = {"dry": args.dry, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "budget_seconds": args.budget}
  step(res, "device", device_info)
  kind = res["device"].get("device_kind", "unknown") if res["device"]["ok"] else "unknown"
  name = re.sub(r"[^A-Za-z0-9]+", "-", kind).strip("-").lower() + ("-dry" if args.dry else "")
  out = args.out or os.path.join(ROOT, "benchmarks", f"results-{name}.json")
  # By default speed first (what the check is for), then correctness on the device, then
  # the grid; tests leave the steps after them 150 s.
  steps = {
      "benchmark": ("benchmark", 30,
                    lambda: benchmark(args.dry, os.path.join(tmp, "bench.json"))),
      "layout": ("layout", 10, lambda: layout(args.dry)),
      "tests": ("tests", 30, lambda: tests(
          args.dry, keep=0 if args.dry or order[-1] == "tests" else 150,
          log=os.path.splitext(out)[0] + "-tests.log")),
      "rarity": ("rarity_dry" if args.dry else "rarity_paper", 30,
                 lambda: rarity(args.dry, tmp)),
  }
  for key in order:
    name, need, fn = steps[key]
    step(res, name, fn, need=need, out=out)
  res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
  with open(out, "w") as f:
    json.dump(res, f, indent=1)
  print(table(res))
  print(f"wrote {out}")
  return 0 if all(v.get("ok", True) for v in res.values() if isinstance(v, dict)) else 1


def table(res: dict) -> str:
  lines = [f"{'step':<14}{'status':<8}{'seconds':>9}  detail"]
  for name, v in res.items():
    if not isinstance(v, dict):
      continue
    detail = v.get("error", "")
    if name == "device" and v["ok"]:
      detail = (f"{v['device_kind']} x{v['device_count']}, {v['memory_bytes'] / 2**30:.1f} GiB, "
                f"jax {v['jax']}, matmul {v['matmul_precision']}")
    elif name == "tests" and v["ok"]:
      detail = v["summary"]
    elif name == "benchmark" and v["ok"]:
      m = v.get("methods", {})
      detail = ", ".join(f"{k} {x['sweep_s_per_run']:.3f} s/run" for k, x in m.items())
    elif name == "layout" and v["ok"]:
      detail = ", ".join(f"{k}: {x['measured_bytes'] / 2**20:.1f} MiB/run, width {x['width']}"
                         for k, x in v.items() if isinstance(x, dict))
    elif name.startswith("rarity") and v["ok"]:
      detail = f"cold {v['cold_seconds']} s, warm {v.get('warm_seconds', '-')} s: {v['summary']}"
    lines.append(f"{name:<14}{'ok' if v['ok'] else 'FAILED':<8}{v['seconds']:>9}  {detail[:200]}")
  return "\n".join(lines)


if __name__ == "__main__":
  sys.exit(main())
