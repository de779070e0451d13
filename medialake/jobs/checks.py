"""Checks a job makes before any work, so a wrong input answers in one line with the fix.

Each raises :class:`~medialake.errors.InputError` naming the input and what to do;
:func:`explain_os_error` turns an ``OSError`` that escapes during the work (a disk that
fills, a permission lost) into the same kind of line.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile

from medialake.errors import InputError, MedialakeError
from medialake.uris import is_uri


def writable_database(db: str) -> None:
    """``db`` can hold a database: a directory (or a path to create) that this process may
    write. Object-store URIs are left to the store."""
    db = str(db)
    if is_uri(db):
        return
    path = os.path.abspath(os.path.expanduser(db))
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"database path {db!r} is a file, not a database directory; "
                         f"pass a directory (new or made by medialake), e.g. --db {db}.lance")
    probe_dir = path
    while not os.path.exists(probe_dir):  # the nearest existing parent is where it gets created
        probe_dir = os.path.dirname(probe_dir)
    if not os.path.isdir(probe_dir):
        raise InputError(f"database path {db!r} lies under a file ({probe_dir}); pass a path under a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".medialake-write-test-", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        what = "database directory" if probe_dir == path else "directory"
        raise InputError(f"{what} {probe_dir!r} is not writable ({e.strerror}); make it writable "
                         f"(chmod u+w, or a read-write mount) or pass another --db") from e


def existing_database(db: str) -> None:
    """``db`` is a medialake database (an ``assets`` table is in it)."""
    db = str(db)
    if is_uri(db):
        return
    path = os.path.abspath(os.path.expanduser(db))
    if not os.path.isdir(os.path.join(path, "assets.lance")):
        what = "does not exist" if not os.path.exists(path) else "is not a medialake database (no assets table)"
        raise InputError(f"{db!r} {what}; pass the --db of an ingest, or run `medialake ingest SOURCE --db {db}` first")


def free_port(host: str, port: int) -> None:
    """Nothing listens on ``host:port`` yet (``medialake serve``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} on {host} is already in use; pass another --port "
                                 f"(e.g. --port {port + 1}) or stop what listens there") from e
            raise InputError(f"cannot listen on {host}:{port} ({e.strerror}); pass another --host/--port") from e


_NO_SPACE = ("No space left on device", "os error 28", "ENOSPC", "Disk quota exceeded")
# as Lance (Rust) words them: errno is lost on the way to Python, the text keeps it
_READ_ONLY = ("Read-only file system", "os error 30")
_DENIED = ("Permission denied", "os error 13")


def explain_os_error(e: BaseException, db: str | None = None) -> str | None:
    """One line for an error of the storage met during the work, or None if it is not one."""
    text = str(e)
    where = f" writing to {db!r}" if db else ""
    if getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _NO_SPACE):
        return (f"the disk is full{where}; free space on that device or pass a --db elsewhere, then run "
                f"the same command again (finished files are kept, the rest resumes)")
    code = getattr(e, "errno", None)
    if code == errno.EROFS or any(s in text for s in _READ_ONLY):
        of = f" holding {db!r}" if db else ""
        return (f"the file system{of} is read-only (remounted read-only during the run?); make it writable "
                f"again (remount it read-write) and run the same command again "
                f"(finished files are kept, the rest resumes)")
    if code in (errno.EACCES, errno.EPERM) or any(s in text for s in _DENIED):
        name = getattr(e, "filename", None) or db
        return (f"permission denied on {name!r} ({getattr(e, 'strerror', None) or 'Permission denied'}); make it "
                f"writable or pass another --db, then run the same command again")
    return None


#: Ray's errors for a node, worker or object store that went away under the run.
_RAY_LOST = ("RaySystemError", "NodeDiedError", "WorkerCrashedError", "ObjectLostError", "OwnerDiedError",
             "ActorDiedError", "ActorUnavailableError", "RayletDiedError", "GetTimeoutError", "RpcError")
_RAY_TEXT = ("raylet", "Raylet", "GCS", "gcs_server", "node died", "The node with node id")


def explain_ray_error(e: BaseException) -> str | None:
    """One line for Ray's own processes dying under a run (raylet, an agent, the GCS), or None."""
    names = {c.__name__ for c in type(e).__mro__}
    text = str(e)
    if "Timed out while starting actors" in text:  # DataContext.wait_for_min_actors_s (runtime.py)
        return ("a model pool's actors did not start in time (MEDIALAKE_WAIT_FOR_MIN_ACTORS_S, 1800 s by "
                "default): no node of the cluster offers the CPUs, GPUs or custom resources the pool asks for "
                "(`ray status` shows what each node has). Add such a node, or lower the role's num_cpus / "
                "num_gpus / resources in the config; files finished so far are kept")
    if names & set(_RAY_LOST) or (type(e).__module__.startswith("ray") and any(t in text for t in _RAY_TEXT)):
        first = (text.strip().splitlines() or [type(e).__name__])[0][:160]
        return (f"Ray stopped under the run ({type(e).__name__}: {first}); one of its processes (raylet, an agent) "
                f"died. Files finished so far are kept: run the same command again to do the rest")
    return None


def error_line(e: BaseException, db: str | None = None) -> str:
    """The one line ``medialake`` prints for an exception: medialake's own message, an
    explained storage or Ray error, or the exception's first line with a pointer to --verbose."""
    if isinstance(e, MedialakeError):
        return str(e)
    explained = explain_os_error(e, db) or explain_ray_error(e)
    if explained:
        return explained
    first = (str(e).strip().splitlines() or [""])[0][:300]
    return f"{type(e).__name__}: {first} (run again with --verbose for the details)"
