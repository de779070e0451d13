"""Ten ingests of the samples in one Ray session leave no worker abort in Ray's logs.

A worker that aborts (absl's ``Mutex corrupt: both reader and writer lock held``, SIGABRT,
``Fatal Python error: Aborted``) writes its dump to its own log files in the session's log
folder, whether or not the driver forwards worker output; the test reads what every
worker wrote during the ingests. The model roles are off so that the ten runs are cheap:
what they exercise is Ray's side, the plan's input blocks, the decode tasks, and the task
workers Ray starts for them and ends once they are idle.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import medialake
from medialake.pipelines.config import load_config

pytestmark = pytest.mark.slow

ABORT = re.compile(r"Mutex corrupt|SIGABRT|Fatal Python error|Check failed|\*\*\* Aborted")


def _worker_logs(logs: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in logs.glob("*") if p.is_file() and ("worker" in p.name)}


def test_ten_ingests_of_the_samples_leave_no_worker_abort(ray_local, samples, tmp_path):
    logs = Path(ray_local._private.worker._global_node.get_logs_dir_path())
    before = _worker_logs(logs)
    cfg = load_config(overrides={role: {"model": None} for role in ("asr", "ocr", "text")})
    for i in range(10):
        summary = medialake.ingest(samples, tmp_path / f"db{i}", config=cfg)
        assert (summary.ingested, summary.failed) == (5, 0), summary.failures
    after = _worker_logs(logs)
    assert after, f"no worker log files in {logs}"
    written = []
    for path, size in after.items():
        with open(path, "rb") as f:
            f.seek(before.get(path, 0))
            written.append((path.name, f.read().decode("utf-8", "replace")))
    aborts = [(name, m.group(0)) for name, text in written for m in [ABORT.search(text)] if m]
    assert not aborts, aborts
