"""`python -m jaxcut.report DIR`: figures and claims of a finished sweep (flags:
`jaxcut.commands.report`; the library: `jaxcut.analysis.report`). An entry point only:
nothing imports this module."""

from jaxcut.cli import run
from jaxcut.commands.report import main

if __name__ == "__main__":
  run(main)
