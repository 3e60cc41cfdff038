"""What every command line shares: error handling (`run`), parsing, default output paths.

The commands are `jaxcut.commands.{train,sweep,report,realdata}`, each started by a thin
entry module (`python -m jaxcut.train` runs jaxcut/train.py, which nothing imports).
Every Config field is a flag (`--sigma_d=0.1`, `--group_masses=0.9,0.1`, `--P=4`), so
anything a grid can set, one run can set too. Bad input exits with code 2 and a single
`error: ...` line before any compute.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

from absl import flags

from jaxcut.config import InputError


MAX_SEED = 2 ** 32 - 1  # run keys are jax.random.key(uint32 seed): larger seeds would alias


class UsageError(InputError):
  """Bad command-line use; reported as one line, exit code 2."""


def run(main: Callable[[Sequence[str]], int], argv: Sequence[str] | None = None) -> None:
  """Call main(argv); turn usage/config errors into `error: ...` and exit code 2.

  SIGTERM is handled as Ctrl-C is (`jaxcut.signals`: a sweep rewrites results.csv from its
  committed parts and prints one line), then exits 143 (128 + 15) as a process killed by
  it would; Ctrl-C exits 130. Either takes effect once the XLA call running returns.
  """
  from jaxcut import signals
  argv = list(sys.argv if argv is None else argv)
  restore = signals.install()
  try:
    try:
      code = main(argv)
    finally:
      restore()
  except (flags.Error, InputError) as e:
    _one_line(f"error: {e}")
    sys.exit(2)
  except BrokenPipeError:  # stdout closed by the reader (| head): nothing to say
    sys.stderr.close()
    os._exit(141)
  except OSError as e:  # the file system: a full disk, a path that vanished, permissions
    where = f" ({e.filename})" if e.filename else ""
    _one_line(f"error: the file system refused: {e.strerror or e}{where}; what was "
              f"committed is kept: fix it and rerun the same command to resume")
    sys.exit(2)
  except KeyboardInterrupt as e:
    code = signals.exit_code(e)
    text = str(e) if str(e) else "interrupted"
    _one_line(text.replace("interrupted", "terminated (SIGTERM)", 1) if code == 143 else text)
    sys.stdout.flush()
    # not sys.exit: tearing the interpreter down under an interrupted XLA call aborted
    # the process (SIGABRT, "exception not rethrown"); results.csv is already written
    os._exit(code)
  sys.exit(code or 0)


def _one_line(text: str) -> None:
  # one write: lines of processes sharing a pipe stay whole
  sys.stderr.write(text.replace("\n", " ") + "\n")
  sys.stderr.flush()


def parse(fv: flags.FlagValues, argv: Sequence[str], epilog: str = "",
          usage: str = "") -> list[str]:
  """Parse argv into fv; --help prints `usage`, the flags (and `epilog`) and exits 0;
  stray arguments are errors."""
  if any(a in ("-h", "--help", "-help", "--helpfull") for a in argv[1:]):
    # absl groups flags under their defining module's name: one list reads better
    body = "\n".join(line for line in fv.get_help().splitlines()
                     if not (line and not line[0].isspace() and line.endswith(":")))
    print((f"{usage}\n\n" if usage else "") + "flags:\n" + body.strip("\n")
          + (f"\n\n{epilog}" if epilog else ""))
    sys.exit(0)
  rest = fv(list(argv))
  if len(rest) > 1:
    raise UsageError(f"unexpected argument {rest[1]!r} (flags look like --name=value)")
  return rest


def out_dir(head: str, parts) -> str:
  """runs/HEAD-PART-PART...: a default --out that names the command's overrides (hashed
  past 100 characters), so that another command gets another directory."""
  name = "-".join(str(p).replace("/", "_").replace(",", "_").replace(" ", "")
                  for p in [head, *parts])
  if len(name) > 100:
    import hashlib
    name = f"{head}-" + hashlib.sha256(name.encode()).hexdigest()[:10]
  return os.path.join("runs", name)


def enable_precision(dtype: str) -> None:
  if dtype == "float64":
    import jax
    jax.config.update("jax_enable_x64", True)


def define_runtime_flags(fv: flags.FlagValues) -> None:
  flags.DEFINE_string("cache_dir", None, "persistent compilation cache: a directory, or off "
                      "(default: $JAXCUT_CACHE_DIR, else ~/.cache/jaxcut/xla)", flag_values=fv)
  flags.DEFINE_enum("xla_options", None, ["fast-compile", "default", "quick-compile"],
                    "how XLA compiles jaxcut's programs on CPU: fast-compile (jaxcut's "
                    "options: about half the compile time), default (XLA's own) or "
                    "quick-compile (half again, runs 1.5-3x slower: smoke runs and tests; "
                    "default: $JAXCUT_XLA_OPTIONS, else fast-compile)", flag_values=fv)
  flags.DEFINE_integer("cpu_devices", None, "on a CPU, run as this many JAX devices, over "
                       "which a sweep shards its runs (small runs are mostly single-threaded: "
                       "set it to the number of cores; default: $JAXCUT_CPU_DEVICES, else 1)",
                       lower_bound=1, upper_bound=1024, flag_values=fv)
