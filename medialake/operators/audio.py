"""Decode the audio track of any PyAV-readable file to mono float32 at one sample rate."""

from __future__ import annotations

import av
import numpy as np

from medialake.errors import DecodeError


def decode_audio(container: av.container.InputContainer, sample_rate: int = 16000) -> np.ndarray:
    """Return the first audio stream of ``container`` as mono float32 PCM at ``sample_rate``.

    Raises :class:`DecodeError` if there is no audio stream.
    """
    if not container.streams.audio:
        raise DecodeError("no audio stream")
    stream = container.streams.audio[0]
    stream.thread_type = "AUTO"
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def slice_pcm(pcm: np.ndarray, start_s: float, end_s: float, sample_rate: int) -> np.ndarray:
    return pcm[int(start_s * sample_rate) : int(end_s * sample_rate)]
