"""`python -m jaxcut.realdata`: the paper's real-data check (flags: `jaxcut.commands.realdata`;
the library: `jaxcut.images`). An entry point only: nothing imports this module."""

from jaxcut.cli import run
from jaxcut.commands.realdata import main

if __name__ == "__main__":
  run(main)
