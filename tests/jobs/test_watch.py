"""The console command's parent process (medialake.jobs.watch): it passes on what the
ingest's process reports, and speaks when that process ends without a word (as when Ray's
core worker ends the driver after its raylet died). Each case runs in a fresh Python, since
the watch does not fork a process that has imported Ray (as pytest's has)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


def _watch(body: str, *, wait: bool = True, **kw):
    code = f"import os, sys, time\nfrom medialake.jobs.watch import watched\ndef run():\n{body}\nsys.exit(watched(run))\n"
    args = [sys.executable, "-c", code]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if wait:
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_a_child_that_reports_passes_its_status_and_output_through():
    r = _watch("    print('the summary line'); return 2")
    assert r.returncode == 2
    assert r.stdout == "the summary line\n"
    assert "medialake: error" not in r.stderr


def test_a_child_that_ends_without_a_word_gets_one_line_with_the_way_out():
    r = _watch("    print('started', flush=True); os._exit(1)")  # what Ray's core worker does
    assert r.returncode == 1
    assert r.stdout == "started\n"
    errors = [line for line in r.stderr.splitlines() if line.startswith("medialake: error:")]
    assert len(errors) == 1 and "status 1" in errors[0] and "run the same command again" in errors[0], r.stderr


def test_a_child_killed_by_a_signal_is_named_and_exits_as_a_shell_would():
    r = _watch("    os.kill(os.getpid(), 9)")
    assert r.returncode == 128 + 9
    assert "signal 9 (SIGKILL)" in r.stderr and "run the same command again" in r.stderr


def test_killing_the_command_kills_the_run(tmp_path):
    pid_file = tmp_path / "child.pid"
    proc = _watch(f"    open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60); return 0", wait=False)
    try:
        t0 = time.monotonic()
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() - t0 < 30, "the child never started"
            time.sleep(0.05)
        child = psutil.Process(int(pid_file.read_text()))
        assert child.ppid() == proc.pid
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        child.wait(timeout=10)  # PR_SET_PDEATHSIG: the child goes with its parent
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigterm_to_the_command_reaches_the_run():
    proc = _watch("    import signal\n    signal.signal(signal.SIGTERM, lambda *a: (print('child got TERM', flush=True), sys.exit(3)))\n"
                  "    print('ready', flush=True); time.sleep(60); return 0", wait=False)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert "child got TERM" in out
    assert proc.returncode == 3 and "medialake: error" not in err, err  # it ended on its own terms
