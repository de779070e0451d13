"""Which file the media route may serve, and what an uploaded query file is.

The media route never takes a path from the request: it takes an asset id, looks up the
asset's ``uri`` in the ``assets`` table, and serves it only if it is a local file that
lies, after resolving symlinks, inside a source folder that was ingested (the ``source``
of a row in ``runs``, or a root given to :func:`medialake.jobs.serve.create_app`).
Anything else (object-store URIs, ``..`` in a stored path, a symlink out of the
source, a file that is gone) is treated as not found.
"""

from __future__ import annotations

import mimetypes
import os
import re

from medialake.store import Store
from medialake.uris import local_path

_ID = re.compile(r"[0-9a-f]{1,64}")

#: Types the standard ``mimetypes`` table lacks or gets wrong for browsers.
_MIME = {".oga": "audio/ogg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".ogv": "video/ogg",
         ".mkv": "video/x-matroska", ".m4a": "audio/mp4", ".m4v": "video/mp4", ".flac": "audio/flac",
         ".webm": "video/webm", ".webp": "image/webp", ".ts": "video/mp2t", ".mp3": "audio/mpeg",
         ".wav": "audio/wav", ".aac": "audio/aac", ".wma": "audio/x-ms-wma"}


def valid_id(value: str) -> bool:
    """True for the lowercase hex ids medialake gives assets and segments."""
    return bool(_ID.fullmatch(value or ""))


def mime_type(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return _MIME.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def source_roots(store: Store, uri: str, extra: list[str], cwd: str) -> list[str]:
    """Candidate source roots for ``uri``: the given ``extra`` roots and every ingested source.

    A relative source (``medialake ingest samples``) is tried both against ``cwd`` and as
    the part of ``uri`` that ends with that relative path.
    """
    roots = [os.path.abspath(r) for r in extra]
    try:
        sources = store.table("runs").search().select(["source"]).limit(None).to_arrow().column("source").to_pylist()
    except Exception:  # no runs table (a hand-built database): only the explicit roots count
        sources = []
    for src in {s for s in sources if s}:
        p = local_path(src)
        if p is None or (p != src and not os.path.isabs(p)):  # an object store, or a relative file:// URI
            continue
        p = os.path.expanduser(p)
        if os.path.isabs(p):
            roots.append(os.path.normpath(p))
            continue
        rel = os.path.normpath(p)
        roots.append(os.path.normpath(os.path.join(cwd, rel)))
        if not rel.startswith(".."):
            marker = os.sep + rel
            i = uri.find(marker + os.sep)
            if i >= 0:
                roots.append(uri[: i + len(marker)])
            elif uri.endswith(marker):
                roots.append(uri)
    return roots


def resolve_media(store: Store, asset_id: str, extra_roots: list[str], cwd: str) -> str | None:
    """The real path of asset ``asset_id``'s source file if it may be served, else None."""
    from medialake.store import sql_str

    if not valid_id(asset_id):
        return None
    rows = store.assets(["uri"], where=f"asset_id = {sql_str(asset_id)}").to_pylist()
    if not rows:
        return None
    path = local_path(rows[0]["uri"])
    if path is None or not os.path.isabs(path) or os.path.normpath(path) != path or "\x00" in path:
        return None
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        return None
    for root in source_roots(store, path, extra_roots, cwd):
        if _inside(path, root) and _inside(real, os.path.realpath(root)):
            return real
    return None


class UploadTooLarge(ValueError):
    """An uploaded query image with more pixels than the server decodes (HTTP 413)."""


def sniff_upload(path: str, max_pixels: int = 40_000_000) -> str | None:
    """``"image"`` or ``"audio"`` for a decodable query file, else None.

    Images are checked with Pillow from their header: more than ``max_pixels`` pixels
    (a decompression bomb: a small PNG or GIF that unpacks to gigapixels) raises
    :class:`UploadTooLarge` before anything is decoded; a file Pillow takes for an image
    is never handed to PyAV. Audio is checked with PyAV: a file with an audio stream and
    no video stream, whose first frame decodes.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise UploadTooLarge(f"the image is {im.width} x {im.height} pixels; a query image may have "
                                     f"at most {max_pixels:,} pixels: send a smaller copy")
            try:
                im.verify()
            except Exception:  # an image Pillow knows, but broken: not audio either
                return None
            return "image"
    except Image.DecompressionBombError as e:  # Pillow's own guard (twice its MAX_IMAGE_PIXELS)
        raise UploadTooLarge(f"the image is too large to decode ({e}); send a smaller copy") from e
    except UploadTooLarge:
        raise
    except Exception:  # not an image Pillow knows: try audio
        pass
    try:
        import av

        with av.open(path, mode="r", timeout=5.0) as c:
            if c.streams.audio and not c.streams.video:
                for _ in c.decode(audio=0):
                    return "audio"
    except Exception:  # PyAV raises many types on garbage; any of them means "not audio"
        return None
    return None


def bounded_audio(path: str, out_dir: str, max_s: float) -> str:
    """``path`` itself if its sound lasts at most ``max_s`` seconds, else a WAV (mono, its
    own rate up to 48 kHz) of its first ``max_s`` seconds in ``out_dir``: a query sound is
    decoded and transcribed whole, and a small file of compressed silence can last days."""
    import wave

    import av
    import numpy as np

    with av.open(path, mode="r", timeout=5.0) as c:
        stream = c.streams.audio[0]
        rate = min(int(stream.rate or 48000), 48000)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        room, parts = int(max_s * rate), []
        for frame in c.decode(stream):
            for out in resampler.resample(frame):
                pcm = out.to_ndarray().reshape(-1)
                parts.append(pcm[:room])
                room -= min(room, pcm.size)
            if room == 0:
                break
        else:
            return path  # it ended within max_s
    trimmed = os.path.join(out_dir, "query-trimmed.wav")
    with wave.open(trimmed, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(np.concatenate(parts).astype(np.int16).tobytes())
    return trimmed
