"""jaxcut: Cutout and CutMix vs ERM on feature-noise patch data (Oh & Yun, NeurIPS 2024), in JAX.

Library entry points:
  jaxcut.Config, jaxcut.preset      run configuration (jaxcut.config)
  jaxcut.training.train(key, spec)  one run -> (params, trajectories, metrics)
  jaxcut.data.sample                the data law
  jaxcut.driver.run_sweep           a grid of runs, chunked and checkpointed
  jaxcut.analysis.report            figures and claims of a finished sweep
CLIs (thin entry modules over jaxcut.commands): python -m jaxcut.train (one run),
python -m jaxcut.sweep (a grid), python -m jaxcut.report (a report),
python -m jaxcut.realdata (the real-data check).
"""

__version__ = "0.1.0"

from jaxcut.config import Config, ConfigError, Hypers, Spec, Static, preset  # noqa: E402

__all__ = ["Config", "ConfigError", "Hypers", "Spec", "Static", "preset", "__version__"]
