"""Generate a benchmark corpus: videos with spoken sentences, audio files, photos.

Speech is synthesised by Debian's ``espeak-ng`` (``apt-get install espeak-ng``); the
benchmark needs it and says so when it is missing. Frames, muxing and audio encoding
go through PyAV. The corpus is cached: a folder holding a ``corpus.json`` made with the
same parameters is reused as is.

    python benchmarks/_corpus.py /tmp/corpus --videos 4 --video-seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

SUBJECTS = ["The lighthouse keeper", "Our finance team", "A small cockatoo", "The night train", "My neighbour",
            "The harbour master", "A quiet librarian", "The orchestra", "Every gardener", "The mountain guide",
            "A curious fox", "The school principal", "Our weather station", "The old ferry", "A young engineer"]
VERBS = ["counted", "painted", "repaired", "delivered", "forgot", "measured", "carried", "described", "photographed",
         "ordered", "cleaned", "announced", "discovered", "borrowed", "watched"]
OBJECTS = ["seven blue umbrellas", "the quarterly budget", "a basket of fresh bread", "the broken compass",
           "twelve copper lanterns", "the yellow bicycle", "a map of the island", "the winter timetable",
           "three wooden boxes", "the silver telescope", "a jar of honey", "the printed invitations",
           "forty paper cranes", "the marble staircase", "a crate of oranges"]
PLACES = ["before sunrise", "near the station", "after the storm", "at the market", "in the museum",
          "on the roof", "during lunch", "by the river", "at midnight", "in the garden"]


CORPUS_VERSION = 2  # bump when the generated media change


def require_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("the benchmark needs espeak-ng for speech: `apt-get install -y espeak-ng` (Debian/Ubuntu)")
    return exe


def sentence(i: int) -> str:
    """The i-th sentence of a deterministic, varied sequence."""
    return (f"{SUBJECTS[i % len(SUBJECTS)]} {VERBS[(i // 3) % len(VERBS)]} "
            f"{OBJECTS[(i * 7) % len(OBJECTS)]} {PLACES[(i * 3 + 1) % len(PLACES)]}.")


def speak(text: str, sr: int = 22050) -> np.ndarray:
    """Speech for ``text`` as mono float32 at ``sr`` (espeak-ng's native rate is 22050)."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run([require_espeak(), "-v", "en-us", "-s", "165", "-w", f.name, text], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with av.open(f.name) as c:
            res = av.AudioResampler(format="flt", layout="mono", rate=sr)
            parts = [o.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for o in res.resample(fr)]
            parts += [o.to_ndarray().reshape(-1) for o in res.resample(None)]
    return np.concatenate(parts).astype(np.float32)


def speech_track(seconds: float, first: int, sr: int = 22050, window_s: float = 10.0) -> tuple[np.ndarray, list[str]]:
    """``seconds`` of audio: sentences from index ``first`` on, separated by short pauses.

    No sentence straddles a multiple of ``window_s`` (medialake's default window), so
    each window holds whole sentences and Whisper has no cut word to guess at: the
    transcripts of two runs can then be compared exactly.
    """
    total = int(seconds * sr)
    win = int(window_s * sr)
    out = np.zeros(total, dtype=np.float32)
    pos, i, said = int(0.5 * sr), first, []
    while True:
        pcm = speak(sentence(i), sr)
        if len(pcm) < win - int(0.6 * sr) and pos // win != (pos + len(pcm) + int(0.2 * sr)) // win:
            pos = (pos // win + 1) * win + int(0.3 * sr)  # start after the window boundary
        if pos + len(pcm) > total - int(0.3 * sr):
            break
        out[pos:pos + len(pcm)] = pcm * 0.8
        said.append(sentence(i))
        pos += len(pcm) + int(1.2 * sr)
        i += 1
    return out, said


def _encode_audio(container, stream, pcm: np.ndarray, sr: int) -> None:
    n = stream.codec_context.frame_size or 1024
    for i in range(0, len(pcm), n):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[i:i + n]).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts = sr, i
        for p in stream.encode(frame):
            container.mux(p)
    for p in stream.encode(None):
        container.mux(p)


def make_video(path: Path, seconds: float, index: int, size=(640, 360), fps: int = 15) -> list[str]:
    """An H.264/AAC MP4: moving coloured shapes, and espeak-ng speech as the sound track."""
    sr = 22050
    pcm, said = speech_track(seconds, first=index * 11, sr=sr)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, (index * 37) % 256)], -1).astype(np.uint8)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps, 1), options={"preset": "ultrafast", "g": str(fps * 2)})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        a = c.add_stream("aac", rate=sr, layout="mono")
        for f in range(int(seconds * fps)):
            img = np.roll(base, f * 4, axis=1)
            x0 = (f * 9) % (w - 80)
            img[h // 3:h // 3 + 60, x0:x0 + 80] = (255, 255 - (f * 5) % 256, 40)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        _encode_audio(c, a, pcm, sr)
    return said


def make_audio(path: Path, seconds: float, index: int) -> list[str]:
    """A speech file: MP3 (44.1 kHz), FLAC (22.05 kHz) or WAV, by the name's suffix."""
    sr = 44100 if path.suffix == ".mp3" else 22050
    pcm, said = speech_track(seconds, first=1000 + index * 7, sr=sr)
    codec = {".mp3": "libmp3lame", ".flac": "flac", ".wav": "pcm_s16le"}[path.suffix]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=sr, layout="mono")
        if codec == "pcm_s16le":
            for i in range(0, len(pcm), 1024):
                fr = av.AudioFrame.from_ndarray((pcm[i:i + 1024] * 32767).astype(np.int16).reshape(1, -1),
                                                format="s16", layout="mono")
                fr.sample_rate, fr.pts = sr, i
                for p in s.encode(fr):
                    c.mux(p)
            for p in s.encode(None):
                c.mux(p)
        else:
            _encode_audio(c, s, pcm, sr)
    return said


def make_photo(path: Path, index: int, size=(1280, 960)) -> None:
    rng = np.random.default_rng(index)
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, size[0] - 100)), int(rng.integers(0, size[1] - 100))
        d.ellipse([x0, y0, x0 + int(rng.integers(40, 400)), y0 + int(rng.integers(40, 300))],
                  fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    img.save(path, quality=88)


def _job(args):
    kind, path, seconds, index = args
    path = Path(path)
    if kind == "video":
        return str(path), make_video(path, seconds, index)
    if kind == "audio":
        return str(path), make_audio(path, seconds, index)
    make_photo(path, index)
    return str(path), []


def make_corpus(root: str | Path, videos: int = 4, video_seconds: float = 20.0, audios: int = 2,
                audio_seconds: float = 15.0, photos: int = 10, workers: int = 2) -> dict:
    """Create (or reuse) the corpus under ``root``; returns its manifest."""
    root = Path(root)
    params = dict(videos=videos, video_seconds=video_seconds, audios=audios, audio_seconds=audio_seconds, photos=photos)
    manifest_path = root / "corpus.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("params") == params and manifest.get("version") == CORPUS_VERSION:
            return manifest
        shutil.rmtree(root)
    require_espeak()
    for sub in ("video", "audio", "images"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    jobs = [("video", root / "video" / f"clip_{i:03d}.mp4", video_seconds, i) for i in range(videos)]
    jobs += [("audio", root / "audio" / f"talk_{i:03d}{('.mp3', '.flac', '.wav')[i % 3]}", audio_seconds, i)
             for i in range(audios)]
    jobs += [("image", root / "images" / f"photo_{i:03d}.jpg", 0, i) for i in range(photos)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        spoken = dict(pool.map(_job, [(k, str(p), s, i) for k, p, s, i in jobs]))
    manifest = {"params": params, "version": CORPUS_VERSION, "spoken": spoken,
                "bytes": sum(os.path.getsize(p) for p in spoken)}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return manifest


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--video-seconds", type=float, default=20.0)
    ap.add_argument("--audios", type=int, default=2)
    ap.add_argument("--audio-seconds", type=float, default=15.0)
    ap.add_argument("--photos", type=int, default=10)
    a = ap.parse_args()
    m = make_corpus(a.root, a.videos, a.video_seconds, a.audios, a.audio_seconds, a.photos)
    print(f"{len(m['spoken'])} files, {m['bytes'] / 1e6:.1f} MB under {a.root}")
