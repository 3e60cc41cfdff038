"""Tables, claims and the figure of a real-data run directory (docs/realdata.md).

Quantities, each a mean over seeds with its 95% t-interval (`jaxcut.stats`):
* accuracy of each method on the evaluation examples of each consistency bin;
* the gain of a method over ERM in a bin, acc_m - acc_erm, paired by seed;
* the concentration of that gain on rare, irregular examples: (gain in the lowest bin)
  - (gain in the highest bin), paired by seed;
* the mean consistency score of the evaluation examples a run gets wrong.

The seed intervals hold the evaluation examples fixed. Beside the concentration claim the
summary also gives a bootstrap interval that resamples the examples of each bin as well
as the seeds (`bootstrap_concentration`, 2,000 draws, percentile): it says how much the
difference could move on other examples of the same kind, which matters when a bin holds
a few dozen examples.

Claims (one verdict rule, `jaxcut.stats.verdict`), for every augmented method m run:
* `<m>_gain_concentrates_low`: gain_low - gain_high > 0 (the paper's real-data claim
  for CutMix: what augmentation adds is learning rare, low-consistency examples);
* `<m>_beats_erm_low`: gain_low > 0.
"""

from __future__ import annotations

import functools
import os
from typing import Optional

import numpy as np

from jaxcut import io
from jaxcut.stats import fmt, interval, paired, verdict
from jaxcut.store import read_results

COLORS = {"erm": "tab:blue", "cutout": "tab:orange", "cutmix": "tab:green",
          "patch_cutout": "tab:red", "patch_cutmix": "tab:purple"}


class RealRun:
  """A real-data directory read back: rows, config, evaluation set."""

  def __init__(self, path: str):
    self.path = path
    rows = read_results(path)
    self.rows = [r for r in rows if not r.get("diverged")]
    self.diverged = [r["run_id"] for r in rows if r.get("diverged")]
    self.config = io.read_json(os.path.join(path, "config.json"))["config"]
    with np.load(os.path.join(path, "eval_set.npz")) as z:
      self.eval = {k: z[k] for k in z.files}
    self.edges = list(self.config["bins"])
    self.methods = [m for m in self.config["methods"] if any(r["method"] == m for r in self.rows)]

  @property
  def nbins(self) -> int:
    return len(self.edges) - 1

  def bin_label(self, k: int) -> str:
    close = "]" if k == self.nbins - 1 else ")"
    return f"[{self.edges[k]:g}, {self.edges[k + 1]:g}{close}"

  def bin_count(self, k: int) -> int:
    return int((self.eval["bin"] == k).sum())

  def by_seed(self, method: str, column: str) -> dict:
    return {r["seed"]: float(r[column]) for r in self.rows
            if r["method"] == method and r.get(column) is not None}

  def low_high(self) -> tuple[Optional[int], Optional[int]]:
    """The lowest and highest non-empty bins."""
    full = [k for k in range(self.nbins) if self.bin_count(k)]
    return (full[0], full[-1]) if len(full) >= 2 else (None, None)

  @functools.cached_property
  def predictions(self) -> dict:
    """{method: {seed: predicted classes of the evaluation examples [M]}}, from the parts."""
    from jaxcut.store import SweepDir
    M = len(self.eval["label"])
    arrays = SweepDir(self.path).run_arrays(("eval_pred",))
    out: dict = {}
    for r in self.rows:
      out.setdefault(r["method"], {})[r["seed"]] = arrays[r["run_id"]]["eval_pred"][:M]
    return out

  def gain(self, method: str, column: str, base: str = "erm") -> dict:
    a, b = self.by_seed(method, column), self.by_seed(base, column)
    return {s: a[s] - b[s] for s in a if s in b}


BOOTSTRAP_DRAWS = 2000


def bootstrap_concentration(diff: np.ndarray, low: np.ndarray, high: np.ndarray,
                            draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> dict:
  """{mean, lo, hi, n}: the percentile 95% interval of mean_low(diff) - mean_high(diff),
  diff [S, M] = (correct of m) - (correct of ERM) per seed and evaluation example, drawing
  S seeds and, within each bin (index arrays `low`, `high`), its examples with
  replacement."""
  rng = np.random.default_rng(seed)
  S = diff.shape[0]
  vals = np.empty(draws)
  for b in range(draws):
    s = rng.integers(0, S, S)
    el = low[rng.integers(0, len(low), len(low))]
    eh = high[rng.integers(0, len(high), len(high))]
    vals[b] = diff[np.ix_(s, el)].mean() - diff[np.ix_(s, eh)].mean()
  lo, hi = np.percentile(vals, [2.5, 97.5])
  return {"mean": float(diff[:, low].mean() - diff[:, high].mean()), "lo": float(lo),
          "hi": float(hi), "n": S}


def claims(run: RealRun) -> list[dict]:
  out = []
  lo, hi = run.low_high()
  preds = run.predictions if lo is not None else {}
  for m in run.methods:
    if m == "erm" or "erm" not in run.methods:
      continue
    if lo is None:
      out.append({"name": f"{m}_gain_concentrates_low", "verdict": "not tested",
                  "why": "fewer than two non-empty consistency bins"})
      continue
    g_lo, g_hi = run.gain(m, f"acc_bin{lo}"), run.gain(m, f"acc_bin{hi}")
    q = interval(paired(g_lo, g_hi))
    seeds = sorted(set(preds.get(m, {})) & set(preds.get("erm", {})))
    label = run.eval["label"]
    diff = np.stack([(preds[m][s] == label).astype(float) - (preds["erm"][s] == label)
                     for s in seeds]) if seeds else None
    boot = bootstrap_concentration(diff, np.flatnonzero(run.eval["bin"] == lo),
                                   np.flatnonzero(run.eval["bin"] == hi)) if seeds else None
    out.append({"name": f"{m}_gain_concentrates_low", "quantity": q, "verdict": verdict(q),
                "bootstrap": boot,
                "text": f"{m}'s gain over ERM is larger on the lowest-consistency bin "
                        f"{run.bin_label(lo)} than on the highest {run.bin_label(hi)}"})
    q = interval(g_lo.values())
    out.append({"name": f"{m}_beats_erm_low", "quantity": q, "verdict": verdict(q),
                "text": f"{m} is more accurate than ERM on the lowest-consistency bin "
                        f"{run.bin_label(lo)}"})
  return out


def summary(run: RealRun, cl: Optional[list] = None) -> str:
  """Markdown: accuracy per bin, gains over ERM, error consistency, claims (`cl`, when
  already computed by `claims(run)`)."""
  cfg = run.config
  L = [f"# Real-data check: {cfg['dataset']}, {cfg['model']} (width {cfg['width']}), "
       f"{cfg['epochs']} epochs, {cfg['seeds']} seeds", "",
       f"Evaluation split: {len(run.eval['label'])} held-out examples; consistency scores "
       + ("from " + os.path.basename(cfg['cscores']) if cfg["cscores"] else
          f"estimated with {cfg['cscore_models']} models on {cfg['cscore_subset']:g} of the "
          f"pool") + ". Mean [95% interval over seeds].", ""]
  head = ["method", "all"] + [f"{run.bin_label(k)} n={run.bin_count(k)}"
                              for k in range(run.nbins)]
  L += ["## Accuracy per consistency bin", "", "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head)]
  for m in run.methods:
    cells = [fmt(interval(run.by_seed(m, "eval_acc").values()))]
    cells += [fmt(interval(run.by_seed(m, f"acc_bin{k}").values())) if run.bin_count(k) else "-"
              for k in range(run.nbins)]
    L.append(f"| {m} | " + " | ".join(cells) + " |")
  if "erm" in run.methods and len(run.methods) > 1:
    L += ["", "## Gain over ERM (paired by seed)", "", "| " + " | ".join(head) + " |",
          "|" + "---|" * len(head)]
    for m in run.methods:
      if m == "erm":
        continue
      cells = [fmt(interval(run.gain(m, "eval_acc").values()))]
      cells += [fmt(interval(run.gain(m, f"acc_bin{k}").values())) if run.bin_count(k)
                else "-" for k in range(run.nbins)]
      L.append(f"| {m} | " + " | ".join(cells) + " |")
  L += ["", "## Consistency of the errors", "",
        f"Mean consistency score of the evaluation set: {np.nanmean(run.eval['cscore']):.3f}.",
        "", "| method | errors per run | mean score of the errors | minus ERM's |",
        "|---|---|---|---|"]
  for m in run.methods:
    diff = fmt(interval(run.gain(m, "err_cscore_mean").values())) if (
        m != "erm" and "erm" in run.methods) else "-"
    L.append(f"| {m} | {fmt(interval(run.by_seed(m, 'n_errors').values()))} | "
             f"{fmt(interval(run.by_seed(m, 'err_cscore_mean').values()))} | {diff} |")
  cl = claims(run) if cl is None else cl
  if cl:
    from jaxcut.stats import RULE
    L += ["", "## Claims", "", f"Verdict rule: {RULE}.", ""]
    for c in cl:
      if "quantity" in c:
        line = f"- **{c['verdict']}** `{c['name']}`: {c['text']}: {fmt(c['quantity'])}"
        if c.get("bootstrap"):
          b = c["bootstrap"]
          line += (f"; with the bin's examples resampled too (bootstrap, {BOOTSTRAP_DRAWS} "
                   f"draws): [{b['lo']:.3f}, {b['hi']:.3f}]")
        L.append(line)
      else:
        L.append(f"- **{c['verdict']}** `{c['name']}`: {c['why']}")
  if run.diverged:
    L += ["", f"Diverged runs (left out): {', '.join(map(str, run.diverged))}"]
  return "\n".join(L) + "\n"


def figure(run: RealRun, out: Optional[str] = None):
  """Left: accuracy per consistency bin with 95% intervals; right: the distribution (ECDF)
  of the consistency scores of each method's errors, pooled over seeds, against the
  evaluation set's."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
  ks = [k for k in range(run.nbins) if run.bin_count(k)]
  width = 0.8 / max(1, len(run.methods))
  for i, m in enumerate(run.methods):
    qs = [interval(run.by_seed(m, f"acc_bin{k}").values()) for k in ks]
    x = np.arange(len(ks)) + (i - (len(run.methods) - 1) / 2) * width
    mean = np.array([q["mean"] for q in qs])
    err = np.array([[q["mean"] - q["lo"], q["hi"] - q["mean"]] for q in qs]).T
    a.bar(x, mean, width, yerr=err, capsize=2, color=COLORS.get(m), label=m)
  a.set_xticks(np.arange(len(ks)), [f"{run.bin_label(k)}\nn={run.bin_count(k)}" for k in ks])
  a.set_xlabel("consistency score of the evaluation example")
  a.set_ylabel("accuracy (mean over seeds, 95% CI)")
  a.set_ylim(0, 1.02)
  a.legend(fontsize=8)
  a.set_title("accuracy per consistency bin", fontsize=10)
  c = run.eval["cscore"]
  ecdf = lambda v: (np.sort(v), np.arange(1, len(v) + 1) / len(v))
  b.step(*ecdf(c[np.isfinite(c)]), where="post", color="0.5", ls="--", label="evaluation set")
  preds = run.predictions
  for m in run.methods:
    wrong = [c[p != run.eval["label"]] for p in preds.get(m, {}).values()]
    w = np.concatenate(wrong) if wrong else np.zeros(0)
    w = w[np.isfinite(w)]
    if len(w):
      b.step(*ecdf(w), where="post", lw=1.5, color=COLORS.get(m),
             label=f"{m} errors ({len(w) / max(1, len(wrong)):.1f} per run)")
  b.set_xlabel("consistency score")
  b.set_ylabel("share with score <= x")
  b.set_xlim(0, 1)
  b.legend(fontsize=8, loc="upper left")
  b.set_title("consistency of each method's errors (all seeds pooled)", fontsize=10)
  fig.suptitle(f"{run.config['dataset']}: ERM, Cutout, CutMix by example consistency "
               f"({run.config['seeds']} seeds)", fontsize=11)
  fig.tight_layout()
  path = None
  if out:
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "consistency.png")
    fig.savefig(path, dpi=120)
  return path, fig


def write_report(run, cl: Optional[list] = None) -> tuple[str, Optional[str]]:
  """OUT/report/{summary.md, claims.json, consistency.png} of `run` (a RealRun or its
  directory; `cl` its claims when already computed); returns (summary, figure)."""
  run = run if isinstance(run, RealRun) else RealRun(run)
  cl = claims(run) if cl is None else cl
  rep = os.path.join(run.path, "report")
  os.makedirs(rep, exist_ok=True)
  fig_path, fig = figure(run, rep)
  import matplotlib.pyplot as plt
  plt.close(fig)
  text = summary(run, cl) + "\n![consistency](consistency.png)\n"
  with open(os.path.join(rep, "summary.md"), "w") as f:
    f.write(text)
  io.write_json(os.path.join(rep, "claims.json"), cl)
  return os.path.join(rep, "summary.md"), fig_path
