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


def iter_pcm(container: av.container.InputContainer, sample_rate: int = 16000, stream=None,
             deadline: Deadline | None = None) -> Iterator[np.ndarray]:
    """Yield the audio of ``stream`` (default: the first audio stream) as mono float32 blocks.

    Damaged packets are skipped (up to ``MAX_BAD_PACKETS``), so a file corrupt in the
    middle still yields the rest of its audio.
    """
    if not container.streams.audio:
        raise DecodeError("no audio stream")
    stream = stream if stream is not None else container.streams.audio[0]
    stream.thread_type = "AUTO"
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    bad = 0
    for packet in container.demux(stream):
        if deadline:
            deadline.check()
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
        """Forget samples before ``t_s``: they will not be asked for again."""
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
