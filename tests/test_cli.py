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


def test_help_opens_with_a_usage_line():
  """Issue #28 item 7: --help opened with a module path (absl's grouping)."""
  from jaxcut.commands.realdata import main as realdata_main
  for main, name in ((sweep_main, "sweep"), (train_main, "train"), (realdata_main, "realdata")):
    r = run_cli(main, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: python -m jaxcut.{name} "), r.stdout[:200]
    assert "jaxcut.cli:" not in r.stdout and "\nflags:\n" in r.stdout
  r = run_cli(realdata_main, "--help")
  assert "[digits: digits" not in r.stdout and "one of digits, cifar10 (picks the preset" in r.stdout
  r = run_cli(sweep_main, "--help")
  assert "or paper" not in r.stdout and "one of the grid's own" in r.stdout


def test_list_gives_whole_descriptions():
  r = run_cli(sweep_main, "--list")
  text = " ".join(r.stdout.split())
  assert "over P x sigma_d / sigma_b x the rare group's mass." in text  # cutsize: 2 lines
  assert all(len(line) <= 104 for line in r.stdout.splitlines())


def test_a_prime_step_count_says_what_it_logs():
  """--steps 97 logs every step (log_every must divide T): a note says so, and what T
  would keep the points."""
  cfg = parse_train("--preset=tiny", "--steps=97")
  assert cfg.log_every == 1 and cfg.log_note(PRESETS["tiny"]) == (
      "note: steps=97 has no divisor near steps/5, so log_every=1 logs 98 points "
      "(log_every must divide steps); steps=95 would log 6")
  assert parse_train("--preset=tiny", "--steps=100").log_note(PRESETS["tiny"]) == ""


def test_tables_keep_large_numbers_apart_and_say_when_there_is_no_sd():
  from jaxcut.summary import aligned, mean_sd
  lines = aligned(["group", "count", "output"], [["common", 12345678, "123456.789"],
                                                  ["rare", 3, "-0.001"]])
  assert lines[1].split() == ["common", "12345678", "123456.789"]
  assert len({len(line) for line in lines}) == 1
  assert mean_sd([0.5]) == "0.500 (1 seed)" and mean_sd([0.5, 0.7]) == "0.600 +- 0.141"


def test_a_bad_value_in_a_grid_file_names_the_file_and_line(tmp_path):
  f = tmp_path / "g.py"
  f.write_text("from jaxcut.config import PRESETS\nfrom jaxcut.grid import Grid\n\n"
               "def get_grid(size):\n  return Grid(name='g',\n"
               "              base=PRESETS['tiny'].replace(sigma_d=-1.0))\n")
  r = run_cli(sweep_main, f"--grid={f}", f"--out={tmp_path / 'x'}")
  assert r.returncode == 2 and r.stderr.strip() == (
      f"error: grid g, grid file {f}, line 6: sigma_d=-1.0 is out of range: sigma_d must "
      f"be > 0")
  r = run_cli(sweep_main, "--grid=/nonexistent.py")
  assert r.stderr.strip() == "error: grid file /nonexistent.py: no such file"
