"""Rebuild the sample media in ``samples/`` (run once by a maintainer, not by users).

Needs Debian's ``espeak-ng``, ``python3-imageio`` and ``sound-theme-freedesktop``.
Everything is muxed and encoded with PyAV; see ``samples/NOTICE`` for licences.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

IMAGEIO = Path("/usr/lib/python3/dist-packages/imageio/resources/images")
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
OUT = Path(__file__).resolve().parent.parent / "samples"
SR = 16000


def speak(text: str, workdir: Path) -> np.ndarray:
    """espeak-ng -> float32 mono at 16 kHz (resampled with PyAV)."""
    wav = workdir / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True)
    with av.open(str(wav)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=SR)
        chunks = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in rs.resample(fr)]
        chunks += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def place(total_s: float, clips: list[tuple[float, np.ndarray]]) -> np.ndarray:
    track = np.zeros(int(total_s * SR), dtype=np.float32)
    for at, clip in clips:
        i = int(at * SR)
        track[i : i + len(clip)] += clip[: len(track) - i]
    return track


def write_audio(stream, container, pcm: np.ndarray) -> None:
    frame_size = stream.codec_context.frame_size or 1024
    pts = 0
    for i in range(0, len(pcm), frame_size):
        chunk = pcm[i : i + frame_size]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SR
        frame.pts = pts
        pts += len(chunk)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_video(work: Path) -> None:
    lines = [
        (1.0, "Here is a cockatoo sitting on a wooden perch."),
        (10.2, "The quarterly budget review starts at nine."),
    ]
    src = av.open(str(IMAGEIO / "cockatoo.mp4"))
    duration = float(src.duration / 1e6)
    pcm = place(duration, [(at, speak(t, work)) for at, t in lines])
    dst_path = OUT / "video" / "cockatoo_budget.mp4"
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dst_path), "w") as dst:
        vs = dst.add_stream("libx264", rate=Fraction(20, 1))
        vs.width, vs.height, vs.pix_fmt = 480, 270, "yuv420p"
        vs.options = {"crf": "30", "preset": "veryslow", "g": "40"}
        aus = dst.add_stream("aac", rate=SR, layout="mono")
        aus.bit_rate = 32000
        for frame in src.decode(video=0):
            img = frame.to_image().resize((480, 270), Image.BICUBIC)
            out = av.VideoFrame.from_image(img)
            for p in vs.encode(out):
                dst.mux(p)
        for p in vs.encode(None):
            dst.mux(p)
        write_audio(aus, dst, pcm)


def make_audio(work: Path) -> None:
    lines = [
        (0.5, "The lighthouse keeper climbed the stairs every evening to light the lamp."),
        (11.0, "Fresh bread was delivered to the island every Tuesday morning."),
    ]
    pcm = place(17.0, [(at, speak(t, work)) for at, t in lines])
    path = OUT / "audio" / "lighthouse_keeper.mp3"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as dst:
        s = dst.add_stream("libmp3lame", rate=SR, layout="mono")
        s.bit_rate = 32000
        write_audio(s, dst, pcm)
    shutil.copy(FREEDESKTOP / "audio-channel-front-left.oga", OUT / "audio" / "front_left.oga")


def make_images() -> None:
    (OUT / "images").mkdir(parents=True, exist_ok=True)
    for name in ("astronaut", "chelsea"):
        img = Image.open(IMAGEIO / f"{name}.png").convert("RGB")
        img.thumbnail((384, 384))
        img.save(OUT / "images" / f"{name}.jpg", quality=82)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        make_video(Path(tmp))
        make_audio(Path(tmp))
    make_images()
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(p.relative_to(OUT), p.stat().st_size)
