"""Plain-text tables printed by the CLIs."""

from __future__ import annotations

import numpy as np

from jaxcut.config import Config


def short(v) -> str:
  """A value as the tables print it: 4 significant digits for numbers, text as it is."""
  try:
    x = float(v)
  except (TypeError, ValueError):
    return str(v)
  return f"{x:.4g}"


def aligned(header, rows, left: int = 1) -> list[str]:
  """Lines of a table whose columns are as wide as their widest entry, two spaces apart:
  the first `left` columns left-aligned (labels), the others right-aligned (numbers), so
  that large values never run together."""
  table = [[str(x) for x in header]] + [[str(x) for x in r] for r in rows]
  widths = [max(len(r[i]) for r in table) for i in range(len(header))]
  return ["  ".join(x.ljust(w) if i < left else x.rjust(w)
                    for i, (x, w) in enumerate(zip(r, widths))).rstrip() for r in table]


def mean_sd(values) -> str:
  """'mean +- sd' over seeds; one seed has no sd: 'mean (1 seed)'."""
  v = np.asarray(values, float)
  if len(v) == 1:
    return f"{v[0]:.3f} (1 seed)"
  return f"{v.mean():.3f} +- {v.std(ddof=1):.3f}"


def run_table(cfg: Config, seed: int, metrics: dict, seconds: float) -> str:
  """Per-group table of one run: mass, count, train points, feature output and margin, test
  accuracy (docs/model.md names each)."""
  how = "exact" if cfg.exact else "sampled"
  extra = {"cutout": f" C={cfg.C}", "cutmix": f" D_S={cfg.mixing}",
           "mixup": f" lam~{cfg.mixing}"}.get(cfg.method, "")
  lines = [f"{cfg.method} ({how}{extra})  P={cfg.P} d={cfg.d} n={cfg.n} T={cfg.steps} "
           f"seed={seed}{'  backend=gram' if cfg.backend == 'gram' else ''}  [{seconds:.1f} s]"]
  lines += aligned(
      ["group", "mass", "count", "n_train", "output", "margin", "test_acc"],
      [[name, f"{cfg.group_masses[g]:.3f}", cfg.group_counts[g],
        int(metrics["n_train_group"][g]), f"{float(metrics['output_group'][g]):.3f}",
        f"{float(metrics['margin_group'][g]):.3f}",
        f"{float(metrics['test_acc_group'][g]):.3f}"] for g, name in enumerate(cfg.group_names)])
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
