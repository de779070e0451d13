"""List an archive through ``pyarrow.fs`` and classify each file by media type.

``scan("samples", extensions)`` returns one record per media file: uri, filesystem path,
size, mtime and media type. Local folders, ``file://`` and object-store URIs
(``s3://``, ``gs://``) all go through the same code.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow.fs as pafs

from medialake.errors import InputError
from medialake.uris import is_uri


@dataclass(frozen=True)
class FileRecord:
    uri: str
    path: str  # path within the filesystem that resolve_source returned
    size: int
    mtime: datetime | None
    media_type: str
    etag: str | None = None  # object stores that expose one; compared by the diff

    @property
    def asset_id(self) -> str:
        return asset_id_for(self.uri)


def asset_id_for(uri: str) -> str:
    """Stable id of the asset at ``uri``."""
    return hashlib.sha1(uri.encode()).hexdigest()[:20]


def resolve_source(source: str) -> tuple[pafs.FileSystem, str, str]:
    """Return ``(filesystem, path, uri_prefix)`` for a local path or a URI."""
    if is_uri(source):  # a file:// source keeps file:// asset uris
        try:
            fs, path = pafs.FileSystem.from_uri(source)
        except (ValueError, OSError) as e:
            raise InputError(f"cannot open source {source!r}: {e}; check the URI and credentials") from e
        scheme = source.split("://", 1)[0]
        prefix = "file://" if scheme == "file" else f"{scheme}://"
        return fs, path, prefix
    path = os.path.abspath(os.path.expanduser(source))
    if not os.path.exists(path):
        raise InputError(f"source {source!r} does not exist; pass a folder or file of media")
    return pafs.LocalFileSystem(), path, ""


def media_type_of(name: str, extensions: dict[str, list[str]]) -> str | None:
    ext = os.path.splitext(name)[1].lower()
    for media_type, exts in extensions.items():
        if ext in exts:
            return media_type
    return None


def _walk_local(root: str) -> list[pafs.FileInfo]:
    """Files under a local folder, following symlinked folders once each (loops are cut),
    skipping folders that cannot be read. Broken symlinks are listed (size 0) so that they
    end as failed assets with a reason rather than vanish."""
    seen: set[tuple[int, int]] = set()
    out: list[pafs.FileInfo] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=lambda e: None):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                fst = os.stat(full)
            except OSError:
                out.append(pafs.FileInfo(full, pafs.FileType.File, size=0))
                continue
            if not os.path.isfile(full):
                continue  # fifos, sockets, devices
            out.append(pafs.FileInfo(full, pafs.FileType.File, size=fst.st_size, mtime_ns=fst.st_mtime_ns))
    return out


def scan(source: str, extensions: dict[str, list[str]]) -> list[FileRecord]:
    """List the media files under ``source`` (a file or folder, local or remote).

    Files whose extension is not a known media type are left out; hidden files too.
    """
    fs, path, prefix = resolve_source(source)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"source {source!r} was not found; check the path or URI")
    if info.type == pafs.FileType.File:
        infos = [info]
    elif isinstance(fs, pafs.LocalFileSystem):
        infos = _walk_local(path)
    else:
        selector = pafs.FileSelector(path, recursive=True, allow_not_found=False)
        try:
            infos = fs.get_file_info(selector)
        except OSError as e:
            raise InputError(f"cannot list {source!r}: {e}") from e
    out: list[FileRecord] = []
    for fi in infos:
        if fi.type != pafs.FileType.File:
            continue
        if any(part.startswith(".") for part in fi.path[len(path):].split("/") if part):
            continue
        mt = media_type_of(fi.base_name, extensions)
        if mt is None:
            continue
        mtime = fi.mtime.astimezone(timezone.utc) if fi.mtime is not None else None
        out.append(FileRecord(uri=prefix + fi.path, path=fi.path, size=fi.size or 0, mtime=mtime, media_type=mt))
    out.sort(key=lambda r: r.uri)
    return out
