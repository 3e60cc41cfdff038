"""The command lines' logic, one module per command (`main(argv) -> exit code`):
`train` (one run), `sweep` (a grid), `report` (figures and claims of a finished sweep),
`realdata` (the real-data check). `python -m jaxcut.NAME` runs jaxcut/NAME.py, a thin
entry that nothing imports and that only hands `main` to `jaxcut.cli.run`.
"""
