"""`python -m jaxcut.sweep --grid NAME`: a grid of runs (flags: `jaxcut.commands.sweep`; the
driver: `jaxcut.driver.run_sweep`). An entry point only: nothing imports this module."""

from jaxcut.cli import run
from jaxcut.commands.sweep import main

if __name__ == "__main__":
  run(main)
