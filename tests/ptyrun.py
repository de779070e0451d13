"""Run a command in a pseudo-terminal, as a person at a terminal would, and keep what it showed."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\r")


@dataclass
class Shown:
    raw: str  # the bytes the terminal got, decoded
    rc: int

    @property
    def text(self) -> str:
        """What was shown, without colours and cursor moves."""
        return ANSI.sub("\n", self.raw)


def medialake_in_pty(*args: str, env: dict | None = None, timeout: float = 600, cols: int = 160) -> Shown:
    """``python -m medialake ARGS`` with stdin, stdout and stderr on one pseudo-terminal."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), **(env or {})}
    full_env.pop("MEDIALAKE_PROGRESS", None)  # tests/conftest.py turns Ray's bars off; show what a user sees
    proc = subprocess.Popen([sys.executable, "-m", "medialake", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=REPO, env=full_env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
    finally:
        rc = proc.wait(timeout=30)
        os.close(master)
    return Shown(raw=b"".join(chunks).decode("utf-8", "replace"), rc=rc)
