"""Validation of every field before compute, and the single-run CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jaxcut.config import Config, ConfigError, PRESETS

BAD = [
    (dict(group_masses=(0.9, 0.2, -0.1)), "group_masses"),
    (dict(group_masses=(0.5, 0.2, 0.2)), "group_masses"),
    (dict(group_masses=(0.5, 0.5)), "group_masses"),
    (dict(group_counts=(2, 0, 5)), "group_counts"),
    (dict(group_names=("a", "a", "b")), "group_names"),
    (dict(group_names=("a/b", "c", "d")), "group_names"),
    (dict(method="cutout", C=3), "C"),
    (dict(method="cutout", C=0), "C"),
    (dict(d=24), "d"),  # 2K = 24
    (dict(P=1), "P"),
    (dict(sigma_d=0.0), "sigma_d"),
    (dict(sigma_b=-1.0), "sigma_b"),
    (dict(sigma_0=0.0), "sigma_0"),
    (dict(eta=-0.1), "eta"),
    (dict(steps=0), "steps"),
    (dict(log_every=7), "log_every"),
    (dict(beta=1.0), "beta"),
    (dict(r=0.0), "r"),
    (dict(alpha=-1.0), "alpha"),
    (dict(momentum=1.0), "momentum"),
    (dict(method="sgd"), "method"),
    (dict(activation="swish"), "activation"),
    (dict(method="cutmix", mixing="dirichlet"), "mixing"),
    (dict(method="cutmix", mixing="beta", mix_a=0.0), "mix_a"),
    (dict(optimizer="lbfgs"), "optimizer"),
    (dict(n=0), "n"),
    (dict(m=0), "m"),
    (dict(n_test=0), "n_test"),
    (dict(dtype="float16"), "dtype"),
    (dict(backend="sparse"), "backend"),
    (dict(backend="gram", optimizer="adam"), "optimizer"),
]


@pytest.mark.parametrize("kw,field", BAD, ids=[f for _, f in BAD])
def test_bad_config_names_the_field(kw, field):
  with pytest.raises(ConfigError, match=rf"\b{field}\b.*must be"):
    Config().replace(**kw).validate()


def test_unknown_field_and_bad_types():
  with pytest.raises(ConfigError, match="unknown config field 'sigma'"):
    Config().replace(sigma=1.0)
  with pytest.raises(ConfigError, match="P='three'"):
    Config().replace(P="three")
  with pytest.raises(ConfigError, match="C=2.5"):
    Config().replace(C=2.5)


def test_string_overrides_are_coerced():
  c = Config().replace(P="4", group_masses="0.7,0.2,0.1", exact="false", sigma_d="1e-1")
  assert c.P == 4 and c.group_masses == (0.7, 0.2, 0.1) and c.exact is False
  assert c.sigma_d == 0.1


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_valid(name):
  PRESETS[name].validate()


def cli(*args):
  return subprocess.run([sys.executable, "-m", "jaxcut.train", *args], capture_output=True,
                        text=True, timeout=300)


@pytest.mark.parametrize("args,needle", [
    (["--method=cutout", "--C=3"], "C=3"),
    (["--group_masses=0.5,0.2"], "group_masses"),
    (["--bogus=1"], "bogus"),
    (["--method=adam"], "method"),
    (["--preset=huge"], "preset"),
    (["--exact", "--sampled"], "--sampled"),
    (["--d=10", "--preset=tiny"], "d=10"),
    (["stray"], "stray"),
    (["--backend=gram", "--optimizer=adam"], "optimizer"),
])
def test_cli_bad_input_exits_2_with_one_line(args, needle):
  from conftest import run_cli
  from jaxcut.commands.train import main as train_main
  r = run_cli(train_main, *args)
  assert r.returncode == 2, r
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr


def test_cli_runs_and_writes(tmp_path):
  out = tmp_path / "run"
  r = cli("--preset=tiny", "--method=cutmix", "--sampled", "--seed=3", f"--out={out}")
  assert r.returncode == 0, r.stderr
  assert "cutmix (sampled" in r.stdout and "common" in r.stdout and "test acc" in r.stdout
  rec = json.loads((out / "metrics.json").read_text())
  assert rec["config"]["method"] == "cutmix" and rec["config"]["exact"] is False
  assert rec["seed"] == 3 and rec["jaxcut_version"]
  from jaxcut.io import load_tree
  tree = load_tree(str(out / "trajectories"))
  cfg = PRESETS["tiny"]
  assert tree["trajectories"]["gamma"].shape[0] == cfg.steps // cfg.log_every + 1
  np.testing.assert_array_equal(tree["step"], np.arange(0, cfg.steps + 1, cfg.log_every))
  assert tree["rho_final"].shape == (2, 1, cfg.n, cfg.P)


def test_cli_gram_backend_at_a_million_dimensions(tmp_path):
  out = tmp_path / "run"
  r = cli("--preset=tiny", "--backend=gram", "--d=1000000", "--sigma_d=0.005",
          "--sigma_b=0.0005", f"--out={out}")
  assert r.returncode == 0, r.stderr
  assert "d=1000000" in r.stdout and "backend=gram" in r.stdout
  rec = json.loads((out / "metrics.json").read_text())
  assert rec["config"]["backend"] == "gram" and rec["config"]["d"] == 10 ** 6
  from jaxcut.io import load_tree
  tree = load_tree(str(out / "trajectories"))
  cfg = PRESETS["tiny"]
  assert tree["params"]["c"].shape == (2, 1, cfg.n * (cfg.P - 1))  # no d-sized array
  assert tree["rho_final"].shape == (2, 1, cfg.n, cfg.P)
