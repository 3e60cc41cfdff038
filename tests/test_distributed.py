"""Multi-process sweeps: 2 local CPU processes == 1 process; a dead process stops the other;
the rerun resumes to identical results."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import assert_rows_close, rows_without_timing
from jaxcut.driver import run_sweep
from jaxcut import grid as grid_mod

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


# A stalled launch fails with every thread's Python stack (faulthandler) instead of
# waiting out the coordination service's 5-minute shutdown barrier. (That is how the
# start-up race fixed by `distributed.decided_by_main` was found.)
HANG_S = int(os.environ.get("JAXCUT_TEST_HANG_S", "180"))


def launch(n, *args):
  env = dict(os.environ, JAXCUT_PORT=str(free_port()), PYTHONFAULTHANDLER="1",
             PYTHON=sys.executable)
  p = subprocess.Popen(["bash", os.path.join(ROOT, "launch", "local_multiprocess.sh"), str(n),
                        *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, start_new_session=True)
  try:
    out, err = p.communicate(timeout=HANG_S)
  except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGABRT)
    _, err = p.communicate()
    raise AssertionError(f"launch {n} {' '.join(args)} stalled for {HANG_S} s. Stacks:\n"
                         f"{(err or '')[-8000:]}") from None
  return subprocess.CompletedProcess(p.args, p.returncode, out, err)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
  out = str(tmp_path_factory.mktemp("one"))
  run_sweep(grid_mod.load("smoke"), out, quiet=True)
  return out


def test_two_processes_equal_one(one_process, tmp_path):
  out = str(tmp_path / "two")
  r = launch(2, "--grid=smoke", f"--out={out}")
  assert r.returncode == 0, r.stderr[:3000] + "\n...\n" + r.stderr[-3000:]
  assert "grid smoke (cpu): 12 runs, 12 computed" in r.stdout
  assert r.stdout.count("grid smoke") == 1  # only process 0 reports
  import json
  man = json.load(open(os.path.join(out, "manifest.json")))
  assert man["process_count"] == 2 and man["device_count"] == 2
  parts = os.listdir(os.path.join(out, "parts"))
  assert any(p.startswith("p000") for p in parts) and any(p.startswith("p001") for p in parts)
  assert_rows_close(rows_without_timing(out), rows_without_timing(one_process))


def test_dead_process_stops_the_other_and_rerun_resumes(tmp_path):
  # Longer runs (12 chunks of 2) leave a window between the first commits and the end.
  longer = ("--seeds=4", "--steps=200")
  reference = str(tmp_path / "uninterrupted")
  run_sweep(grid_mod.with_overrides(grid_mod.load("smoke"), seeds=4, steps=200), reference,
            quiet=True)
  out = str(tmp_path / "killed")
  parts = os.path.join(out, "parts")
  port = free_port()
  procs, logs = [], []
  for i in range(2):
    env = dict(os.environ, JAXCUT_COORDINATOR=f"127.0.0.1:{port}", JAXCUT_NUM_PROCESSES="2",
               JAXCUT_PROCESS_ID=str(i), PYTHONFAULTHANDLER="1")
    logs.append(open(tmp_path / f"p{i}.log", "w+"))
    procs.append(subprocess.Popen(
        [sys.executable, "-m", "jaxcut.sweep", "--distributed", "--heartbeat_timeout=5",
         "--grid=smoke", *longer, "--chunk=2", f"--out={out}", "--quiet"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=logs[-1]))
  deadline = time.time() + HANG_S
  while time.time() < deadline:
    if os.path.isdir(parts) and sum(f.endswith(".json") for f in os.listdir(parts)) >= 2:
      break
    time.sleep(0.05)
  else:  # stalled before 2 commits: fail with the stacks
    for p in procs:
      p.send_signal(signal.SIGABRT)
      p.wait()
    stacks = "".join(f.seek(0) or f.read()[-4000:] for f in logs)
    raise AssertionError(f"2-process sweep stalled for {HANG_S} s. Stacks:\n{stacks}")
  procs[1].send_signal(signal.SIGKILL)
  t0 = time.time()
  rc = procs[0].wait(timeout=120)
  assert rc != 0 and time.time() - t0 < 60
  committed = sum(f.endswith(".json") for f in os.listdir(parts))
  assert committed < 24
  r = launch(2, "--grid=smoke", *longer, "--chunk=2", f"--out={out}")
  assert r.returncode == 0, r.stderr[-3000:]
  assert "resuming" in r.stderr
  assert_rows_close(rows_without_timing(out), rows_without_timing(reference))


def test_every_process_reports_process_0s_verdict_on_the_output_dir(tmp_path):
  """Only process 0 checks and prepares --out; the other raises the same one-line error."""
  out = tmp_path / "foreign"
  out.mkdir()
  (out / "notes.txt").write_text("not a sweep")
  r = launch(2, "--grid=smoke", f"--out={out}")
  assert r.returncode == 2, r.stderr[-3000:]
  lines = [l for l in r.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 2 and all("holds no sweep" in l for l in lines), r.stderr[-3000:]
  assert f"launch: 2 processes of {sys.executable}" in r.stderr
  assert sorted(os.listdir(out)) == ["notes.txt"]  # nothing written


def test_a_jax_without_the_private_coordination_client_gets_a_clear_error(monkeypatch):
  """jaxcut reads jax._src.distributed.global_state (JAX has no public client): a jax that
  moved it fails with the supported versions named, not an AttributeError deep inside."""
  import types
  from jaxcut import distributed
  assert distributed._client() is None  # this jax has it; nothing started here
  monkeypatch.setitem(sys.modules, "jax._src.distributed", types.ModuleType("moved"))
  with pytest.raises(RuntimeError, match=r"supports jax >=0.4.35,<0.12"):
    distributed._client()
