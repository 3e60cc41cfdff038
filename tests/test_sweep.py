"""The sweep engine: equals single runs, chunk/device invariance, resume, bad input."""

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from jaxcut import grid as grid_mod
from jaxcut.store import load_run, load_trajectories, read_results
from conftest import cli_here, assert_float_columns_close, assert_rows_close, rows_without_timing, run_cli
from jaxcut.driver import run_sweep, summary_table
from jaxcut.training import train_jit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def smoke(**kw):
  g = grid_mod.load("smoke")
  return grid_mod.with_overrides(g, **kw)


def sweep_cli(*args, env=None, **kw):
  return subprocess.run([sys.executable, "-m", "jaxcut.sweep", *args], capture_output=True,
                        text=True, timeout=600, cwd=ROOT, env=env, **kw)


def sweep_here(*args):
  return cli_here("sweep", *args)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  """The smoke grid run once with default chunking."""
  out = str(tmp_path_factory.mktemp("ref"))
  result = run_sweep(smoke(), out, quiet=True)
  return out, result


def test_sweep_equals_runs_done_one_at_a_time(reference):
  out, result = reference
  runs = smoke().runs()
  assert len(result.rows) == len(runs) == 12
  for run in runs[::3]:
    _, traj, m = train_jit(jax.random.key(run.seed), run.config.spec())
    row = result.rows[run.run_id]
    assert row["run_id"] == run.run_id and row["method"] == run.config.method
    np.testing.assert_allclose(row["test_acc"], m["test_acc"], rtol=1e-6)
    np.testing.assert_allclose(row["margin_rare"], m["margin_group"][1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(row["output_rare"], m["output_group"][1], rtol=1e-6, atol=1e-7)
    saved = load_run(out, run.run_id)
    np.testing.assert_allclose(saved["trajectories"]["gamma"], traj["gamma"], rtol=1e-6, atol=1e-8)
    scale = np.abs(m["rho_final"]).max()  # rho comes from a Gram solve: compare to its scale
    np.testing.assert_allclose(saved["rho_final"], m["rho_final"], rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-6), ("float32", 1e-5)])
def test_vmapped_sweep_equals_looped_sweep(tmp_path, dtype, rtol):
  """All runs of a group in one vmap vs one at a time (float32 batched matmuls round in
  another order, hence 1e-5 there)."""
  g = smoke(seeds=1, fixed={"dtype": dtype})
  with jax.enable_x64(dtype == "float64"):
    a = run_sweep(g, str(tmp_path / "loop"), width=1, quiet=True)
    b = run_sweep(g, str(tmp_path / "vmap"), width=2, chunk=2, quiet=True)
  assert_float_columns_close(a.rows, b.rows, rtol)


def test_mixup_vmapped_equals_looped_and_one_at_a_time(tmp_path):
  """Mixup (exact and sampled) in a vmapped chunk == looped == train_jit alone (float64)."""
  base = grid_mod.load("smoke").base.replace(method="mixup", steps=20, log_every=10,
                                             dtype="float64")
  g = grid_mod.Grid(name="mix", base=base.replace(mixing="beta", mix_a=0.4), seeds=2,
                    axes=(grid_mod.Axis("exact", (True, False)),))
  with jax.enable_x64(True):
    a = run_sweep(g, str(tmp_path / "loop"), width=1, quiet=True)
    b = run_sweep(g, str(tmp_path / "vmap"), width=2, chunk=2, quiet=True)
    run = g.runs()[3]
    _, _, m = train_jit(jax.random.key(run.seed), run.config.spec())
  np.testing.assert_allclose(a.rows[3]["test_acc"], m["test_acc"], rtol=1e-9)
  np.testing.assert_allclose(a.rows[3]["margin_rare"], m["margin_group"][1], rtol=1e-9)
  assert_float_columns_close(a.rows, b.rows, 1e-9, 1e-12)
  assert {r["method"] for r in a.rows} == {"mixup"} and a.rows[0]["mixing"] == "beta"


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_chunk_size_does_not_change_results(reference, tmp_path, chunk):
  out = str(tmp_path / f"c{chunk}")
  run_sweep(smoke(), out, chunk=chunk, quiet=True)
  assert rows_without_timing(out) == rows_without_timing(reference[0])


def test_trajectories_load_back_indexed_by_run_id(reference):
  out, _ = reference
  t = load_trajectories(out)
  np.testing.assert_array_equal(t["run_id"], np.arange(12))
  cfg = smoke().base
  T = cfg.steps // cfg.log_every + 1
  assert t["trajectories"]["gamma"].shape == (12, T, 2, 1, 2, cfg.K)
  assert t["trajectories"]["rho_mean"].shape == (12, T, 2, 2, 3)
  np.testing.assert_array_equal(t["step"][0], np.arange(T) * cfg.log_every)


def test_fake_devices_give_the_same_results(reference, tmp_path):
  # 4 CPU devices (--cpu_devices), also on a GPU machine (where the reference ran on the GPU)
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  out = str(tmp_path / "dev4")
  r = sweep_cli("--grid=smoke", f"--out={out}", "--quiet", "--cpu_devices=4", env=env)
  assert r.returncode == 0, r.stderr
  import json
  assert json.load(open(os.path.join(out, "manifest.json")))["device_count"] == 4
  assert_rows_close(rows_without_timing(out), rows_without_timing(reference[0]))


def test_bad_cpu_devices_is_one_line_before_any_compute(tmp_path, monkeypatch):
  from jaxcut.commands.sweep import main
  r = run_cli(main, "--grid=smoke", "--cpu_devices=0", f"--out={tmp_path / 'o'}")
  assert r.returncode == 2 and "cpu_devices" in r.stderr and not (tmp_path / "o").exists()
  monkeypatch.setenv("JAXCUT_CPU_DEVICES", "two")
  r = run_cli(main, "--grid=smoke", f"--out={tmp_path / 'o'}")
  assert r.returncode == 2 and r.stderr.count("\n") == 1 and "JAXCUT_CPU_DEVICES" in r.stderr
  assert not (tmp_path / "o").exists()


GRAM_GRID = """
from jaxcut.grid import Axis, Grid
from jaxcut.config import PRESETS

def get_grid(size):
  scaled = lambda d: {"d": d, "sigma_d": 0.25 * (100 / d) ** 0.5, "sigma_b": 0.05 * (100 / d) ** 0.5}
  return Grid(name="gramd", base=PRESETS["tiny"].replace(steps=40, log_every=10, backend="gram"),
              seeds=2, axes=(Axis("method", ("erm", "cutmix")), Axis("d", (500, 50000), fields=scaled)))
"""


def test_gram_sweep_sharded_and_vmapped_equal_looped(tmp_path):
  """A gram-backend grid over d (one compiled program per method): 4 fake devices and a
  vmap of width 2 give the looped single-device results."""
  grid_file = tmp_path / "gramd.py"
  grid_file.write_text(GRAM_GRID)
  g = grid_mod.load(str(grid_file))
  loop = run_sweep(g, str(tmp_path / "loop"), width=1, quiet=True)
  assert len({r["compiled_group"] for r in loop.rows}) == 2  # d does not split the programs
  run_sweep(g, str(tmp_path / "vmap"), width=2, chunk=4, quiet=True)
  expected = rows_without_timing(str(tmp_path / "loop"))
  assert_rows_close(rows_without_timing(str(tmp_path / "vmap")), expected, rtol=1e-5)
  # 4 fake CPU devices, also on a GPU machine (where the reference ran on the GPU)
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=os.environ.get("XLA_FLAGS", "")
             + " --xla_force_host_platform_device_count=4")
  out = str(tmp_path / "dev4")
  r = sweep_cli(f"--grid={grid_file}", f"--out={out}", "--quiet", env=env)
  assert r.returncode == 0, r.stderr
  assert_rows_close(rows_without_timing(out), expected, rtol=1e-5)


def test_killed_sweep_resumes_without_recomputing(reference, tmp_path):
  out = str(tmp_path / "killed")
  proc = subprocess.Popen([sys.executable, "-m", "jaxcut.sweep", "--grid=smoke", f"--out={out}",
                           "--chunk=1", "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  parts = os.path.join(out, "parts")
  deadline = time.time() + 300
  while time.time() < deadline:
    n = len([f for f in os.listdir(parts) if f.endswith(".json")]) if os.path.isdir(parts) else 0
    if n >= 3:
      break
    time.sleep(0.02)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  committed = {f: os.stat(os.path.join(parts, f)).st_mtime_ns
               for f in os.listdir(parts) if f.endswith(".json")}
  assert 3 <= len(committed) < 12
  r = sweep_here("--grid=smoke", f"--out={out}", "--chunk=1")
  assert r.returncode == 0, r.stderr
  assert f"{12 - len(committed)} computed" in r.stdout
  assert "resuming" in r.stderr
  for f, mtime in committed.items():  # finished chunks untouched
    assert os.stat(os.path.join(parts, f)).st_mtime_ns == mtime
  assert rows_without_timing(out) == rows_without_timing(reference[0])


def test_diverged_runs_are_flagged_and_left_out(tmp_path):
  g = grid_mod.Grid(name="blowup", base=grid_mod.load("smoke").base.replace(method="erm"),
                    axes=(grid_mod.Axis("eta", (1.0, 1e30)),), seeds=1)
  result = run_sweep(g, str(tmp_path / "b"), quiet=True)
  assert result.diverged == [1]
  rows = read_results(str(tmp_path / "b"))
  assert rows[1]["diverged"] is True and rows[1]["test_acc"] is None
  assert rows[0]["diverged"] is False and rows[0]["test_acc"] > 0.5
  table = summary_table(g, result.rows)
  assert "1e+30" not in table and "1 " in table


def test_summary_table_is_mean_and_sd_over_seeds(reference):
  _, result = reference
  table = summary_table(smoke(), result.rows).splitlines()
  assert len(table) == 1 + 6
  erm = [r for r in result.rows if r["method"] == "erm" and r["sigma_d"] == 0.25]
  accs = [r["test_acc"] for r in erm]
  assert f"{np.mean(accs):.3f} +- {np.std(accs, ddof=1):.3f}" in table[1]


def test_cli_prints_progress_and_summary(tmp_path):
  r = sweep_cli("--grid=smoke", f"--out={tmp_path / 's'}", "--seeds=1", "--steps=20")
  assert r.returncode == 0, r.stderr
  assert "6/6 runs (100%)" in r.stderr and "runs/s" in r.stderr and "ETA" in r.stderr
  assert "grid smoke (cpu): 6 runs, 6 computed" in r.stdout
  assert "(1 seed)" in r.stdout and "+- 0.000" not in r.stdout  # one seed: no sd
  rows = read_results(str(tmp_path / "s"))
  assert len(rows) == 6 and rows[0]["steps"] == 20
  import json
  man = json.load(open(tmp_path / "s" / "manifest.json"))
  assert man["jaxcut_version"] and man["jax_version"] and man["fingerprint"]
  assert json.load(open(tmp_path / "s" / "grid.json"))["name"] == "smoke"


def bad_grid(tmp_path, body):
  f = tmp_path / "g.py"
  f.write_text(textwrap.dedent(f"""
      from jaxcut.config import PRESETS
      from jaxcut.grid import Axis, Grid
      def get_grid(size):
          return Grid(name="bad", base=PRESETS["tiny"], seeds=1, axes=({body},))
      """))
  return str(f)


@pytest.mark.parametrize("args,needle", [
    (["--grid=nosuch"], "unknown grid 'nosuch'"),
    ([], "--grid is required"),
    (["--grid=smoke", "--size=paper"], "size='paper'"),
    (["--grid=smoke", "--set=sigma=1"], "sigma"),
    (["--grid=smoke", "--set=sigma_b=abc"], "sigma_b='abc'"),
    (["--grid=smoke", "--set=sigma_b=-1"], "sigma_b"),
    (["--grid=smoke", "--set=P=1"], "P"),
    (["--grid=smoke", "--set=method=erm"], "grid smoke sweeps method (erm, cutout, cutmix)"),
    (["--grid=smoke", "--set=sigma_b"], "FIELD=VALUE"),
    (["--grid=smoke", "--seeds=0"], "seeds=0"),
    (["--grid=smoke", "--steps=0"], "steps=0"),
    (["--grid=smoke", "--chunk=0"], "--chunk=0"),
    (["--grid=smoke", "--bogus"], "bogus"),
    (["AXIS:Axis('sigmaa', (0.1,))"], "'sigmaa' is not a Config field"),
    (["AXIS:Axis('sigma_d', ())"], "no values"),
    (["AXIS:Axis('P', ('three',))"], "P='three'"),
    (["AXIS:Axis('sigma_d', (0.1, -1.0))"], "sigma_d=-1.0"),
    (["AXIS:Axis('method', ('erm', 'manifold_mixup'))"], "method='manifold_mixup'"),
])
def test_bad_input_exits_2_with_one_line_before_compute(tmp_path, args, needle):
  if args and args[0].startswith("AXIS:"):
    args = [f"--grid={bad_grid(tmp_path, args[0][5:])}"]
  out = tmp_path / "never"
  from jaxcut.commands.sweep import main
  r = run_cli(main, *args, f"--out={out}")  # in this process: refused before JAX starts work
  assert r.returncode == 2, (r.stdout, r.stderr)
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
  assert not out.exists()  # nothing written, nothing computed


def test_conflicting_out_is_refused_unless_overwrite(reference, tmp_path):
  out = reference[0]
  r = sweep_here("--grid=smoke", "--seeds=1", f"--out={out}")
  assert r.returncode == 2 and "holds another sweep" in r.stderr
  assert len(r.stderr.strip().splitlines()) == 1
  other = tmp_path / "o"
  import shutil
  shutil.copytree(out, other)
  r = sweep_here("--grid=smoke", "--seeds=1", "--steps=20", f"--out={other}", "--overwrite",
                 "--quiet")
  assert r.returncode == 0, r.stderr
  assert len(read_results(str(other))) == 6


def test_every_shipped_grid_expands_and_validates():
  import importlib.util
  for name in grid_mod.available():
    spec = importlib.util.spec_from_file_location(name, os.path.join(grid_mod.SWEEPS_DIR, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for size in getattr(module, "SIZES", ("cpu",)):
      g = grid_mod.load(name, size)
      runs = g.runs()
      assert runs and len({r.run_id for r in runs}) == len(runs)
      assert set(g.summary) and g.fingerprint(runs)


def test_results_are_typed_and_blank_where_a_setting_does_not_apply(reference):
  out, _ = reference
  rows = read_results(out)
  erm = next(r for r in rows if r["method"] == "erm")
  cutout = next(r for r in rows if r["method"] == "cutout")
  cutmix = next(r for r in rows if r["method"] == "cutmix")
  assert erm["exact"] is None and erm["C"] is None and erm["mixing"] is None
  assert cutout["C"] == 2 and cutout["exact"] is True and cutout["mixing"] is None
  assert cutmix["C"] is None and cutmix["mixing"] == "uniform" and cutmix["mix_a"] is None
  assert erm["momentum"] is None and erm["r"] == 0.1
  assert isinstance(erm["seed"], int) and isinstance(erm["test_acc"], float)
  assert erm["diverged"] is False and erm["run_seconds"] > 0
  # float32 values are written in their shortest round-trip form
  text = open(os.path.join(out, "results.csv")).read()
  values = [x for line in text.splitlines()[1:] for x in line.split(",")
            if "." in x and x.replace(".", "").isdigit()]
  assert values and all(x == str(np.float32(x)) for x in values), text[:500]
  from jaxcut.results import metric_names, result_columns
  assert set(rows[0]) <= result_columns(smoke().base, ["sigma_d"])
  assert set(metric_names(("common", "rare", "extreme"))) <= set(rows[0])


def test_load_run_reads_a_single_train_run(tmp_path):
  from conftest import run_cli
  from jaxcut.commands.train import main as train_main
  out = str(tmp_path / "one")
  r = run_cli(train_main, "--preset=tiny", "--steps=20", "--seed=2", f"--out={out}")
  assert r.returncode == 0, r.stderr
  run = load_run(out)
  assert run["seed"] == 2 and run["config"]["steps"] == 20
  assert run["trajectories"]["feature_output"].shape[0] == len(run["step"])
  assert run["params"]["W"].shape[-1] == 100


def test_compilation_cache_is_written_and_reused_with_the_same_results(tmp_path):
  cache = tmp_path / "cache"
  args = ("--grid=smoke", "--seeds=1", "--steps=20", "--quiet", "--overwrite")
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  r1 = sweep_cli(*args, f"--out={tmp_path / 'a'}", f"--cache_dir={cache}", env=env)
  assert r1.returncode == 0, r1.stderr
  entries = sorted(os.listdir(cache))
  assert entries  # compiled programs were stored
  r2 = sweep_cli(*args, f"--out={tmp_path / 'b'}", f"--cache_dir={cache}", env=env)
  assert r2.returncode == 0, r2.stderr
  assert sorted(os.listdir(cache)) == entries  # and found again: nothing new to store
  assert rows_without_timing(str(tmp_path / "a")) == rows_without_timing(str(tmp_path / "b"))
  off = tmp_path / "off"
  env["JAXCUT_CACHE_DIR"] = str(off)
  assert sweep_cli(*args, f"--out={tmp_path / 'c'}", "--cache_dir=off", "--only=method=erm",
                   env=env).returncode == 0  # one group is enough to see no cache is made
  assert not off.exists()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="Linux memory maps")
def test_a_sweep_of_many_groups_does_not_accumulate_compiled_code(tmp_path, monkeypatch):
  """Each compiled group kept ~700 memory maps alive in the process (XLA CPU code); the
  width grid's 96 groups reached vm.max_map_count and died ("LLVM compilation error:
  Cannot allocate memory"). The engine now keeps PROGRAMS_KEPT programs; older ones are
  freed."""
  from jaxcut import engine
  from jaxcut.config import PRESETS
  from jaxcut.grid import Axis, Grid
  counts = []
  orig = engine.run_chunk

  def counted(*a, **k):
    out = orig(*a, **k)
    counts.append(len(open("/proc/self/maps").readlines()))
    return out

  monkeypatch.setattr(engine, "run_chunk", counted)
  # the engine's cache, one program wide instead of PROGRAMS_KEPT: 4 groups, not 12
  for name in ("chunk_program", "single_program"):
    monkeypatch.setattr(engine, name, functools.lru_cache(maxsize=1)(
        getattr(engine, name).__wrapped__))
  g = Grid(name="maps", base=PRESETS["tiny"].replace(steps=4, log_every=2, n_test=60),
           seeds=1, axes=(Axis("m", (1, 2, 3, 4)),))
  run_sweep(g, str(tmp_path / "o"), quiet=True)
  assert len(counts) == 4
  # each new program replaces the old one (kept, they add ~700 maps each: ~2100 here)
  assert counts[-1] - counts[0] < 700, counts


def test_a_group_compiles_once_whatever_its_number_of_chunks(tmp_path):
  """Tracing events (one per program compiled or loaded from the persistent cache) during a
  sweep: a group's later chunks reuse its program, so 2 chunks and 4 chunks of the same
  group trace alike, a second group adds its own, and three dimensions of one ladder step
  (`config.compiled_d`) trace as one."""
  from jaxcut import engine
  from jaxcut.config import PRESETS
  from jaxcut.grid import Axis, Grid
  events = []

  def listen(name, seconds, **kw):
    if name == "/jax/core/compile/jaxpr_trace_duration":
      events.append(name)

  def traces(grid, out):
    jax.clear_caches()
    engine.chunk_program.cache_clear()
    engine.single_program.cache_clear()
    events.clear()
    run_sweep(grid, str(tmp_path / out), chunk=2, width=2, quiet=True)
    return len(events)

  base = PRESETS["tiny"].replace(steps=4, log_every=2)
  jax.monitoring.register_event_duration_secs_listener(listen)
  try:
    two = traces(Grid(name="c", base=base, seeds=4), "two")        # 2 chunks of 2 runs
    four = traces(Grid(name="c", base=base, seeds=8), "four")      # 4 chunks
    groups = traces(Grid(name="c", base=base, seeds=4,
                         axes=(Axis("method", ("erm", "cutmix")),)), "groups")
    dims = traces(Grid(name="c", base=base, seeds=2,  # d = 100, 110, 128: one width, 128
                       axes=(Axis("d", (100, 110, 128)),)), "dims")
  finally:
    jax.monitoring.unregister_event_duration_listener(listen)
  assert two >= 1 and four == two and dims == two, (two, four, dims)
  assert groups > two  # another static group is another program
