"""The command lines a newcomer meets: help, one override syntax, --steps, default --out."""

from conftest import run_cli
from jaxcut import grid as grid_mod
from jaxcut.commands.train import main as train_main, train_config, train_flags
from jaxcut.config import PRESETS, field_names
from jaxcut.commands.sweep import default_out, main as sweep_main


def test_train_help_explains_every_field():
  r = run_cli(train_main, "--help")
  assert r.returncode == 0
  for name in field_names():
    assert f"--{name}" in r.stdout or f"--[no]{name}" in r.stdout, name
  assert "Cutout size: patches zeroed" in r.stdout and "reference value 2" in r.stdout
  assert "compile-time" in r.stdout and "traced" in r.stdout
  assert "allowed: an integer in 1..P-1" in r.stdout


def test_sweep_help_and_list_name_the_grids():
  r = run_cli(sweep_main, "--help")
  assert r.returncode == 0 and "regime" in r.stdout and "--sigma_d" in r.stdout
  r = run_cli(sweep_main, "--list")
  assert r.returncode == 0
  for name in grid_mod.available():
    assert f"  {name} " in r.stdout
  assert "cpu: 384 runs" in r.stdout  # rarity


def test_report_help_exits_0():
  from jaxcut.commands.report import main
  r = run_cli(main, "--help")
  assert r.returncode == 0 and r.stdout.startswith("usage: python -m jaxcut.report SWEEP_DIR")


def parse_train(*args):
  fv = train_flags()
  fv(["prog", *args])
  return train_config(fv)


def test_one_override_syntax_in_both_spellings():
  a = parse_train("--preset=tiny", "--sigma_d=0.3", "--group_masses=0.5,0.3,0.2", "--method=cutmix")
  b = parse_train("--preset=tiny", "--set=sigma_d=0.3", "--set", "group_masses=0.5,0.3,0.2",
                  "--set=method=cutmix")
  assert a == b and a.sigma_d == 0.3 and a.group_masses == (0.5, 0.3, 0.2)
  assert parse_train("--sampled").exact is False and parse_train("--noexact").exact is False
  assert parse_train().exact is True
  r = run_cli(train_main, "--preset=tiny", "--sigma_d=0.3", "--set=sigma_d=0.4")
  assert r.returncode == 2 and "given twice" in r.stderr
  r = run_cli(train_main, "--preset=tiny", "--sigma_d=abc")
  assert r.returncode == 2 and "sigma_d" in r.stderr and len(r.stderr.splitlines()) == 1


def test_train_steps_scales_the_log_cadence_like_the_sweep():
  cfg = parse_train("--steps=100")  # reference: T = 3000, log_every = 30 (100 points)
  assert cfg.steps == 100 and 100 % cfg.log_every == 0 and cfg.log_every == 1
  cfg = parse_train("--preset=tiny", "--steps=20")
  assert cfg.steps == 20 and 20 % cfg.log_every == 0
  assert parse_train("--steps=100", "--log_every=50").log_every == 50
  g = grid_mod.with_overrides(grid_mod.load("smoke"), steps=100)
  assert g.base == PRESETS["tiny"].replace(steps=40, log_every=10).with_steps(100)


def test_default_out_is_unique_to_the_command():
  g = grid_mod.load("rarity")
  assert default_out(g, None, None, {}) == "runs/rarity-cpu"
  others = {default_out(g, 2, None, {}), default_out(g, None, 500, {}),
            default_out(g, None, None, {"sigma_d": "0.1"}),
            default_out(g, None, None, {"sigma_d": "0.2"})}
  assert len(others) == 4 and "runs/rarity-cpu" not in others
  long = default_out(g, None, None, {f"f{i}": "x" * 20 for i in range(10)})
  assert len(long) < 60
