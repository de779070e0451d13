"""Open media with PyAV (local paths and object-store URIs) and read container metadata."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import av
import pyarrow.fs as pafs

from medialake.errors import DecodeError


@contextlib.contextmanager
def open_container(uri: str) -> Iterator[av.container.InputContainer]:
    """Open ``uri`` for reading with PyAV; remote URIs are streamed through ``pyarrow.fs``."""
    f = None
    try:
        if "://" in uri and not uri.startswith("file://"):
            fs, path = pafs.FileSystem.from_uri(uri)
            f = fs.open_input_file(path)
            container = av.open(f, mode="r")
        else:
            container = av.open(uri.removeprefix("file://"), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as e:
        if f is not None:
            f.close()
        raise DecodeError(f"cannot open {uri}: {e}. Is it a complete, supported media file?") from e
    try:
        yield container
    finally:
        container.close()
        if f is not None:
            f.close()


@dataclass(frozen=True)
class Probe:
    duration_s: float | None
    width: int | None
    height: int | None
    codecs: str
    has_video: bool
    has_audio: bool


def probe(container: av.container.InputContainer) -> Probe:
    """Read duration, picture size and codecs from an open container."""
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    duration = None
    if container.duration is not None and container.duration > 0:
        duration = container.duration / av.time_base
    else:
        for s in (video, audio):
            if s is not None and s.duration and s.time_base:
                duration = float(s.duration * s.time_base)
                break
    codecs = ",".join(f"{s.type}:{s.codec_context.name}" for s in container.streams if s.type in ("video", "audio"))
    return Probe(
        duration_s=duration,
        width=video.codec_context.width if video is not None else None,
        height=video.codec_context.height if video is not None else None,
        codecs=codecs,
        has_video=video is not None,
        has_audio=audio is not None,
    )
