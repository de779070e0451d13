"""Sample keyframes from a video sparsely: seek near each wanted time, decode one frame."""

from __future__ import annotations

import av
from PIL import Image


def frame_at(container: av.container.InputContainer, t: float) -> Image.Image | None:
    """Return the first decodable frame at or after ``t`` seconds, or None.

    Seeks to the keyframe before ``t`` and decodes forward from there, so the cost is at
    most one GOP rather than the whole file.
    """
    stream = container.streams.video[0]
    tb = stream.time_base
    offset = int(t / tb) if tb else int(t * av.time_base)
    try:
        container.seek(offset, stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        container.seek(0, stream=stream)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.time is None or frame.time >= t - 1e-3:
            break
    return last.to_image() if last is not None else None
