"""Ctrl-C and SIGTERM as one stop request, wherever the signal lands.

`install()` (done by `jaxcut.cli.run`) makes both signals record themselves and raise
KeyboardInterrupt (`Terminated` for SIGTERM, which `timeout`, SLURM and schedulers send).
A signal that lands inside native code (an XLA compile, a checkpoint write) can have its
exception swallowed there (seen under load: a Ctrl-C'd sweep ran to the end and exited 0),
so the sweep driver also calls `check()` between chunks: the recorded signal is raised
there again. The exit code is 128 + the signal's number (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, Optional

RECEIVED: list[int] = []


class Terminated(KeyboardInterrupt):
  """SIGTERM, raised where Ctrl-C would be."""


def _raise(signum: int):
  raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum, frame):
  RECEIVED.append(signum)
  _raise(signum)


def install() -> Callable[[], None]:
  """Handle SIGINT and SIGTERM (main thread only: signals go to it); returns a function
  that puts the previous handlers back."""
  if threading.current_thread() is not threading.main_thread():
    return lambda: None
  RECEIVED.clear()
  previous = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
  return lambda: [signal.signal(s, h) for s, h in previous.items()]


def received() -> Optional[int]:
  return RECEIVED[-1] if RECEIVED else None


def check() -> None:
  """Raise the stop request again if a signal arrived (its exception may have been lost)."""
  if RECEIVED:
    _raise(RECEIVED[-1])


def exit_code(e: BaseException) -> int:
  """130 for Ctrl-C, 143 for SIGTERM."""
  term = received() == signal.SIGTERM or isinstance(e, Terminated) or isinstance(
      e.__context__, Terminated)
  return 128 + (signal.SIGTERM if term else signal.SIGINT)
