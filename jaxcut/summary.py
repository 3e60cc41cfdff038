"""Plain-text tables printed by the CLIs."""

from __future__ import annotations

import numpy as np

from jaxcut.config import Config


def run_table(cfg: Config, seed: int, metrics: dict, seconds: float) -> str:
  """Per-group table of one run: mass, count, train points, feature output and margin, test
  accuracy (docs/model.md names each)."""
  how = "exact" if cfg.exact else "sampled"
  extra = {"cutout": f" C={cfg.C}", "cutmix": f" D_S={cfg.mixing}"}.get(cfg.method, "")
  lines = [f"{cfg.method} ({how}{extra})  P={cfg.P} d={cfg.d} n={cfg.n} T={cfg.steps} "
           f"seed={seed}{'  backend=gram' if cfg.backend == 'gram' else ''}  [{seconds:.1f} s]",
           f"{'group':<12}{'mass':>7}{'count':>7}{'n_train':>9}{'output':>9}{'margin':>9}"
           f"{'test_acc':>10}"]
  for g, name in enumerate(cfg.group_names):
    lines.append(f"{name:<12}{cfg.group_masses[g]:>7.3f}{cfg.group_counts[g]:>7d}"
                 f"{int(metrics['n_train_group'][g]):>9d}{float(metrics['output_group'][g]):>9.3f}"
                 f"{float(metrics['margin_group'][g]):>9.3f}"
                 f"{float(metrics['test_acc_group'][g]):>10.3f}")
  sh, st = np.asarray(metrics["train_share"]), np.asarray(metrics["test_share"])
  lines += [f"test acc {float(metrics['test_acc']):.3f}  train acc "
            f"{float(metrics['train_acc']):.3f}  train loss {float(metrics['train_loss']):.4f}",
            f"output share (feature/dominant/background): train {sh[0]:.2f}/{sh[1]:.2f}/"
            f"{sh[2]:.2f}  test {st[0]:.2f}/{st[1]:.2f}/{st[2]:.2f}",
            "output = s f_W(v_{s,k}) (the network on the feature alone); margin = "
            "sum_j <w_{s,j} - w_{-s,j}, v_{s,k}>; both per group (docs/model.md)"]
  if bool(metrics["diverged"]):
    lines.append("DIVERGED: a loss, weight, coefficient or metric became non-finite "
                 "(metrics are NaN)")
  return "\n".join(lines)
