"""The cluster path, small: benchmarks/cluster_bench.py on a few short files. A Ray head
{"decode": 1} and a second node {"models": 1} on this machine (own temp dir and ports),
the database on a local S3 server; decode and the model pool on different nodes, the
workers write fragments to S3, the driver commits, and every segment is there once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_two_nodes_write_to_s3_and_every_segment_is_there_once():
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "PYTHONPATH")}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "cluster_bench.py"), "--files", "4", "--seconds", "2"],
                         env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    last = out.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"RESULT nodes=(\d+) segments=(\d+) lost=(\d+) duplicates=(\d+) "
                     r"driver_cpu_per_1k_segments=([\d.]+) write_rows_per_s=([\d.]+) seconds=([\d.]+)", last)
    assert m, last
    nodes, segments, lost, dups = map(int, m.groups()[:4])
    assert (nodes, lost, dups) == (2, 0, 0)
    assert segments == sum(int(2.0 + 0.01 * i) * 2 for i in range(4))  # 0.5 s windows of 2.00..2.03 s files
    probe = re.search(r"placement probe .*: \{'decode': '(\w+)', 'models': '(\w+)'\}", out.stdout)
    assert probe and probe.group(1) != probe.group(2)  # decode and models on different nodes
    cpu = re.search(r"second node: workers ([\d.]+)", out.stdout)
    assert cpu and float(cpu.group(1)) > 0  # the model pool ran on the second node
    assert "4/4 assets done" in out.stdout
