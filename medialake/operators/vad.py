"""Speech segments from the Silero VAD bundled with faster-whisper, over a PCM stream.

:class:`StreamingVad` takes 16 kHz mono blocks as they are decoded and returns speech
segments ``(start_s, end_s)`` as soon as they are closed, so memory stays bounded by the
longest segment. Gaps shorter than ``merge_gap_s`` are bridged, segments are capped at
``max_segment_s`` and padded by ``pad_s``; blips shorter than ``min_speech_s`` are dropped.
"""

from __future__ import annotations

import functools

import numpy as np

FRAME = 512  # samples per Silero decision at 16 kHz (32 ms)
BLOCK = FRAME * 300  # about 10 s of audio per model call


@functools.lru_cache(maxsize=1)
def silero():
    """The Silero VAD ONNX model that ships inside faster-whisper (loaded once per process)."""
    from faster_whisper.vad import get_vad_model

    return get_vad_model()


class StreamingVad:
    def __init__(self, sample_rate: int = 16000, threshold: float = 0.5, merge_gap_s: float = 0.5,
                 max_segment_s: float = 30.0, min_speech_s: float = 0.25, pad_s: float = 0.2):
        if sample_rate != 16000:
            raise ValueError("the Silero VAD runs at 16 kHz; set decode.sample_rate to 16000")
        self.sr = sample_rate
        self.threshold, self.neg = threshold, max(threshold - 0.15, 0.01)
        self.merge_gap = merge_gap_s
        self.max_len = max_segment_s
        self.min_speech = min_speech_s
        self.pad = pad_s
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_done = 0
        self._start: float | None = None   # open segment start
        self._last_speech: float | None = None  # end of the last speech frame in it
        self.speech_frames = 0

    def _close(self, end: float, total: float | None) -> list[tuple[float, float]]:
        start, self._start, self._last_speech = self._start, None, None
        if start is None or end - start < self.min_speech:
            return []
        a = max(0.0, start - self.pad)
        b = end + self.pad if total is None else min(total, end + self.pad)
        return [(round(a, 3), round(b, 3))]

    def _step(self, probs: np.ndarray) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in probs:
            t0 = self._frames_done * FRAME / self.sr
            t1 = t0 + FRAME / self.sr
            self._frames_done += 1
            if p >= self.threshold:
                self.speech_frames += 1
                if self._start is None:
                    self._start = t0
                self._last_speech = t1
                if t1 - self._start >= max(FRAME / self.sr, self.max_len - 2 * self.pad):
                    out += self._close(t1, None)
            elif self._start is not None and p < self.neg and t1 - self._last_speech > self.merge_gap:
                out += self._close(self._last_speech, None)
        return out

    def feed(self, pcm: np.ndarray) -> list[tuple[float, float]]:
        """Add samples; return the speech segments closed by them."""
        self._pending = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        n = (self._pending.size // BLOCK) * BLOCK
        if not n:
            return []
        block, self._pending = self._pending[:n], self._pending[n:]
        return self._step(np.asarray(silero()(block)).reshape(-1))

    def finish(self) -> list[tuple[float, float]]:
        """Flush the tail; return the last segments."""
        out: list[tuple[float, float]] = []
        if self._pending.size:
            tail = np.pad(self._pending, (0, (-self._pending.size) % FRAME))
            out = self._step(np.asarray(silero()(tail)).reshape(-1))
            self._pending = np.zeros(0, dtype=np.float32)
        total = self._frames_done * FRAME / self.sr
        if self._start is not None:
            out += self._close(self._last_speech, total)
        return out

    @property
    def processed_s(self) -> float:
        """Seconds of audio the model has decided on so far."""
        return self._frames_done * FRAME / self.sr

    @property
    def open_start(self) -> float | None:
        """Start of the segment still open (audio from here on must be kept)."""
        return self._start
