"""Where a path or URI points: a local file, or an object store.

Sources, databases and asset uris are plain local paths, ``file://`` URIs, or
object-store URIs (``s3://``, ``gs://``). Every test of which is which goes through here.
"""

from __future__ import annotations

import os


def is_uri(text: str) -> bool:
    """True for any URI, ``file://`` included (``/data/a.mp4`` is a path, not a URI)."""
    return "://" in text


def is_remote(uri: str) -> bool:
    """True for URIs with a scheme other than ``file://`` (``s3://bucket/key``)."""
    return is_uri(uri) and not uri.startswith("file://")


def local_path(uri: str | None) -> str | None:
    """The filesystem path of a local ``uri`` (``file://`` stripped), None for object-store URIs."""
    if not uri:
        return None
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return None if is_uri(uri) else uri


def absolute(path: str) -> str:
    """A local path made absolute (``~`` expanded); URIs are returned as they are."""
    return path if is_uri(path) else os.path.abspath(os.path.expanduser(path))
