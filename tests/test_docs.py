"""The Python walkthrough (docs/quickstart.md) runs as written, block after block."""

import os
import re

import matplotlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_blocks_run():
  matplotlib.use("Agg")
  text = open(os.path.join(ROOT, "docs", "quickstart.md")).read()
  blocks = re.findall(r"```python\n(.*?)```", text, re.S)
  assert len(blocks) >= 5
  scope: dict = {}
  for block in blocks:
    exec(compile(block, "docs/quickstart.md", "exec"), scope)
  rows = scope["read_results"](os.path.join(scope["work"], "mine"))
  report = os.path.join(scope["work"], "mine", "report")
  assert len(rows) == 12 and os.path.isfile(os.path.join(report, "summary.md"))
  assert os.path.isfile(os.path.join(report, "extreme.png"))
  import json
  ids = [c["id"] for c in json.load(open(os.path.join(report, "claims.json")))["claims"]]
  assert ids == ["extreme_cutmix_over_cutout", "cutmix_over_erm"]
