"""Open media with PyAV (local paths and object-store URIs) and read container metadata."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import av

from medialake.errors import DecodeError
from medialake.operators.sources import decode_timeout, open_input


@contextlib.contextmanager
def open_container(uri: str, timeout: float | None = None) -> Iterator[av.container.InputContainer]:
    """Open ``uri`` for reading with PyAV; remote URIs are streamed through ``pyarrow.fs``.

    ``timeout`` (seconds) bounds each blocking read inside FFmpeg, so a stalled source
    raises instead of hanging.
    """
    with open_input(uri) as src:
        try:
            container = av.open(src, mode="r", timeout=timeout)
        except av.error.ExitError as e:
            # FFmpeg's interrupt callback (the read timeout) cut the open short: the file took
            # too long to read, it is not necessarily broken (a loaded machine, a slow mount).
            if timeout is None:
                raise DecodeError(f"cannot open {uri}: {e}; run the same command again") from e
            raise decode_timeout(uri, timeout) from e
        except (av.error.FFmpegError, OSError, ValueError) as e:
            raise DecodeError(f"cannot open {uri}: {e}. Is it a complete, supported media file?") from e
        try:
            yield container
        finally:
            container.close()


@dataclass(frozen=True)
class Probe:
    duration_s: float | None
    width: int | None
    height: int | None
    codecs: str
    has_video: bool
    has_audio: bool
    rotation: int = 0
    audio_tracks: int = 0


def _is_picture(stream) -> bool:
    """A still picture muxed as a video stream (cover art) is not a video track."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic) if hasattr(av.stream, "Disposition") else False


def video_streams(container: av.container.InputContainer) -> list:
    return [s for s in container.streams.video if not _is_picture(s)]


def codec_name(stream) -> str:
    """The stream's codec name, or ``unknown`` when FFmpeg has no decoder for it."""
    return stream.codec_context.name if stream.codec_context is not None else "unknown"


def require_decoder(uri: str, container: av.container.InputContainer, stream) -> None:
    """Raise a :class:`DecodeError` that names the container and the fix when the FFmpeg
    inside PyAV has no decoder for ``stream`` (FFmpeg itself would refuse the file too)."""
    if stream is not None and stream.codec_context is None:
        raise DecodeError(
            f"{uri}: its {stream.type} stream #{stream.index} uses a codec that the FFmpeg inside PyAV "
            f"{av.__version__} cannot decode ({container.format.long_name} container); convert the file with "
            f"an FFmpeg that can, e.g. `ffmpeg -i FILE -c:v libx264 -c:a aac FILE.mp4`, and ingest that")


def probe(container: av.container.InputContainer) -> Probe:
    """Read duration, picture size, rotation and codecs from an open container."""
    vids = video_streams(container)
    video = vids[0] if vids else None
    audio = container.streams.audio[0] if container.streams.audio else None
    duration = None
    if container.duration is not None and container.duration > 0:
        duration = container.duration / av.time_base
    else:
        for s in (video, audio):
            if s is not None and s.duration and s.time_base:
                duration = float(s.duration * s.time_base)
                break
    codecs = ",".join(f"{s.type}:{codec_name(s)}" for s in container.streams if s.type in ("video", "audio"))
    width = video.codec_context.width if video is not None and video.codec_context is not None else None
    height = video.codec_context.height if video is not None and video.codec_context is not None else None
    return Probe(
        duration_s=duration,
        width=width or None,
        height=height or None,
        codecs=codecs,
        has_video=video is not None,
        has_audio=audio is not None,
        audio_tracks=len(container.streams.audio),
    )
