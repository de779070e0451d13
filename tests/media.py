"""Small media made with PyAV for tests: video with an audio track, WAV, PNG, broken files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def tone(seconds: float, sr: int = 16000, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _encode_audio(container, stream, pcm: np.ndarray, sr: int) -> None:
    n = stream.codec_context.frame_size or 1024
    for i in range(0, len(pcm), n):
        chunk = pcm[i : i + n]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sr
        frame.pts = i
        for p in stream.encode(frame):
            container.mux(p)
    for p in stream.encode(None):
        container.mux(p)


def make_video(path: Path, seconds: float = 3.0, fps: int = 10, size=(64, 48), audio: bool = True,
               codec: str = "libx264", sr: int = 16000) -> Path:
    """A video whose frame i is a flat grey of level (i*8)%256, with a tone as audio."""
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=Fraction(fps, 1))
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        a = c.add_stream("aac", rate=sr, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            img = np.full((size[1], size[0], 3), (i * 8) % 256, dtype=np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        if a is not None:
            _encode_audio(c, a, tone(seconds, sr), sr)
    return path


def make_wav(path: Path, seconds: float = 2.0, sr: int = 44100, channels: int = 2) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=sr, layout="stereo" if channels == 2 else "mono")
        pcm = tone(seconds, sr)
        data = (np.tile(pcm, (channels, 1)) * 32767).astype(np.int16)
        n = 1024
        for i in range(0, data.shape[1], n):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data[:, i : i + n].T).reshape(1, -1), format="s16",
                layout="stereo" if channels == 2 else "mono")
            frame.sample_rate = sr
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def make_png(path: Path, size=(40, 30), color=(200, 30, 30)) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def make_corrupt(path: Path, nbytes: int = 4096, seed: int = 0) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes())
    return path
