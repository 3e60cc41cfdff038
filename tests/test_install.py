"""Installs: constraints.txt (the exact versions the suite passed with) lies inside
pyproject's bounds, and its jax bound is the one jaxcut.distributed names."""

import os
import re

from packaging.requirements import Requirement

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dependencies():
  text = open(os.path.join(ROOT, "pyproject.toml")).read()
  block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
  return [Requirement(x) for x in re.findall(r'"([^"]+)"', block)]


def _pins():
  pins = {}
  for line in open(os.path.join(ROOT, "constraints.txt")):
    line = line.split("#")[0].strip()
    if line:
      name, version = line.split("==")
      pins[name.lower()] = version
  return pins


def test_every_dependency_is_pinned_within_its_bounds():
  pins = _pins()
  for req in _dependencies():
    name = re.sub(r"[-_.]+", "-", req.name).lower()
    assert name in pins, f"{name} is not in constraints.txt"
    assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} outside {req.specifier}"
    assert req.specifier and any(s.operator == "<" for s in req.specifier), \
        f"{name} has no upper bound"


def test_the_distributed_guard_names_pyprojects_jax_bounds():
  from jaxcut.distributed import SUPPORTED_JAX
  jax = next(r for r in _dependencies() if r.name == "jax")
  assert sorted(str(jax.specifier).split(",")) == sorted(SUPPORTED_JAX.split(","))
