"""One ingest at a time per database: a lock file with an owner and a heartbeat.

``with DatabaseLock(db): ...`` creates ``<db>/_medialake.lock`` atomically (``O_EXCL``)
holding the owner's host, pid, a token and a heartbeat time that a background thread
refreshes every ``heartbeat_s``. A second ingest finds the file and refuses with
:class:`~medialake.errors.LockedError`, naming the owner. A crash cannot leave the
database locked for ever: a lock whose owner process is gone (same host) or whose
heartbeat is older than ``stale_s`` (any host) is taken over.

On ``s3://`` every write of the lock is conditional (:mod:`medialake.lock_s3`: create
if absent, replace or delete only the version read), so two ingests racing for it, or for
a stale one, cannot both win. Other object stores (``gs://``) go through ``pyarrow.fs``,
which has no conditional write: there the lock is written, read back and compared, which
catches ingests started seconds apart but not ones started in the same instant.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

from medialake.errors import LockedError
from medialake.uris import is_remote, local_path

LOCK_NAME = "_medialake.lock"

#: Tokens of the locks this process holds now. A lock file naming this process with another
#: token was left by a release that could not delete it (the disk turned read-only): stale.
_HELD: set[str] = set()


class _LostLock(Exception):
    """The lock object changed under us: another process took it over."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DatabaseLock:
    """Exclusive ingest lock on the database at ``db`` (a directory or object-store URI)."""

    def __init__(self, db: str, stale_s: float = 120.0, heartbeat_s: float = 10.0):
        self.db = str(db)
        self.stale_s = stale_s
        self.heartbeat_s = heartbeat_s
        self.token = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.s3 = None
        self.etag: str | None = None  # s3: the version of the lock we wrote last
        self._seen_etag: str | None = None  # s3: the version :meth:`read` saw
        if self.db.startswith("s3://"):
            from medialake.lock_s3 import S3LockObject

            self.s3 = S3LockObject(self.db, LOCK_NAME)
            self.fs, self.path, self.local = None, self.s3.url, False
        elif is_remote(self.db):
            import pyarrow.fs as pafs

            self.fs, base = pafs.FileSystem.from_uri(self.db)
            self.path = base.rstrip("/") + "/" + LOCK_NAME
            self.local = False
        else:
            base = local_path(self.db)
            os.makedirs(base, exist_ok=True)
            self.fs = None
            self.path = os.path.join(base, LOCK_NAME)
            self.local = True

    # -- file access -------------------------------------------------------------------
    def _payload(self) -> bytes:
        return json.dumps({"host": self.host, "pid": self.pid, "token": self.token,
                           "heartbeat": time.time(), "started": getattr(self, "_started", time.time())}).encode()

    def read(self) -> dict | None:
        """The current lock holder's record, or None when the database is not locked."""
        try:
            if self.s3 is not None:
                data, self._seen_etag = self.s3.get()
                if data is None:
                    return None
            elif self.local:
                with open(self.path, "rb") as f:
                    data = f.read()
            else:
                with self.fs.open_input_stream(self.path) as f:
                    data = f.read()
        except (FileNotFoundError, OSError):
            return None
        try:
            return json.loads(data)
        except ValueError:
            return {"host": "?", "pid": -1, "token": "?", "heartbeat": 0.0}  # torn write: stale

    def _create(self) -> bool:
        if self.local:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as f:
                f.write(self._payload())
            return True
        if self.s3 is not None:
            self.etag = self.s3.create(self._payload())
            return self.etag is not None
        if self.read() is not None:
            return False
        with self.fs.open_output_stream(self.path) as f:
            f.write(self._payload())
        time.sleep(0.2)
        return (self.read() or {}).get("token") == self.token

    def _write(self) -> None:
        if self.s3 is not None:
            etag = self.s3.replace(self._payload(), self.etag) if self.etag else None
            if etag is None:
                raise _LostLock()
            self.etag = etag
            return
        if self.local:
            tmp = f"{self.path}.{self.token}"
            with open(tmp, "wb") as f:
                f.write(self._payload())
            os.replace(tmp, self.path)
        else:
            with self.fs.open_output_stream(self.path) as f:
                f.write(self._payload())

    def _remove(self, expect_token: str | None) -> None:
        cur = self.read()
        if cur is None or (expect_token is not None and cur.get("token") != expect_token):
            return
        if self.s3 is not None:
            self.s3.delete(self._seen_etag)  # only the version just read: never a newer owner's
            return
        if self.local:
            # Rename first: of two processes taking over the same stale lock, one wins.
            grave = f"{self.path}.stale.{self.token}"
            try:
                os.rename(self.path, grave)
            except FileNotFoundError:
                return
            try:
                with open(grave, "rb") as f:
                    moved = json.loads(f.read() or b"{}")
            except ValueError:
                moved = {}
            if expect_token is not None and moved.get("token") != expect_token:
                try:  # we moved someone else's fresh lock: put it back unless replaced
                    os.link(grave, self.path)
                except FileExistsError:
                    pass
            os.remove(grave)
        else:
            self.fs.delete_file(self.path)

    # -- policy ------------------------------------------------------------------------
    def is_stale(self, info: dict) -> bool:
        """True when the holder is gone: dead pid on this host, or no heartbeat for ``stale_s``."""
        if info.get("host") == self.host and isinstance(info.get("pid"), int) and info["pid"] > 0:
            if not _pid_alive(info["pid"]):
                return True
            if info["pid"] == os.getpid() and info.get("token") not in _HELD:
                return True  # left by this process, which no longer holds it
        return time.time() - float(info.get("heartbeat") or 0.0) > self.stale_s

    def acquire(self) -> "DatabaseLock":
        self._started = time.time()
        # Held before the first write: another thread of this process that reads our new lock
        # between the write and this line must not judge it left behind and take it over.
        _HELD.add(self.token)
        try:
            self._take()
        except BaseException:
            _HELD.discard(self.token)
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="medialake-lock-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _take(self) -> None:
        for _ in range(10):
            if self._create():
                break
            info = self.read()
            if info is None:
                continue
            if not self.is_stale(info):
                age = time.time() - float(info.get("heartbeat") or 0.0)
                raise LockedError(
                    f"database {self.db!r} is locked by another ingest (pid {info.get('pid')} on host "
                    f"{info.get('host')}, last heartbeat {age:.0f} s ago); wait for it to finish. If that "
                    f"process is gone, the lock is taken over automatically once its heartbeat is "
                    f"{self.stale_s:.0f} s old, or delete {self.path} by hand."
                )
            if self.s3 is not None:
                seen = self._seen_etag
                if seen and (etag := self.s3.replace(self._payload(), seen)):
                    self.etag = etag  # took the stale lock over in one conditional write
                    break
                continue
            self._remove(info.get("token"))
        else:
            raise LockedError(f"could not take the lock {self.path}; another process keeps taking it, retry later")

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                if (self.read() or {}).get("token") != self.token:
                    return  # taken over (we were presumed dead): stop touching it
                self._write()
            except _LostLock:
                return
            except OSError:
                pass

    def release(self) -> None:
        _HELD.discard(self.token)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            if self.s3 is not None:
                if self.etag:
                    self.s3.delete(self.etag)  # fails harmlessly if someone took it over
            else:
                self._remove(self.token)
        except OSError:
            pass

    def __enter__(self) -> "DatabaseLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
