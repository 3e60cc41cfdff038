"""Print the exact versions installed here of jaxcut's dependencies (with the test and
images and frame extras), transitively: the contents of constraints.txt.

    python .ci/lock.py > constraints.txt     # after the suite passed with these versions
"""

import importlib.metadata as md
import re
import sys

from packaging.requirements import Requirement


def closure(root: str, extras: tuple) -> dict:
  seen, todo = {}, [(root, extras)]
  while todo:
    name, extra = todo.pop()
    dist = md.distribution(name)
    key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
    if key != "jaxcut":
      if key in seen:
        continue
      seen[key] = dist.version
    for text in dist.requires or []:
      req = Requirement(text)
      envs = [{"extra": e} for e in extra] or [{"extra": ""}]
      if req.marker is None or any(req.marker.evaluate(env) for env in envs):
        todo.append((req.name, tuple(req.extras)))
  return seen


def main() -> None:
  pins = closure("jaxcut", ("test", "images", "frame"))
  print(f"# exact versions the suite passed with (python {sys.version.split()[0]}); "
        "regenerate: python .ci/lock.py > constraints.txt")
  for name in sorted(pins):
    print(f"{name}=={pins[name]}")


if __name__ == "__main__":
  main()
