"""Reading finished sweeps: claims with verdicts (`claims`), figures (`figures`), learning
thresholds (`thresholds`), all over one loaded sweep (`sweepdata.Sweep`).

`python -m jaxcut.report DIR` (`jaxcut.report`) writes them into DIR/report/.
"""
