"""The database lock: one ingest at a time, and a crash never leaves it stuck."""

import json
import os
import subprocess
import sys
import time

import pytest

from medialake.errors import LockedError
from medialake.lock import LOCK_NAME, DatabaseLock


def test_second_holder_refuses_with_owner_and_fix(tmp_path):
    db = str(tmp_path / "lake.lance")
    with DatabaseLock(db):
        with pytest.raises(LockedError) as e:
            DatabaseLock(db).acquire()
        msg = str(e.value)
        assert f"pid {os.getpid()}" in msg and "wait for it to finish" in msg and LOCK_NAME in msg
    assert not os.path.exists(os.path.join(db, LOCK_NAME))  # released
    DatabaseLock(db).acquire().release()  # and free again


def test_a_lock_just_written_by_another_thread_of_this_process_is_not_taken_over(tmp_path):
    """The window between the winner's write and its bookkeeping: a second lock of the same
    process that reads the new lock there must see it held (this let 2 of 8 threads win)."""
    db = str(tmp_path / "lake.lance")
    seen = []

    class Winner(DatabaseLock):
        def _create(self):
            won = super()._create()
            if won:  # another thread reads the lock right after our write
                try:
                    DatabaseLock(db).acquire().release()
                    seen.append("taken over")
                except LockedError:
                    seen.append("refused")
            return won

    Winner(db).acquire().release()
    assert seen == ["refused"]


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    db = str(tmp_path / "lake.lance")
    code = f"from medialake.lock import DatabaseLock; DatabaseLock({db!r}).acquire(); import os; os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    info = json.loads(open(os.path.join(db, LOCK_NAME)).read())  # left behind by the dead process
    assert info["pid"] != os.getpid()
    with DatabaseLock(db) as lock:
        assert lock.read()["token"] == lock.token


def test_lock_from_another_host_is_stale_only_after_its_heartbeat_stops(tmp_path):
    db = tmp_path / "lake.lance"
    db.mkdir()
    path = db / LOCK_NAME
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "t", "heartbeat": time.time()}))
    with pytest.raises(LockedError, match="host elsewhere"):
        DatabaseLock(str(db), stale_s=30).acquire()
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "t", "heartbeat": time.time() - 60}))
    DatabaseLock(str(db), stale_s=30).acquire().release()


def test_heartbeat_keeps_a_long_run_fresh(tmp_path):
    lock = DatabaseLock(str(tmp_path / "db"), stale_s=1.0, heartbeat_s=0.1).acquire()
    try:
        first = lock.read()["heartbeat"]
        time.sleep(1.5)
        info = lock.read()
        assert info["heartbeat"] > first and not lock.is_stale({**info, "host": "other"})
        with pytest.raises(LockedError):
            DatabaseLock(str(tmp_path / "db"), stale_s=1.0).acquire()
    finally:
        lock.release()


def test_ingest_refuses_while_the_database_is_locked(tmp_path, samples):
    from medialake.jobs.cli import main

    db = str(tmp_path / "lake.lance")
    with DatabaseLock(db):
        assert main(["ingest", str(samples / "images"), "--db", db]) == 2
