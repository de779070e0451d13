"""The database lock on ``s3://`` (a real S3 server, moto, on 127.0.0.1): every write is
conditional, so of many processes racing for the lock, or for a stale one, exactly one wins."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from medialake.errors import LockedError
from medialake.lock import LOCK_NAME, DatabaseLock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server with a bucket ``lakes``; yields a boto3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ALLOW_HTTP": "true"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    client = boto3.client("s3")
    client.create_bucket(Bucket="lakes")
    yield client
    mp.undo()
    server.stop()


def _lock_body(client, key):
    return json.loads(client.get_object(Bucket="lakes", Key=key)["Body"].read())


def _race(n, fn):
    barrier = threading.Barrier(n)
    wins, errors = [], []

    def run():
        lock = DatabaseLock(DB_ONE[0], stale_s=30, heartbeat_s=60)
        barrier.wait()
        try:
            wins.append(fn(lock))
        except LockedError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins, errors


DB_ONE = ["s3://lakes/race.lance"]


def test_second_holder_refuses_and_release_frees_it(s3):
    db = "s3://lakes/one.lance"
    with DatabaseLock(db) as lock:
        assert _lock_body(s3, f"one.lance/{LOCK_NAME}")["token"] == lock.token
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            DatabaseLock(db).acquire()
    assert s3.list_objects_v2(Bucket="lakes", Prefix="one.lance/").get("KeyCount", 0) == 0
    DatabaseLock(db).acquire().release()


@pytest.mark.parametrize("round_", range(3))
def test_of_many_racing_for_a_free_lock_exactly_one_wins(s3, round_):
    wins, errors = _race(8, lambda lock: lock.acquire())
    try:
        assert len(wins) == 1 and len(errors) == 7, errors
        assert _lock_body(s3, f"race.lance/{LOCK_NAME}")["token"] == wins[0].token
    finally:
        for w in wins:
            w.release()


@pytest.mark.parametrize("round_", range(3))
def test_of_many_taking_over_a_stale_lock_exactly_one_wins(s3, round_):
    key = f"race.lance/{LOCK_NAME}"
    stale = {"host": "gone-host", "pid": 1, "token": "dead", "heartbeat": time.time() - 3600}
    s3.put_object(Bucket="lakes", Key=key, Body=json.dumps(stale).encode())
    wins, errors = _race(8, lambda lock: lock.acquire())
    try:
        assert len(wins) == 1 and len(errors) == 7, errors
        assert _lock_body(s3, key)["token"] == wins[0].token
    finally:
        for w in wins:
            w.release()


def test_a_holder_that_lost_its_lock_neither_refreshes_nor_deletes_the_new_owners(s3):
    db, key = "s3://lakes/lost.lance", f"lost.lance/{LOCK_NAME}"
    first = DatabaseLock(db, heartbeat_s=0.1).acquire()
    new = {"host": "other", "pid": 7, "token": "newer", "heartbeat": time.time()}
    s3.put_object(Bucket="lakes", Key=key, Body=json.dumps(new).encode())  # taken over while we slept
    time.sleep(0.5)
    assert _lock_body(s3, key)["token"] == "newer"  # the old holder's heartbeat did not overwrite it
    first.release()
    assert _lock_body(s3, key)["token"] == "newer"  # nor did its release delete it
    s3.delete_object(Bucket="lakes", Key=key)


def test_an_ingest_refuses_while_another_process_holds_the_s3_lock(s3, tmp_path):
    db = "s3://lakes/busy.lance"
    code = (f"from medialake.lock import DatabaseLock; import sys, time; l = DatabaseLock({db!r}).acquire(); "
            "print('held', flush=True); sys.stdin.readline(); l.release()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "src").mkdir()
        out = subprocess.run([sys.executable, "-m", "medialake", "ingest", str(tmp_path / "src"), "--db", db],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode != 0
        assert f"pid {holder.pid}" in out.stdout + out.stderr and "locked" in out.stdout + out.stderr
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert s3.list_objects_v2(Bucket="lakes", Prefix="busy.lance/").get("KeyCount", 0) == 0
