"""A light parent for ``medialake ingest`` that can still speak when the run's process cannot.

When the raylet of a local Ray dies (killed, out of memory; its agents are fate-shared with
it), Ray's C++ core worker ends the driver process itself with ``_exit``: no Python handler
runs, so the person sees Ray's ``Raylet is terminated`` and no word on what to do. The
``medialake`` command therefore forks before it imports Ray: the child runs the ingest as
before (same terminal, same process group, so Ctrl-C and the progress display behave as
without it) and the parent only waits. A child that ends having printed its own last line
(its summary or its one ``medialake: error:`` line) tells the parent so through a pipe, and
its exit status is passed on unchanged. A child that ends without that gets one line from the
parent, with the way out: finished files are kept, run the same command again.

The child dies with the parent on Linux (``PR_SET_PDEATHSIG``), so killing ``medialake``
still kills the run. Only the console command forks (``main(watch=True)``); ``main()`` called
from Python, and platforms without ``fork``, run the ingest in the calling process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

_FORWARD = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent is already gone
        os._exit(137)


def watched(run: Callable[[], int], what: str = "the ingest") -> int:
    """Run ``run()`` in a forked child and return its exit status; when the child ends
    without reporting (its process was ended from under it), print one line saying so."""
    if not hasattr(os, "fork") or "ray" in sys.modules:  # forking after Ray started is unsafe
        return run()
    sys.stdout.flush()
    sys.stderr.flush()
    done_r, done_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: the ingest, as without a parent
        os.close(done_r)
        _die_with_parent(parent)
        try:
            code = run()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(done_w, b"1")
        os.close(done_w)
        return code
    os.close(done_w)
    # Ctrl-C reaches the child from the terminal (same process group): the parent ignores it
    # and waits for the child's own "interrupted" line; a signal sent to the parent alone is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for s in _FORWARD:
        signal.signal(s, lambda sig, _frame: os.kill(pid, sig))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
    reported = os.read(done_r, 1) == b"1"
    os.close(done_r)
    code = os.waitstatus_to_exitcode(status)
    if reported:
        return code
    how = f"was killed by signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"ended with status {code}"
    print(f"medialake: error: the process running {what} {how} before it could finish, most often because "
          f"Ray's own processes on this machine stopped under it (the raylet or an agent died or was killed, e.g. "
          f"out of memory). Files finished so far are kept: run the same command again to do the rest",
          file=sys.stderr)
    return 128 - code if code < 0 else (code or 1)
