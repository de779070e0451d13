"""Keep the terminal for medialake's own lines while Ray runs in this process.

Ray's C++ core worker inside the driver writes its warnings and errors to the process's
stderr as well as to its log file in the Ray session (``python-core-driver-*.log``); an
ingest of four files shows one about actor restarts that Ray Data triggers by design
(ray-project/ray#53727). There is no Ray switch for the stderr copy alone, so, unless
``--verbose``, :class:`DriverStderr` points file descriptor 2 at a log file for the
duration of the work, and hands medialake a stream on the real terminal for its progress.
Nothing is lost: the file keeps what was written, and its path is printed if the run fails.
"""

from __future__ import annotations

import os
import sys
import tempfile


class DriverStderr:
    """``with DriverStderr() as term:`` -- ``term`` writes to the terminal; anything else
    written to stderr (by C or Python) goes to :attr:`log_path` until the block ends."""

    def __init__(self, log_dir: str | None = None):
        self.log_dir = log_dir or os.path.join(tempfile.gettempdir(), "medialake")
        self.log_path: str | None = None
        self._saved: int | None = None
        self.term = None

    def __enter__(self):
        os.makedirs(self.log_dir, exist_ok=True)
        self.log_path = os.path.join(self.log_dir, f"ingest-{os.getpid()}.log")
        sys.stderr.flush()
        self._saved = os.dup(2)
        log_fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        # the terminal, for medialake's own lines; closefd=False: the saved fd is restored later
        self.term = open(self._saved, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                         errors="replace", closefd=False)
        return self.term

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        self.term.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        size = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        if not size:
            os.unlink(self.log_path)
        elif exc_type is not None and exc_type is not KeyboardInterrupt:
            print(f"medialake: Ray's messages of this run are in {self.log_path}", file=sys.stderr)
