"""Sparse frame sampling vs decoding every frame vs the ffmpeg command line.

Generates a 30 fps H.264 video (several minutes, libx264 ``veryfast``) and samples one
frame per second at 224 px (shorter side), three ways, interleaved and repeated so the
machine's noise hits all of them alike:

* ours: ``FrameSampler`` as the pipeline runs it (demux-and-skip to keyframes, seeks,
  non-reference frames skipped, and every B-frame skipped when the file's first seconds
  prove that safe, with frames up to ``decode.frame_tolerance_s`` early); also with
  exact frames (tolerance 0);
* full: decode every frame with PyAV and convert the one shown at each second;
* ffmpeg: Debian's ``ffmpeg -vf fps=1,scale=-2:224`` to raw RGB (benchmark only; the
  product never runs ffmpeg), with one thread and with its default threads.

Prints the best time of each and the ratios ours/full (goal <= 0.5) and ours/ffmpeg
(goal <= 1.0), for x264's default keyframe interval (250 frames) and for 2-second GOPs.

    python benchmarks/decode_bench.py [--minutes 3] [--repeats 3] [--gops 250,60]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from medialake.operators.video import FrameSampler, fit_size
from medialake.pipelines.config import DecodeConfig

FPS = 30
SIZE = (640, 360)
SHORT = 224


def make_video(path: Path, seconds: int, gop: int) -> None:
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 255, (SIZE[1] // 8, SIZE[0] // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        s.options = {"preset": "veryfast", "g": str(gop), "crf": "26"}
        for i in range(seconds * FPS):
            scene = (i // (FPS * 7)) % 3  # a new "shot" every 7 s
            img = np.roll(np.roll(tex, i * 3, axis=1), scene * 40, axis=0)
            img[: 40, : 40] = (i * 5) % 256
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def ours(path: Path, seconds: int, tolerance_s: float) -> tuple[float, int, int]:
    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = FrameSampler(c, tolerance_s=tolerance_s)
        got = s.images([float(i) for i in range(seconds)], short_side=SHORT)
    return time.perf_counter() - t, len(got), s.decoded


def full(path: Path, seconds: int) -> tuple[float, int, int]:
    t = time.perf_counter()
    kept, n, nxt = 0, 0, 0.0
    r = VideoReformatter()
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "SLICE"
        for f in c.decode(st):
            n += 1
            if f.time is not None and f.time >= nxt - 1e-3 and nxt < seconds:
                w, h = fit_size(f.width, f.height, SHORT)
                r.reformat(f, width=w, height=h, format="rgb24", interpolation="AREA").to_image()
                kept += 1
                nxt += 1.0
    return time.perf_counter() - t, kept, n


def ffmpeg(path: Path, threads: int | None) -> tuple[float, int]:
    cmd = ["ffmpeg", "-v", "error", "-nostdin"]
    if threads:
        cmd += ["-threads", str(threads), "-filter_threads", str(threads)]
    cmd += ["-i", str(path), "-vf", f"fps=1,scale=-2:{SHORT}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    dt = time.perf_counter() - t
    h = SHORT
    w = int(round(SIZE[0] * SHORT / SIZE[1] / 2)) * 2
    return dt, len(out) // (w * h * 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gops", default="250,60", help="keyframe intervals (frames) to test")
    args = ap.parse_args()
    seconds = int(args.minutes * 60)
    have_ffmpeg = shutil.which("ffmpeg") is not None
    print(f"video: {seconds} s, {FPS} fps, {SIZE[0]}x{SIZE[1]} H.264 (libx264 veryfast); sampling 1 fps at {SHORT} px")
    if not have_ffmpeg:
        print("ffmpeg CLI not found: `apt-get install -y ffmpeg` for the comparison (benchmark only)")
    with tempfile.TemporaryDirectory() as tmp:
        for gop in [int(g) for g in args.gops.split(",")]:
            path = Path(tmp) / f"bench_g{gop}.mp4"
            t = time.perf_counter()
            make_video(path, seconds, gop)
            print(f"\n[GOP {gop} frames = {gop / FPS:.1f} s] generated {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t:.0f} s")
            best: dict[str, float] = {}
            info: dict[str, str] = {}
            for _ in range(args.repeats):
                for name, tol in (("ours", DecodeConfig().frame_tolerance_s), ("ours, exact frames", 0.0)):
                    dt, k, dec = ours(path, seconds, tol)
                    best[name] = min(best.get(name, 1e9), dt)
                    info[name] = f"{k} frames kept, {dec} decoded" + (f", tolerance {tol} s" if tol else "")
                dt, k, n = full(path, seconds)
                best["full"] = min(best.get("full", 1e9), dt)
                info["full"] = f"{k} frames kept, {n} decoded"
                if have_ffmpeg:
                    for th in (1, None):
                        name = f"ffmpeg -threads {th}" if th else "ffmpeg (default threads)"
                        dt, k = ffmpeg(path, th)
                        best[name] = min(best.get(name, 1e9), dt)
                        info[name] = f"{k} frames out"
            for name, dt in best.items():
                print(f"  {name:26s} {dt:7.3f} s   ({info[name]})")
            print(f"  ratio ours/full                      = {best['ours'] / best['full']:.2f}  (goal <= 0.5)")
            print(f"  ratio ours, exact frames/full        = {best['ours, exact frames'] / best['full']:.2f}")
            for name in best:
                if name.startswith("ffmpeg"):
                    print(f"  ratio ours/{name:26s} = {best['ours'] / best[name]:.2f}  (goal <= 1.0)")


if __name__ == "__main__":
    main()
