"""A sweep directory loses and mixes nothing; every bad input is one line, exit 2, before
any compute, with nothing written (issue: reliability)."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import cli_here, rows_without_timing
from jaxcut import signals
from jaxcut.store import SweepDir, read_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = ("--grid=smoke", "--seeds=1", "--steps=20", "--chunk=2", "--quiet")  # 6 runs, 3 parts


def cli(module, *args, **kw):
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        timeout=600, cwd=ROOT, **kw)


def sweep(*args, process=False, **kw):
  """The sweep CLI: in this process (a new process costs ~6 s of start-up and tracing;
  `cli.run` maps errors and exit codes as in one), or a real process where the test needs
  one (process=True, or subprocess options such as env= or preexec_fn=)."""
  if process or kw:
    return cli("jaxcut.sweep", *args, **kw)
  return cli_here("sweep", *args)


def report(out):
  return cli_here("report", str(out))


def one_error_line(r, needle, code=2):
  lines = r.stderr.strip().splitlines()
  assert r.returncode == code, (r.returncode, r.stderr[-2000:])
  assert len(lines) == 1 and needle in lines[0], r.stderr[-2000:]
  return lines[0]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
  """The QUICK sweep, done once: its directory (not to be modified) and its rows."""
  out = str(tmp_path_factory.mktemp("quick") / "q")
  r = sweep(*QUICK, f"--out={out}")
  assert r.returncode == 0, r.stderr
  return out, rows_without_timing(out)


def copy(quick, tmp_path, name="c"):
  out = str(tmp_path / name)
  shutil.copytree(quick[0], out)
  return out


def parts_of(out):
  return sorted(f[:-5] for f in os.listdir(os.path.join(out, "parts")) if f.endswith(".json"))


def test_a_part_from_another_sweep_is_recomputed(quick, tmp_path):
  """Issue case 1: B's part dropped into A under the same name; A's rerun replaces it."""
  a = copy(quick, tmp_path, "a")
  b = str(tmp_path / "b")
  assert sweep(*QUICK, "--set=eta=0.5", f"--out={b}").returncode == 0
  name = parts_of(a)[1]
  for suffix in ("", ".json"):
    src, dst = os.path.join(b, "parts", name + suffix), os.path.join(a, "parts", name + suffix)
    (shutil.rmtree if os.path.isdir(dst) else os.remove)(dst)
    (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
  r = sweep(*QUICK[:-1], f"--out={a}")
  assert r.returncode == 0, r.stderr
  assert f"warning: part {name} belongs to another sweep" in r.stderr
  assert "2 computed" in r.stdout
  assert rows_without_timing(a) == quick[1]


@pytest.mark.parametrize("damage", ["delete arrays", "truncate", "flip a byte", "bad record"])
def test_a_damaged_part_is_noticed_and_recomputed(quick, tmp_path, damage):
  """Issue case 4: a deleted or truncated part is recomputed, not reported as done."""
  out = copy(quick, tmp_path)
  name = parts_of(out)[0]
  arrays = os.path.join(out, "parts", name)
  files = sorted(os.path.join(r, f) for r, _, fs in os.walk(arrays) for f in fs)
  biggest = max(files, key=os.path.getsize)
  if damage == "delete arrays":
    shutil.rmtree(arrays)
  elif damage == "truncate":
    os.truncate(biggest, 10)
  elif damage == "flip a byte":
    data = bytearray(open(biggest, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(biggest, "wb").write(bytes(data))
  else:
    open(arrays + ".json", "w").write('{"part": "x", "rows": [')
  r = sweep(*QUICK[:-1], f"--out={out}")
  assert r.returncode == 0, r.stderr
  assert f"warning: part {name}" in r.stderr and "2 computed" in r.stdout
  assert rows_without_timing(out) == quick[1]
  assert report(out).returncode == 0


def test_one_writer_per_out(quick, tmp_path):
  """Issue cases 2 and 3: while a sweep holds --out, another one, --overwrite included, is
  refused with one line naming the holder, and nothing in the directory changes."""
  out = copy(quick, tmp_path)
  holder = SweepDir(out)
  holder.lock()
  try:
    before = {f: os.stat(os.path.join(out, "parts", f)).st_mtime_ns for f in os.listdir(
        os.path.join(out, "parts"))}
    for extra in ((), ("--overwrite",), ("--set=eta=0.5", "--overwrite")):
      r = sweep(*QUICK, f"--out={out}", *extra, process=True)  # the lock is per process
      line = one_error_line(r, "is being written by another sweep")
      assert f"pid {os.getpid()}" in line
    after = {f: os.stat(os.path.join(out, "parts", f)).st_mtime_ns for f in os.listdir(
        os.path.join(out, "parts"))}
    assert before == after
  finally:
    holder.unlock()
  assert sweep(*QUICK, f"--out={out}").returncode == 0  # released: it resumes


def test_two_sweeps_started_together_mix_nothing(quick, tmp_path):
  out = str(tmp_path / "race")
  procs = [subprocess.Popen([sys.executable, "-m", "jaxcut.sweep", *QUICK, f"--out={out}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for _ in range(2)]
  results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
  assert sorted(rc for rc, _ in results) in ([0, 0], [0, 2]), results
  for rc, err in results:
    if rc == 2:
      assert "is being written by another sweep" in err
  r = sweep(*QUICK[:-1], f"--out={out}")  # a third run finds everything committed and sound
  assert r.returncode == 0 and "0 computed" in r.stdout and "warning" not in r.stderr
  assert rows_without_timing(out) == quick[1]
  assert report(out).returncode == 0


def test_leftovers_of_interrupted_writes_are_cleaned(quick, tmp_path):
  """Issue case 5 and stale temporaries: a directory with only an empty parts/ (killed
  before manifest.json) is taken; *.tmp and *.partial are removed on start."""
  out = str(tmp_path / "early")
  os.makedirs(os.path.join(out, "parts"))
  open(os.path.join(out, "manifest.json.tmp"), "w").write("{")
  assert sweep(*QUICK, f"--out={out}").returncode == 0
  assert rows_without_timing(out) == quick[1]
  stale = [os.path.join(out, "x.tmp"), os.path.join(out, "parts", "y.tmp")]
  for f in stale:
    open(f, "w").write("junk")
  os.makedirs(os.path.join(out, "parts", "p000-r0000099.partial"))
  os.makedirs(os.path.join(out, "parts", "p000-r0000098"))  # arrays without a record
  assert sweep(*QUICK, f"--out={out}").returncode == 0
  left = set(os.listdir(out)) | set(os.listdir(os.path.join(out, "parts")))
  assert not {n for n in left if n.endswith((".tmp", ".partial")) or n == "p000-r0000098"}


def test_a_sweep_that_stopped_before_committing_anything_is_replaced(tmp_path):
  """Issue: --set d=1e11 used to fail after manifest.json, and then refuse the corrected
  command. Now it fails before writing anything, and an unfinished sweep with no
  committed runs does not block another one."""
  out = tmp_path / "d"
  r = sweep(*QUICK, "--set=d=100000000000", f"--out={out}")
  one_error_line(r, "d=100000000000 is out of range for this device")
  assert not out.exists()
  os.makedirs(out / "parts")
  json.dump({"grid": "smoke", "fingerprint": "0123456789abcdef"}, open(out / "manifest.json", "w"))
  assert sweep(*QUICK, f"--out={out}").returncode == 0


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_ctrl_c_and_sigterm_rewrite_results_and_exit_130_143(tmp_path, signum, code, word):
  """SIGTERM (timeout, SLURM) behaves as Ctrl-C: results.csv holds every committed run."""
  out = str(tmp_path / "int")
  proc = subprocess.Popen([sys.executable, "-m", "jaxcut.sweep", "--grid=smoke", "--chunk=1",
                           "--steps=20000", f"--out={out}", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  parts = os.path.join(out, "parts")
  deadline = time.time() + 300
  while time.time() < deadline and (not os.path.isdir(parts) or sum(
      f.endswith(".json") for f in os.listdir(parts)) < 2):
    time.sleep(0.02)
  proc.send_signal(signum)
  _, err = proc.communicate(timeout=120)
  assert proc.returncode == code, err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(f"{word}:"), err
  committed = sum(f.endswith(".json") for f in os.listdir(parts))
  assert len(read_results(out)) == committed and f"{committed} of 12 runs" in lines[0]


def test_a_full_disk_is_one_line_and_the_rerun_resumes(quick, tmp_path):
  """Writes fail past a file-size limit (EFBIG, standing in for ENOSPC)."""
  out = str(tmp_path / "full")

  def limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

  r = sweep(*QUICK, f"--out={out}", preexec_fn=limit)
  one_error_line(r, "the file system refused")
  assert sweep(*QUICK, f"--out={out}").returncode == 0
  assert rows_without_timing(out) == quick[1]


def test_non_finite_runs_are_flagged_with_nan_metrics(tmp_path):
  """Issue case 6: a run whose weights blow up has NaN metrics, never 0.0, and the flag."""
  out = str(tmp_path / "one")
  r = cli("jaxcut.train", "--preset=tiny", "--eta=1e30", f"--out={out}")
  assert r.returncode == 1 and "DIVERGED" in r.stdout
  m = json.load(open(os.path.join(out, "metrics.json")))["metrics"]
  assert m["diverged"] is True and m["test_acc"] == "nan" and m["span_residual"] == "nan"
  import jax
  from jaxcut.config import PRESETS
  from jaxcut.training import train_jit
  for kw in (dict(eta=1e30), dict(eta=1e30, backend="gram")):
    _, _, met = train_jit(jax.random.key(0), PRESETS["tiny"].replace(**kw).spec())
    assert bool(met["diverged"]) and np.isnan(met["test_acc"]) and np.isnan(met["rho_final"]).all()


def bad_grid(tmp_path, text):
  f = tmp_path / "g.py"
  f.write_text(text)
  return f"--grid={f}"


GRID_HEAD = "from jaxcut.config import PRESETS\nfrom jaxcut.grid import Axis, Grid\n"


@pytest.mark.parametrize("make,needle", [
    (lambda t: ["--set=n_test=2"], "n_test=2 is out of range"),
    (lambda t: ["--set=eta=1e39"], "eta=1e+39 is out of range"),
    (lambda t: ["--set=sigma_b=1e-46"], "sigma_b=1e-46 is out of range"),
    (lambda t: ["--set=sigma_b=1e-30"], "sigma_b^2 (d - 2K)"),
    (lambda t: [bad_grid(t, "def get_grid(size)\n  pass\n")], "SyntaxError"),
    (lambda t: [bad_grid(t, "X = 1\n")], "defines no get_grid"),
    (lambda t: [bad_grid(t, "def get_grid(size):\n  return 1 / 0\n")], "ZeroDivisionError"),
    (lambda t: [bad_grid(t, GRID_HEAD + "def get_grid(size):\n  return Grid(name='g', "
                "base=PRESETS['tiny'], summary=('test_acc_rarest',))\n")],
     "summary column 'test_acc_rarest'"),
    (lambda t: [bad_grid(t, GRID_HEAD + "def get_grid(size):\n  return Grid(name='g', "
                "base=PRESETS['tiny'], axes=(Axis('method', ('erm', 'cutmix')),), "
                "contrasts=(('cutmix', 'mixup', 'test_acc'),))\n")], "method 'mixup'"),
])
def test_bad_sweep_input_is_one_line_and_writes_nothing(tmp_path, make, needle):
  out = tmp_path / "never"
  args = make(tmp_path)
  if not args[0].startswith("--grid"):
    args = ["--grid=smoke"] + args
  one_error_line(cli_here("sweep", *args, f"--out={out}"), needle)
  assert not out.exists()


@pytest.mark.parametrize("out,needle", [
    ("FILE", "is a file"), ("FILE/sub", "which is a file"), ("/sys/jaxcut-test", "not writable")])
def test_bad_out_is_one_line_before_compute(tmp_path, out, needle):
  f = tmp_path / "f"
  f.write_text("x")
  out = out.replace("FILE", str(f))
  one_error_line(cli_here("sweep", "--grid=smoke", f"--out={out}"), needle)
  one_error_line(cli_here("train", "--preset=tiny", "--steps=5000", f"--out={out}"), needle)


@pytest.mark.parametrize("args,needle", [
    (["--seed=4294967296"], "--seed=4294967296 is out of range"),
    (["--seed=1180591620717411303424"], "is out of range"),
    (["--d=100000000000"], "d=100000000000 is out of range for this device"),
])
def test_bad_train_input_is_one_line(args, needle):
  one_error_line(cli_here("train", "--preset=tiny", *args), needle)


def test_distributed_without_a_coordinator_is_one_line(tmp_path):
  env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXCUT_", "SLURM"))}
  r = sweep("--grid=smoke", "--distributed", f"--out={tmp_path / 'x'}", env=env)
  one_error_line(r, "--distributed could not start jax.distributed")


def test_report_errors_are_one_line(quick, tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  one_error_line(cli("jaxcut.report", str(empty)), "holds no results.csv")  # a real process
  one_error_line(report(empty), "holds no results.csv")
  for name, needle in (("grid.json", "holds no grid.json"), ("manifest.json", "holds no manifest.json")):
    out = copy(quick, tmp_path, name)
    os.remove(os.path.join(out, name))
    one_error_line(report(out), needle)
  for i, (text, needle) in enumerate((("", "holds no runs"), ("run_id,method\n", "holds no runs"),
                                      ("\x00garbage,\n1,2\n", "is damaged"))):
    out = copy(quick, tmp_path, f"results{i}")
    open(os.path.join(out, "results.csv"), "w").write(text)
    one_error_line(report(out), needle)
  out = copy(quick, tmp_path, "trunc")
  name = parts_of(out)[0]
  shutil.rmtree(os.path.join(out, "parts", name))
  one_error_line(report(out), f"part {name} has no arrays")
  out = copy(quick, tmp_path, "partial")  # 6 runs of which results.csv keeps 4: warned
  rows = open(os.path.join(out, "results.csv")).read().splitlines()
  open(os.path.join(out, "results.csv"), "w").write("\n".join(rows[:5]) + "\n")
  man = json.load(open(os.path.join(out, "manifest.json")))
  r = report(out)
  assert r.returncode == 0 and f"incomplete sweep: 4 of {man['n_runs']}" in r.stderr
  assert "incomplete sweep" in open(os.path.join(out, "report", "summary.md")).read()


def test_report_on_a_sweep_whose_runs_all_diverged(tmp_path):
  out = str(tmp_path / "div")
  assert sweep(*QUICK, "--set=eta=1e30", f"--out={out}").returncode == 0
  one_error_line(report(out), "all 6 runs diverged")


def test_train_out_is_protected_as_a_sweeps_is(quick, tmp_path):
  """Issue #28 item 4: train --out used to overwrite silently, a sweep directory included.
  Now it refuses, naming what is there, before compute; --overwrite replaces it."""
  run = str(tmp_path / "run")
  tiny = ("--preset=tiny", "--steps=20")
  assert cli_here("train", *tiny, f"--out={run}").returncode == 0
  first = json.load(open(os.path.join(run, "metrics.json")))["metrics"]
  r = cli_here("train", *tiny, "--seed=3", f"--out={run}")
  one_error_line(r, "holds a run (method erm, seed 0); use another --out, or --overwrite")
  assert json.load(open(os.path.join(run, "metrics.json")))["metrics"] == first
  swept = copy(quick, tmp_path)
  r = cli_here("train", *tiny, f"--out={swept}")
  one_error_line(r, "holds a sweep (grid smoke, size cpu, 3 parts committed)")
  assert parts_of(swept) == parts_of(quick[0])
  other = tmp_path / "other"
  other.mkdir()
  (other / "notes.txt").write_text("mine")
  one_error_line(cli_here("train", *tiny, f"--out={other}"), "holds 1 other file (notes.txt)")
  r = cli_here("train", *tiny, "--seed=3", "--overwrite", f"--out={run}")
  assert r.returncode == 0, r.stderr
  assert json.load(open(os.path.join(run, "metrics.json")))["seed"] == 3


def test_results_read_as_a_data_frame(quick):
  """Issue #28 item 7: read_results(frame=True) needs pandas, which is now the `frame`
  extra (and in `test`, so that this runs in CI)."""
  rows = read_results(quick[0])
  df = read_results(quick[0], frame=True)
  assert list(df.columns) == list(rows[0]) and len(df) == len(rows) == 6
  assert df["test_acc"].tolist() == [r["test_acc"] for r in rows]
  assert df["method"].tolist() == [r["method"] for r in rows]


def test_one_seed_says_there_is_no_sd(quick, tmp_path):
  """Issue #28 item 7: one seed printed `+- 0.000` and "1 seeds"."""
  from jaxcut.analysis.report import write_report
  out = copy(quick, tmp_path)
  summary, _ = write_report(out)
  text = open(summary).read()
  assert "6 runs, 1 seed (so no sd and no intervals: they need >= 2 seeds)" in text
  assert "1 seeds" not in text
  r = sweep(*QUICK, f"--out={out}")
  assert "(1 seed)" in r.stdout and "+- 0.000" not in r.stdout


def test_a_signal_whose_exception_native_code_swallowed_still_stops_the_sweep(tmp_path,
                                                                              monkeypatch):
  """Seen under load: a Ctrl-C landing inside native code (a compile, a checkpoint write)
  lost its KeyboardInterrupt and the sweep ran to the end, exit 0. The recorded signal is
  raised again between chunks: results.csv holds the committed runs, 143 for SIGTERM."""
  from jaxcut import engine, grid as grid_mod
  from jaxcut.driver import Interrupted, run_sweep
  g = grid_mod.with_overrides(grid_mod.load("smoke"), seeds=1, steps=20)
  real = engine.run_chunk

  def chunk_then_signal(*a, **kw):
    out = real(*a, **kw)
    signals.RECEIVED.append(signal.SIGTERM)  # arrived, and its exception was lost
    return out
  monkeypatch.setattr(engine, "run_chunk", chunk_then_signal)
  signals.RECEIVED.clear()
  try:
    with pytest.raises(Interrupted) as e:
      run_sweep(g, str(tmp_path / "s"), chunk=2, quiet=True)
    assert signals.exit_code(e.value) == 143
  finally:
    signals.RECEIVED.clear()
  assert "2 of 6 runs are committed" in str(e.value)
  assert len(read_results(str(tmp_path / "s"))) == 2
