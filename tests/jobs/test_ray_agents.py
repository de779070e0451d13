"""Ray's own processes die under an ingest: the run ends (no hang), nothing committed is
lost, the rerun completes, and the run ends with one line saying what to do. The ingest
runs as ``python -m medialake ingest`` with its own local Ray; the test SIGKILLs that
Ray's dashboard agent, or its raylet, once some asset is done."""

from __future__ import annotations

import signal
import subprocess

import psutil
import pytest

from procs import kill_tree
from test_kill import CONFIG, _consistent_for_readers, _corpus, _run_until, _start, _tables

pytestmark = pytest.mark.slow


def _ray_process(proc, which: str):
    for p in psutil.Process(proc.pid).children(recursive=True):
        try:
            cmd = " ".join(p.cmdline())
        except psutil.NoSuchProcess:
            continue
        if (which == "raylet" and p.name() == "raylet") or (which == "agent" and "dashboard/agent.py" in cmd):
            return p
    return None


def _done(assets) -> int:
    return sum(a["status"] == "done" for a in assets or [])


def _kill_mid_run(src, db, cfg, which: str) -> str | None:
    """Start an ingest, SIGKILL Ray's ``which`` once one more asset is done than before;
    returns what the ingest printed, or None when it ended before that."""
    before = _done(_tables(db)[0])
    proc = _start(src, db, cfg)
    try:
        reached = _run_until(proc, db, lambda a, s: _done(a) > before, 180)
        victim = _ray_process(proc, which) if reached else None
        if victim is None:
            return None
        victim.send_signal(signal.SIGKILL)
        try:
            out, _ = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the ingest hung for 180 s after Ray's {which} was killed")
    finally:
        kill_tree(proc)
    text = out.decode(errors="replace")
    errors = [line for line in text.splitlines() if line.startswith("medialake: error:")]
    print(which, "killed ->", proc.returncode, errors)
    if proc.returncode != 0:  # it may also survive (Ray restarts the agent): then it must have finished
        # When the raylet dies (the agents are fate-shared with it) Ray's C++ core worker ends
        # the driver process itself, before Python's handlers run; the command's parent
        # process (medialake.jobs.watch) then prints the one line.
        assert len(errors) == 1 and "run the same command again" in errors[0], text[-3000:]
    return text


def test_agent_then_raylet_die_mid_run_then_rerun(tmp_path):
    """Two runs, the dashboard agent killed in the first and the raylet in the second (each
    after one more asset is done), then a rerun that completes: three ingests, not four."""
    src, db, cfg = tmp_path / "src", str(tmp_path / "lake.lance"), tmp_path / "cfg.yaml"
    _corpus(src)
    cfg.write_text(CONFIG)
    landed = []
    for which in ("agent", "raylet"):
        landed.append((which, _kill_mid_run(src, db, cfg, which) is not None))
        _consistent_for_readers(db)
    if not any(ok for _, ok in landed):
        pytest.skip(f"the runs ended before Ray's processes could be killed mid-run ({landed})")
    proc = _start(src, db, cfg)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out.decode()[-3000:]
    assets, segs = _tables(db)
    assert assets and all(a["status"] == "done" for a in assets)
    ids = [s["segment_id"] for s in segs]
    assert len(ids) == len(set(ids))
    _consistent_for_readers(db)
