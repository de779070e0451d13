"""Open media for reading: local paths, ``file://`` and object-store URIs (``s3://``, ``gs://``).

Everything goes through :func:`open_input`, which yields either a local path (PyAV and PIL
read it natively) or a seekable ``pyarrow.fs`` input file that reads byte ranges on demand,
so a remote file is streamed, never copied whole into memory. Object-store settings come
from the usual environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...), or from query
parameters on the URI (``s3://bucket/key?endpoint_override=host:port&scheme=http``).
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import IO, Iterator

import pyarrow.fs as pafs

from medialake.errors import DecodeError, DecodeTimeout
from medialake.uris import is_remote, local_path


@functools.lru_cache(maxsize=16)
def _filesystem(root: str) -> pafs.FileSystem:
    fs, _ = pafs.FileSystem.from_uri(root)
    return fs


def filesystem_for(uri: str) -> tuple[pafs.FileSystem, str]:
    """The ``pyarrow.fs`` filesystem of a remote ``uri`` (cached per bucket) and the path in it."""
    scheme, rest = uri.split("://", 1)
    rest, _, query = rest.partition("?")
    bucket = rest.split("/", 1)[0]
    root = f"{scheme}://{bucket}" + (f"?{query}" if query else "")
    try:
        fs = _filesystem(root)
    except (OSError, ValueError) as e:
        raise DecodeError(f"cannot reach {uri}: {e}; check the URI, endpoint and credentials") from e
    return fs, rest


@contextlib.contextmanager
def open_input(uri: str) -> Iterator[str | IO[bytes]]:
    """Yield something PyAV and PIL can read: a local path, or a streaming remote file."""
    if not is_remote(uri):
        yield local_path(uri)
        return
    fs, path = filesystem_for(uri)
    try:
        f = fs.open_input_file(path)
    except (OSError, ValueError) as e:
        raise DecodeError(f"cannot open {uri}: {e}; check that the object exists and is readable") from e
    try:
        yield f
    finally:
        f.close()


class Deadline:
    """A per-file time limit (``decode.timeout_s``), checked between packets and frames."""

    def __init__(self, seconds: float | None, uri: str):
        self.seconds = seconds
        self.uri = uri
        self.t0 = time.monotonic()

    def remaining(self) -> float | None:
        return None if self.seconds is None else self.seconds - (time.monotonic() - self.t0)

    def check(self) -> None:
        if self.seconds is not None and time.monotonic() - self.t0 > self.seconds:
            raise decode_timeout(self.uri, self.seconds)


def decode_timeout(uri: str, seconds: float) -> DecodeTimeout:
    """The error of a file over ``decode.timeout_s`` (a deadline check, or a read FFmpeg cut short)."""
    return DecodeTimeout(
        f"decoding {uri} took longer than {seconds:g} s (decode.timeout_s); "
        f"the file may be damaged, or raise decode.timeout_s for very long media"
    )

