"""`python -m jaxcut.train`: one run (flags: `jaxcut.commands.train`; the run itself:
`jaxcut.training.train`). An entry point only: nothing imports this module."""

from jaxcut.cli import run
from jaxcut.commands.train import main

if __name__ == "__main__":
  run(main)
