"""A corpus of broken and odd media files, generated, for the bad-input tests.

``make_corpus(folder)`` writes at least 25 files and returns ``{name: expectation}`` where
an expectation is ``"done"`` (must be ingested), ``"failed"`` (must fail with a reason) or
``"either"`` (ingesting what can be read, or failing with a reason, are both right).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from media import make_audio_file, make_indexed_video, make_png, make_wav


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` pixels but holds almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def _truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: max(1, int(len(data) * fraction))])
    return dst


def _header_only_mp4(src: Path, dst: Path) -> Path:
    """ftyp + moov boxes of a faststart mp4, without the media data."""
    data = src.read_bytes()
    out, i = b"", 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if kind in (b"ftyp", b"moov"):
            out += data[i : i + size]
        i += max(size, 8)
    dst.write_bytes(out)
    return dst


def _corrupt_middle(src: Path, dst: Path, seed: int = 1) -> Path:
    data = bytearray(src.read_bytes())
    n = len(data)
    rng = np.random.default_rng(seed)
    data[n // 3 : n // 3 + n // 10] = rng.integers(0, 256, n // 10, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def make_corpus(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    exp: dict[str, str] = {}
    good_v = make_indexed_video(folder / "good video.mp4", seconds=3, fps=10, audio_s=3.0)
    exp["good video.mp4"] = "done"
    fast = make_indexed_video(folder / "faststart.mp4", seconds=3, fps=10, options={"movflags": "faststart"})
    exp["faststart.mp4"] = "done"
    make_wav(folder / "ünïcødé name ✓.wav", seconds=1.0)
    exp["ünïcødé name ✓.wav"] = "done"
    make_png(folder / "tiny 1x1.png", size=(1, 1))
    exp["tiny 1x1.png"] = "done"
    make_audio_file(folder / "eight channels.wav", "pcm_s16le", seconds=1.0, sr=48000, channels=8)
    exp["eight channels.wav"] = "done"
    make_indexed_video(folder / "two audio tracks.mkv", seconds=2, fps=10, audio_s=3.0, audio_tracks=2)
    exp["two audio tracks.mkv"] = "done"
    make_indexed_video(folder / "rotated.mp4", seconds=1, fps=10, rotation=270)
    exp["rotated.mp4"] = "done"
    make_audio_file(folder / "sound only.mp4", "aac", seconds=1.5, sr=16000, channels=1)
    exp["sound only.mp4"] = "done"  # a "video" without pictures: ingested as audio
    (folder / "png named.mp4").write_bytes((folder / "tiny 1x1.png").read_bytes())
    exp["png named.mp4"] = "either"  # wrong extension
    (folder / "wav named.jpg").write_bytes((folder / "ünïcødé name ✓.wav").read_bytes())
    exp["wav named.jpg"] = "failed"  # an image with no picture in it
    (folder / "mp4 named.mp3").write_bytes(good_v.read_bytes())
    exp["mp4 named.mp3"] = "done"  # sound is found in the mp4
    (folder / "zero.mp4").write_bytes(b"")
    exp["zero.mp4"] = "failed"
    (folder / "zero.png").write_bytes(b"")
    exp["zero.png"] = "failed"
    for frac in (0.02, 0.3, 0.7):
        name = f"truncated {int(frac * 100)}%.mp4"
        _truncate(good_v, folder / name, frac)
        exp[name] = "either"
    _truncate(fast, folder / "truncated faststart 60%.mp4", 0.6)
    exp["truncated faststart 60%.mp4"] = "either"
    _header_only_mp4(fast, folder / "header only.mp4")
    exp["header only.mp4"] = "failed"
    _corrupt_middle(good_v, folder / "corrupt middle.mp4")
    exp["corrupt middle.mp4"] = "either"
    for ext in ("mp4", "mkv", "wav"):
        (folder / f"random.{ext}").write_bytes(rng.integers(0, 256, 8192, dtype=np.uint8).tobytes())
        exp[f"random.{ext}"] = "failed"
    (folder / "random.jpg").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    exp["random.jpg"] = "failed"
    (folder / "text.mp3").write_text("this is not audio\n" * 50)
    exp["text.mp3"] = "failed"
    import av

    with av.open(str(folder / "zero duration.mp4"), "w") as c:  # a video track with no frame
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    exp["zero duration.mp4"] = "failed"
    with open(folder / "header only.wav", "wb") as f:  # a WAV header announcing no samples
        f.write(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
                + b"data" + struct.pack("<I", 0))
    exp["header only.wav"] = "failed"
    png_header(folder / "bomb 30000x30000.png", 30000, 30000)
    exp["bomb 30000x30000.png"] = "failed"
    jpg = folder / "truncated.jpg"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(jpg, quality=90)
    jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    exp["truncated.jpg"] = "either"
    _truncate(folder / "ünïcødé name ✓.wav", folder / "truncated.wav", 0.5)
    exp["truncated.wav"] = "done"
    no_perm = make_wav(folder / "no permission.wav", seconds=0.5)
    os.chmod(no_perm, 0)
    exp["no permission.wav"] = "done" if os.geteuid() == 0 else "failed"  # root reads anything
    os.symlink(folder / "does not exist.mp4", folder / "dangling link.mp4")
    exp["dangling link.mp4"] = "failed"
    (folder / "loop").mkdir()
    os.symlink("..", folder / "loop" / "back up")  # a symlink loop in the folder
    (folder / "folder.mp4").mkdir()  # a directory named like a video: not a file, not listed
    make_png(folder / "folder.mp4" / "inside.png")
    exp["folder.mp4/inside.png"] = "done"
    return exp
