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
    """A 16-bit PCM WAV tone (see :func:`make_audio_file`)."""
    return make_audio_file(path, "pcm_s16le", seconds=seconds, sr=sr, channels=channels)


def make_png(path: Path, size=(40, 30), color=(200, 30, 30)) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def make_corrupt(path: Path, nbytes: int = 4096, seed: int = 0) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes())
    return path


# -- richer media for the decode tests ---------------------------------------------------

def index_image(i: int, size=(64, 48)) -> np.ndarray:
    """A frame that encodes its index: left half grey (i % 16) * 16, right half (i // 16) * 16."""
    img = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    img[:, : size[0] // 2] = (i % 16) * 16 + 8
    img[:, size[0] // 2 :] = ((i // 16) % 16) * 16 + 8
    return img


def frame_index(img) -> int:
    """Read back the index (modulo 256) written by :func:`index_image` from a decoded PIL image."""
    a = np.asarray(img.convert("L"), dtype=np.float32)
    w = a.shape[1]
    lo = int(round((a[:, : w // 2 - 2].mean() - 8) / 16))
    hi = int(round((a[:, w // 2 + 2 :].mean() - 8) / 16))
    return hi * 16 + lo


def make_indexed_video(path: Path, seconds: float = 4.0, fps: int = 30, size=(64, 48), codec: str = "libx264",
                       gop: int | None = None, bframes: int | None = None, rotation: int = 0,
                       pts_ms: list[int] | None = None, audio_s: float | None = None, audio_tracks: int = 1,
                       options: dict | None = None) -> Path:
    """A video whose frame i shows its index (see :func:`frame_index`).

    ``pts_ms`` gives each frame's time in milliseconds (variable frame rate); ``rotation``
    sets the display matrix (phone videos); ``audio_s`` adds that many seconds of tone on
    ``audio_tracks`` tracks.
    """
    n = len(pts_ms) if pts_ms is not None else int(seconds * fps)
    with av.open(str(path), "w") as c:
        vs = c.add_stream(codec, rate=Fraction(fps, 1))
        vs.width, vs.height = size
        vs.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        opts = dict(options or {})
        if gop:
            opts["g"] = str(gop)
        if bframes is not None and codec in ("libx264", "libx265"):
            opts["bf"] = str(bframes)
        if codec == "libx265":
            opts["x265-params"] = "log-level=error"
        vs.options = opts
        if pts_ms is not None:
            vs.time_base = Fraction(1, 1000)
        if rotation:
            vs.set_display_rotation(rotation)
        tracks = []
        if audio_s:
            for _ in range(audio_tracks):
                tracks.append(c.add_stream("aac", rate=16000, layout="mono"))
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(index_image(i, size), format="rgb24")
            if pts_ms is not None:
                frame.pts = pts_ms[i]
                frame.time_base = Fraction(1, 1000)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        for k, a in enumerate(tracks):
            _encode_audio(c, a, tone(audio_s, 16000, freq=300.0 + 200 * k), 16000)
    return path


def make_audio_file(path: Path, codec: str, seconds: float = 2.0, sr: int = 44100, channels: int = 2,
                    fmt: str | None = None) -> Path:
    """A tone in any PyAV audio encoder/container (``fmt`` forces the container)."""
    layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[channels]
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=sr, layout=layout)
        if codec == "vorbis":
            s.codec_context.options = {"strict": "experimental"}
        pcm = tone(seconds, sr)
        cc = s.codec_context
        sample_fmt = cc.format.name
        n = cc.frame_size or 1024
        data = np.tile(pcm, (channels, 1))
        planar = sample_fmt.endswith("p")
        base = sample_fmt.rstrip("p")
        for i in range(0, data.shape[1], n):
            chunk = data[:, i : i + n]
            if base == "s16":
                chunk = (chunk * 32767).astype(np.int16)
            elif base == "s32":
                chunk = (chunk * 2147483647).astype(np.int32)
            else:
                chunk = chunk.astype(np.float32)
            arr = np.ascontiguousarray(chunk) if planar else np.ascontiguousarray(chunk.T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(arr, format=sample_fmt, layout=layout)
            frame.sample_rate = sr
            frame.pts = i
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def make_scenes_video(path: Path, cuts_s=(2.0, 5.0), seconds: float = 8.0, fps: int = 10, size=(64, 48)) -> Path:
    """Flat-colour scenes that change at ``cuts_s``, with a little motion inside each."""
    colours = [(220, 30, 30), (30, 200, 40), (40, 40, 220), (230, 230, 30)]
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps, 1))
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            scene = sum(1 for t in cuts_s if i / fps >= t)
            img = np.full((size[1], size[0], 3), colours[scene % len(colours)], dtype=np.uint8)
            x = (i * 2) % (size[0] - 8)
            img[10:18, x : x + 8] = 255
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    return path
