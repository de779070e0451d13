"""Sample video frames sparsely: never decode every frame to keep one a second.

:class:`FrameSampler` returns the frames at given times, in increasing order. Between two
wanted times it reads packets without decoding them (demux-and-skip): when a keyframe lies
between the current position and the next wanted time, everything before that keyframe is
dropped undecoded; far-away times are reached by seeking through the container's keyframe
index instead. While catching up to a wanted time, frames no other frame depends on
(non-reference frames) are skipped by the decoder. ``decoded`` counts the frames actually
decoded, which is how the tests prove the sampling is sparse.
"""

from __future__ import annotations

import io
from typing import Iterator

import av
import numpy as np
from PIL import Image

from medialake.operators.sources import Deadline


def upright(img: Image.Image, rotation: int) -> Image.Image:
    """Apply a display rotation (degrees counter-clockwise, as PyAV reports it)."""
    rotation = int(round(rotation or 0)) % 360
    return img.rotate(rotation, expand=True) if rotation else img


def fit_size(width: int, height: int, short_side: int, rotation: int = 0) -> tuple[int, int]:
    """Size that makes the shorter side ``short_side`` (never upscaling), even numbers."""
    scale = min(1.0, short_side / max(1, min(width, height)))
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def to_jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


class FrameSampler:
    """Decode the frames shown at wanted times of one video stream, sparsely.

    >>> with open_container("clip.mp4") as c:              # doctest: +SKIP
    ...     s = FrameSampler(c)
    ...     frames = [img for t, img in s.images([0.5, 1.5, 2.5], short_side=224)]
    """

    def __init__(self, container: av.container.InputContainer, stream=None, deadline: Deadline | None = None,
                 seek_gap_s: float = 4.0, threads: str = "SLICE"):
        self.container = container
        self.stream = stream if stream is not None else container.streams.video[0]
        self.stream.thread_type = threads
        self.cc = self.stream.codec_context
        self.tb = float(self.stream.time_base or 0) or 1 / av.time_base
        self.offset = float(self.stream.start_time * self.stream.time_base) if self.stream.start_time is not None else 0.0
        self.deadline = deadline
        self.seek_gap_s = seek_gap_s
        self.decoded = 0      # frames decoded so far (skipped ones are not counted)
        self.seeks = 0
        self._packets: Iterator | None = None
        self._pending: list[av.Packet] = []   # demuxed, not yet decoded
        self._last: av.VideoFrame | None = None  # last decoded frame
        self._ready: list[av.VideoFrame] = []  # decoded frames not yet handed out
        self._eof = False

    # -- packets -----------------------------------------------------------------
    def _next_packet(self) -> av.Packet | None:
        if self._pending:
            return self._pending.pop(0)
        if self._packets is None:
            self._packets = self.container.demux(self.stream)
        for pkt in self._packets:
            if self.deadline:
                self.deadline.check()
            if pkt.size:
                return pkt
        return None

    def _pkt_time(self, pkt: av.Packet) -> float | None:
        ts = pkt.pts if pkt.pts is not None else pkt.dts
        return None if ts is None else ts * self.tb - self.offset

    def _seek(self, t: float) -> None:
        target = int((t + self.offset) / self.tb)
        try:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            self.container.seek(0, stream=self.stream)
        self.seeks += 1
        self._packets = None
        self._pending = []
        self._ready = []
        self._last = None
        self._eof = False

    def _skip_to_keyframe(self, t: float) -> None:
        """Demux up to ``t``; if a keyframe at or before ``t`` shows up, drop what precedes it."""
        buf: list[av.Packet] = []
        while True:
            pkt = self._next_packet()
            if pkt is None:
                break
            buf.append(pkt)
            pt = self._pkt_time(pkt)
            if pt is not None and pt >= t:
                break
        keys = [i for i, p in enumerate(buf) if p.is_keyframe and (self._pkt_time(p) or 0) <= t]
        if keys and keys[-1] > 0:
            buf = buf[keys[-1]:]
            self._ready = []
        self._pending = buf + self._pending

    def _decode(self, pkt: av.Packet | None, skip_nonref: bool) -> None:
        self.cc.skip_frame = "NONREF" if skip_nonref else "DEFAULT"
        try:
            frames = self.stream.decode(pkt)
        except av.error.InvalidDataError:
            frames = []  # a damaged packet: keep going, the next keyframe repairs the picture
        for f in frames:
            self.decoded += 1
            self._ready.append(f)

    def frame_at(self, t: float) -> av.VideoFrame | None:
        """The first frame shown at or after ``t`` (or the last frame of the stream)."""
        eps = 1e-3
        if self._last is not None and (self._last.time or 0) - self.offset >= t - eps:
            return self._last  # wanted times closer together than frames
        last_t = None if self._last is None else (self._last.time or 0) - self.offset
        if last_t is None and self._packets is None and t > self.seek_gap_s:
            self._seek(t)
        elif last_t is not None and (t < last_t or t - last_t > self.seek_gap_s):
            self._seek(t)
        while self._ready and self._ready[0].time is not None and self._ready[0].time - self.offset < t - eps:
            self._last = self._ready.pop(0)
        if not self._ready:
            self._skip_to_keyframe(t)
        while True:
            while self._ready:
                f = self._ready.pop(0)
                self._last = f
                if f.time is None or f.time - self.offset >= t - eps:
                    return f
            if self._eof:
                return self._last
            pkt = self._next_packet()
            if pkt is None:
                self._decode(None, False)  # flush
                self._eof = True
                continue
            pt = self._pkt_time(pkt)
            self._decode(pkt, skip_nonref=pt is not None and pt < t - 0.25)

    def images(self, times: list[float], short_side: int | None = None) -> list[tuple[float, Image.Image]]:
        """``(time, upright PIL image)`` for each wanted time (times are sorted first)."""
        out = []
        for t in sorted(times):
            f = self.frame_at(t)
            if f is None:
                continue
            rot = getattr(f, "rotation", 0) or 0
            if short_side:
                w, h = fit_size(f.width, f.height, short_side)
                img = f.to_image(width=w, height=h) if (w, h) != (f.width, f.height) else f.to_image()
            else:
                img = f.to_image()
            out.append((round((f.time or 0) - self.offset, 4) if f.time is not None else t, upright(img, rot)))
        return out


def frame_at(container: av.container.InputContainer, t: float) -> Image.Image | None:
    """The upright frame shown at ``t`` seconds (one seek, at most one GOP decoded), or None."""
    got = FrameSampler(container).images([t])
    return got[0][1] if got else None


def video_duration(container: av.container.InputContainer, stream, deadline: Deadline | None = None) -> float | None:
    """Duration from the packet timestamps, for containers that do not declare one (demux only)."""
    tb = float(stream.time_base or 0)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    end = None
    for pkt in container.demux(stream):
        if deadline:
            deadline.check()
        if pkt.pts is not None:
            e = (pkt.pts + (pkt.duration or 0)) * tb - start
            end = e if end is None else max(end, e)
    container.seek(0, stream=stream) if end is not None else None
    return end


def gray_small(img: Image.Image, size: int = 32) -> np.ndarray:
    return np.asarray(img.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
