"""Killing a command the tests started, and everything it started, by process id."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` (started with ``start_new_session=True``) and all its descendants
    (its own Ray: raylet, GCS, workers); wait until they are gone."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in [psutil.Process(proc.pid)] + family if proc.poll() is None else family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout=30)
    psutil.wait_procs(family, timeout=10)
