"""benchmarks/device_check.sh --dry: the accelerator check's whole path at tiny sizes on CPU."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_device_check_dry_runs_every_step(tmp_path):
  out = tmp_path / "dc.json"
  r = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "device_check.sh"), "--dry",
                      f"--out={out}"], capture_output=True, text=True, timeout=900,
                     env={**os.environ, "PYTHON": sys.executable})
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
  res = json.loads(out.read_text())
  for name in ("device", "tests", "benchmark", "layout", "rarity_dry"):
    assert res[name]["ok"], (name, res[name])
  assert res["device"]["matmul_precision"] == "highest"
  assert res["tests"]["passed"] >= 1 and res["tests"].get("failed", 0) == 0
  assert res["rarity_dry"]["warm_seconds"] > 0 and "24 runs" in res["rarity_dry"]["summary"]
  layouts = [v for v in res["layout"].values() if isinstance(v, dict)]
  assert layouts and all(v["measured_bytes"] > 0 and v["width"] >= 1 for v in layouts)
  assert "step" in r.stdout and "wrote" in r.stdout


def test_device_check_skips_what_the_budget_cannot_hold(tmp_path):
  out = tmp_path / "dc.json"
  r = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "device_check.sh"), "--dry",
                      "--budget=2", f"--out={out}"], capture_output=True, text=True, timeout=300,
                     env={**os.environ, "PYTHON": sys.executable})
  assert r.returncode == 1  # skipped steps are not a pass
  res = json.loads(out.read_text())
  assert res["device"]["ok"] and res["benchmark"].get("skipped")
  assert "budget" in res["benchmark"]["error"] and "rarity_dry" in res
