"""The small-run figure of ``ingest_bench.py``: the 5 sample files ingested from a cold
start (a fresh process: imports, Ray start, model loads) vs the naive loop from a cold
start (a fresh process: imports, model loads), both timed as whole processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _timed(cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDIALAKE_PROGRESS": "0"}
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(REPO))
    if out.returncode:
        raise SystemExit(f"{cmd[:4]} failed with exit code {out.returncode}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return time.perf_counter() - t


def small_ratio(bench: str, profile: str, config_args: list[str], set_args: list[str]) -> dict:
    """Wall seconds of both cold runs over ``samples/`` and their ratio medialake / loop
    (``--set`` overrides reach the loop only: the CLI takes a --config file)."""
    src = str(REPO / "samples")
    work = tempfile.mkdtemp(prefix="medialake-small-")
    ours = _timed([sys.executable, "-m", "medialake", "ingest", src, "--db", os.path.join(work, "ml.lance"),
                   "--profile", profile] + config_args)
    loop = _timed([sys.executable, bench, "--naive-only", src, os.path.join(work, "loop.lance"),
                   "--profile", profile] + config_args + set_args)
    return {"medialake_s": ours, "loop_s": loop, "ratio": ours / loop}
