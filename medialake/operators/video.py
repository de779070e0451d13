"""Sample video frames sparsely: never decode every frame to keep one a second.

:class:`FrameSampler` returns the frames at given times, in increasing order. Between two
wanted times it reads packets without decoding them (demux-and-skip): when a keyframe lies
between the current position and the next wanted time, everything before that keyframe is
dropped undecoded; far-away times are reached by seeking through the container's keyframe
index instead. While catching up to a wanted time, frames no other frame depends on
(non-reference frames) are skipped by the decoder. ``decoded`` counts the frames actually
decoded, which is how the tests prove the sampling is sparse.

With a ``tolerance_s`` above zero the sampler may hand out a frame up to that much earlier
than the wanted time when that saves decoding: in long-GOP streams whose P-frames never
refer to B-frames (x264's defaults, for one), every B-frame is then skipped, which is most
of the stream. Whether a stream qualifies is not assumed but checked on its first seconds:
they are decoded both ways and the I/P frames must come out bit-identical, with no gap
between them longer than the tolerance. Reported frame times are always the real ones.
"""

from __future__ import annotations

import hashlib
import io
from typing import Iterator

import av
import numpy as np
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter
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


def frame_jpeg(img: Image.Image, short_side: int, quality: int = 85) -> bytes:
    """A model-ready frame: ``img`` shrunk so its shorter side is ``short_side`` (never
    enlarged, see :func:`fit_size`) and encoded as JPEG."""
    w, h = fit_size(img.width, img.height, short_side)
    return to_jpeg(img.resize((w, h)) if (w, h) != img.size else img, quality)


def ocr_jpeg(img: Image.Image, long_side: int, quality: int = 90) -> bytes:
    """A frame for OCR: ``img`` shrunk so its longer side is ``long_side`` (never enlarged),
    as JPEG at a quality that keeps the edges of small letters."""
    scale = min(1.0, long_side / max(1, img.width, img.height))
    size = (max(2, round(img.width * scale)), max(2, round(img.height * scale)))
    return to_jpeg(img.resize(size, Image.BILINEAR) if size != img.size else img, quality)


class FrameSampler:
    """Decode the frames shown at wanted times of one video stream, sparsely.

    >>> with open_container("clip.mp4") as c:              # doctest: +SKIP
    ...     s = FrameSampler(c)
    ...     frames = [img for t, img in s.images([0.5, 1.5, 2.5], short_side=224)]
    """

    def __init__(self, container: av.container.InputContainer, stream=None, deadline: Deadline | None = None,
                 seek_gap_s: float = 4.0, threads: str = "SLICE", tolerance_s: float = 0.0,
                 probe_s: float = 2.0):
        self.container = container
        self.stream = stream if stream is not None else container.streams.video[0]
        self.stream.thread_type = threads
        self.cc = self.stream.codec_context
        self.tb = float(self.stream.time_base or 0) or 1 / av.time_base
        rate = self.stream.average_rate or self.stream.guessed_rate
        # frames closer than this to a wanted time are always decoded (one may be on screen)
        self.near_s = 2.5 / float(rate) if rate else 0.1
        self.offset = float(self.stream.start_time * self.stream.time_base) if self.stream.start_time is not None else 0.0
        self.deadline = deadline
        self.seek_gap_s = seek_gap_s
        self.decoded = 0      # frames decoded so far (skipped ones are not counted)
        self.seeks = 0
        self.probe_decoded = 0  # of which while checking whether B-frames can be skipped
        self._packets: Iterator | None = None
        self._pending: list[av.Packet] = []   # demuxed, not yet decoded
        self._last: av.VideoFrame | None = None  # last decoded frame
        self._ready: list[av.VideoFrame] = []  # decoded frames not yet handed out
        self._eof = False
        self._fed_any = False  # packets fed to the decoder since the last flush
        self._reformatter = VideoReformatter()  # keeps its scaler between frames
        self.tolerance_s = tolerance_s
        self.probe_s = probe_s
        # skip every B-frame? None: not known yet (probed on first use); False: never
        self.skip_b: bool | None = None if tolerance_s > 0 else False

    # -- packets -----------------------------------------------------------------
    def _demux_more(self) -> bool:
        """Buffer one more packet; False at the end of the stream."""
        if self._packets is None:
            self._packets = self.container.demux(self.stream)
        for pkt in self._packets:
            if self.deadline:
                self.deadline.check()
            if pkt.size:
                self._pending.append(pkt)
                return True
        return False

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
        self.cc.flush_buffers()
        self._fed_any = False
        self._packets = None
        self._pending = []
        self._ready = []
        self._last = None
        self._eof = False

    def _ftime(self, f: av.VideoFrame) -> float:
        return (f.time if f.time is not None else 0.0) - self.offset

    def _skip_to_keyframe(self, t: float) -> None:
        """Demux up to ``t``; if a keyframe at or before ``t`` shows up, drop what precedes it."""
        self._demux_until(t)
        buf = self._pending
        keys = [i for i, p in enumerate(buf) if p.is_keyframe and (self._pkt_time(p) or 0) <= t + 1e-3]
        if keys and (keys[-1] > 0 or self._fed_any):
            self._pending = buf[keys[-1]:]
            self.cc.flush_buffers()  # the frames before the keyframe are not wanted
            self._ready = []
            self._last = None
            self._fed_any = False

    def _demux_until(self, t: float) -> None:
        """Read packets (without decoding) until one at or after ``t`` is buffered."""
        if any((self._pkt_time(p) or -1) >= t for p in self._pending):
            return
        if self._packets is None:
            self._packets = self.container.demux(self.stream)
        for pkt in self._packets:
            if self.deadline:
                self.deadline.check()
            if not pkt.size:
                continue
            self._pending.append(pkt)
            pt = self._pkt_time(pkt)
            if pt is not None and pt >= t:
                return

    def _keyframe_between(self, t: float, next_t: float) -> bool:
        self._demux_until(next_t)
        return any(p.is_keyframe and t < (self._pkt_time(p) or -1) <= next_t + 1e-3 for p in self._pending)

    def _worth_probing(self) -> bool:
        """The probe decodes about ``probe_s`` seconds twice: pay that only on longer videos."""
        if self.stream.duration is not None and self.stream.time_base:
            duration = float(self.stream.duration * self.stream.time_base)
        elif self.container.duration:
            duration = self.container.duration / av.time_base
        else:
            return True
        return duration >= 10 * self.probe_s

    def _probe_skip_b(self) -> bool:
        """Decode the buffered first ``probe_s`` seconds with and without B-frames; compare.

        Skipping B-frames is safe when the I/P frames decode bit-identically either way (no
        P-frame refers to a B-frame) and they lie at most ``tolerance_s`` apart. The first
        pass skips only non-reference frames, which never changes another frame. The packets
        stay buffered for the real pass; the frames decoded here count in ``decoded``.
        """
        self._demux_until(self.probe_s)
        pkts = [p for p in self._pending if self._pkt_time(p) is None or self._pkt_time(p) <= self.probe_s]
        if not pkts or not pkts[0].is_keyframe:
            return False

        def run(skip: str) -> tuple[dict, bool]:
            self.cc.flush_buffers()
            self.cc.skip_frame = skip
            seen, any_b = {}, False
            for pkt in [*pkts, None]:
                try:
                    frames = self.stream.decode(pkt)
                except av.error.FFmpegError:
                    frames = []
                for f in frames:
                    self.decoded += 1
                    self.probe_decoded += 1
                    if f.pict_type == PictureType.B:
                        any_b = True
                        continue
                    h = hashlib.blake2b(digest_size=16)
                    for plane in f.planes:
                        h.update(memoryview(plane))
                    seen[f.pts] = h.digest()
            return seen, any_b

        try:
            full, any_b = run("NONREF")
            if not any_b:
                return False
            lean, _ = run("BIDIR")
        finally:
            self.cc.flush_buffers()
            self.cc.skip_frame = "DEFAULT"
            self._fed_any = False
        if not full or lean != full:
            return False
        times = sorted(p * self.tb - self.offset for p in full if p is not None)
        return all(b - a <= self.tolerance_s + 1e-6 for a, b in zip(times, times[1:]))

    def _decode(self, pkt: av.Packet | None, skip_nonref: bool) -> None:
        if self.skip_b:
            self.cc.skip_frame = "BIDIR" if pkt is not None else "DEFAULT"
        else:
            self.cc.skip_frame = "NONREF" if skip_nonref else "DEFAULT"
        try:
            frames = self.stream.decode(pkt)
        except av.error.InvalidDataError:
            frames = []  # a damaged packet: keep going, the next keyframe repairs the picture
        if pkt is not None:
            self._fed_any = True
        for f in frames:
            if f.time_base is None:  # frames drained at the end of the stream carry no time base
                f.time_base = self.stream.time_base
            self.decoded += 1
            self._ready.append(f)

    def _advance(self, t: float) -> av.VideoFrame | None:
        """Move decoded frames shown before ``t`` behind us; the frame shown at ``t`` if known."""
        eps = 1e-3
        self._ready.sort(key=self._ftime)
        while self._ready and self._ftime(self._ready[0]) <= t + eps:
            self._last = self._ready.pop(0)
        if self._ready:  # the next frame starts after t: the last one is on screen at t
            return self._last if self._last is not None else self._ready[0]
        return None

    def frame_at(self, t: float, next_t: float | None = None) -> av.VideoFrame | None:
        """The frame on screen at ``t`` seconds (the first one if ``t`` is before it).

        ``next_t``, the time wanted after this one, lets the sampler stop early when a
        keyframe lies between the two (nothing decoded now would be needed then).
        """
        eps = 1e-3
        if self.skip_b is None:
            self.skip_b = self._probe_skip_b() if self._packets is None and self._worth_probing() else False
        last_t = None if self._last is None else self._ftime(self._last)
        if last_t is None and not self._fed_any and self._packets is None and t > self.seek_gap_s:
            self._seek(t)
        elif last_t is not None and (t < last_t - eps or t - last_t > self.seek_gap_s):
            self._seek(t)
        got = self._advance(t)
        if got is not None:
            return got
        self._skip_to_keyframe(t)
        drain_ok = next_t is not None and self._keyframe_between(t, next_t)
        fed_past = False
        # packets shown at or before t still to feed (decode order is not display order)
        owed = sum(1 for p in self._pending if (self._pkt_time(p) or 0.0) <= t + eps) if drain_ok else 0
        while True:
            got = self._advance(t)
            if got is not None:
                return got
            if self._eof:
                return self._last
            if not self._pending and not self._demux_more():
                self._decode(None, False)  # end of stream: drain the decoder
                self._eof = True
                continue
            pt = self._pkt_time(self._pending[0])
            if drain_ok and fed_past and owed <= 0:
                # Every packet shown up to t is in; a keyframe comes before the next wanted
                # time, so drain now instead of decoding the rest of this GOP.
                self._decode(None, False)
                self.cc.flush_buffers()
                self._fed_any = False
                self._drop_to_keyframe()
                got = self._advance(t)
                return got if got is not None else self._last
            pkt = self._pending.pop(0)
            if (pt or 0.0) <= t + eps:
                owed -= 1
            self._decode(pkt, skip_nonref=pt is not None and pt < t - self.near_s)
            if pt is not None and pt > t + eps:
                fed_past = True

    def _drop_to_keyframe(self) -> None:
        while self._pending and not self._pending[0].is_keyframe:
            self._pending.pop(0)

    def images(self, times: list[float], short_side: int | None = None) -> list[tuple[float, Image.Image]]:
        """``(time, upright PIL image)`` for each wanted time (times are sorted first)."""
        out = []
        wanted = sorted(times)
        for i, t in enumerate(wanted):
            f = self.frame_at(t, wanted[i + 1] if i + 1 < len(wanted) else None)
            if f is None:
                continue
            rot = getattr(f, "rotation", 0) or 0
            w, h = fit_size(f.width, f.height, short_side) if short_side else (f.width, f.height)
            img = self._reformatter.reformat(f, width=w, height=h, format="rgb24", interpolation="AREA").to_image()
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
    if end is not None:
        container.seek(0, stream=stream)
    return end


def gray_small(img: Image.Image, size: int = 32) -> np.ndarray:
    return np.asarray(img.convert("L").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0
