"""Decode audio to mono float32 at one sample rate, as a stream of blocks.

:func:`iter_pcm` yields PCM blocks as the file is read, so memory does not grow with the
file; :class:`PcmBuffer` keeps only the samples a segment still needs. Any container and
codec PyAV reads (wav, flac, mp3, aac/m4a, ogg/vorbis, opus), any rate and channel count.
"""

from __future__ import annotations

from typing import Iterator

import av
import numpy as np

from medialake.errors import DecodeError
from medialake.operators.sources import Deadline

MAX_BAD_PACKETS = 50


def audio_chain(container: av.container.InputContainer, deadline: Deadline | None = None) -> list:
    """The audio streams to decode one after the other: the first one, plus, in MPEG
    transport streams, those that take over when it stops (a broadcast recording whose
    audio moves to another PID halfway). Tracks that play at the same time (languages) are
    alternatives, not a chain: only the first of those is used.
    """
    streams = list(container.streams.audio)
    if len(streams) < 2 or container.format.name.split(",")[0] != "mpegts":
        return streams[:1]
    span: dict[int, list[float]] = {}
    for pkt in container.demux(*streams):  # demux only: packet times, nothing decoded
        if deadline:
            deadline.check()
        if pkt.pts is None or pkt.stream is None:
            continue
        t0 = float(pkt.pts * pkt.time_base)
        t1 = t0 + float((pkt.duration or 0) * pkt.time_base)
        lo_hi = span.setdefault(pkt.stream.index, [t0, t1])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], t0), max(lo_hi[1], t1)
    container.seek(0)
    by_start = sorted((lo, hi, i) for i, (lo, hi) in span.items())
    if not by_start:
        return streams[:1]
    chain = [by_start[0]]
    for lo, hi, i in by_start[1:]:
        if lo >= chain[-1][1] - 0.25:  # starts where the previous one stops (a frame of overlap)
            chain.append((lo, hi, i))
    index = {s.index: s for s in streams}
    return [index[i] for _, _, i in chain]


def iter_pcm(container: av.container.InputContainer, sample_rate: int = 16000, stream=None,
             deadline: Deadline | None = None) -> Iterator[np.ndarray]:
    """Yield the audio of ``stream`` (default: :func:`audio_chain`, usually the first audio
    stream) as mono float32 blocks.

    Damaged packets are skipped (up to ``MAX_BAD_PACKETS``), so a file corrupt in the
    middle still yields the rest of its audio.
    """
    if not container.streams.audio:
        raise DecodeError("no audio stream")
    chain = [stream] if stream is not None else audio_chain(container, deadline)
    for s in chain:
        s.thread_type = "AUTO"
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    current = chain[0].index
    bad = 0
    for packet in container.demux(*chain):
        if deadline:
            deadline.check()
        if packet.stream.index != current:
            if [s.index for s in chain].index(packet.stream.index) < [s.index for s in chain].index(current):
                continue  # the tail of a stream another one already took over from
            yield from _drain(resampler)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            current = packet.stream.index
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad += 1
            if bad > MAX_BAD_PACKETS:
                raise DecodeError(f"more than {MAX_BAD_PACKETS} damaged audio packets")
            continue
        for frame in frames:
            frame.pts = None  # let the resampler follow sample counts, not broken timestamps
            for out in resampler.resample(frame):
                yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    yield from _drain(resampler)


def _drain(resampler) -> Iterator[np.ndarray]:
    for out in resampler.resample(None):
        yield out.to_ndarray().reshape(-1).astype(np.float32, copy=False)


def decode_audio(container: av.container.InputContainer, sample_rate: int = 16000) -> np.ndarray:
    """The whole first audio stream as one array (short files only; see :func:`iter_pcm`)."""
    chunks = list(iter_pcm(container, sample_rate))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


class PcmBuffer:
    """A sliding window over a PCM stream, addressed in seconds from the stream start."""

    def __init__(self, sample_rate: int):
        self.sr = sample_rate
        self.start = 0  # absolute index of the first kept sample
        self._chunks: list[np.ndarray] = []
        self._n = 0

    @property
    def end_s(self) -> float:
        """Seconds of audio seen so far (kept or dropped)."""
        return (self.start + self._n) / self.sr

    def append(self, pcm: np.ndarray) -> None:
        if pcm.size:
            self._chunks.append(pcm)
            self._n += pcm.size

    def _joined(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, dtype=np.float32)

    def take(self, start_s: float, end_s: float) -> np.ndarray:
        """Samples between two times (clipped to what is kept)."""
        data = self._joined()
        a = max(0, int(round(start_s * self.sr)) - self.start)
        b = max(a, int(round(end_s * self.sr)) - self.start)
        return data[a:b].copy()

    def drop_before(self, t_s: float) -> None:
        """Forget samples before ``t_s``: they will not be asked for again (``inf``: all)."""
        if t_s == float("inf"):  # no segment is left to need any (shots planned to the end)
            self.start += self._n
            self._chunks, self._n = [], 0
            return
        cut = int(round(t_s * self.sr)) - self.start
        if cut <= 0:
            return
        data = self._joined()
        cut = min(cut, data.size)
        self._chunks = [data[cut:]] if cut < data.size else []
        self.start += cut
        self._n -= cut

    @property
    def kept(self) -> int:
        return self._n


def slice_pcm(pcm: np.ndarray, start_s: float, end_s: float, sample_rate: int) -> np.ndarray:
    return pcm[int(start_s * sample_rate) : int(end_s * sample_rate)]
