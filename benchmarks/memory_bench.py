"""Peak memory of decode+chunk: 1 video vs 10 of the same size, and a 1-hour video.

Each scenario runs in a fresh Python process so its peak is its own:

* ``decode``: the decode+chunk operator (``decode_stream``) over the file records, its
  output blocks consumed as a sink would; peak resident memory (``ru_maxrss``).
* ``ingest``: ``medialake.ingest`` through local Ray Data and LanceDB (every model role
  switched off, so only decode+chunk and the sink run); peak of the summed proportional set size
  (PSS, which counts shared memory such as Ray's object store once) of the driver and
  every process it started, sampled every 0.2 s.

Prints peak(10 videos) / peak(1 video) (goal <= 1.2) for both, then the peak of the
decode operator on a generated 1-hour low-resolution video with audio (goal < 2 GiB).

With the default concurrency, 10 files run several decode tasks at once (each a worker
process with its own libraries loaded), so the ingest is also measured with
``decode.concurrency=1``, where only the amount of media differs between the two runs.

    python benchmarks/memory_bench.py [--minutes 5] [--skip-ingest] [--skip-hour] [--skip-decode]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent


def make_video(path: Path, seconds: float, fps: int, size: tuple[int, int], sr: int = 16000, seed: int = 0) -> None:
    """Moving texture + a tone, libx264 ultrafast and AAC: quick to make, real to decode.
    Each ``seed`` gives other bytes (copies of one file would be ingested once, as duplicates)."""
    rng = np.random.default_rng(seed)
    tex = rng.integers(0, 255, (size[1], size[0] * 2, 3), dtype=np.uint8)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps, 1))
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "30"}
        a = c.add_stream("aac", rate=sr, layout="mono")
        a.bit_rate = 24000
        n_frames = int(seconds * fps)
        fsz = a.codec_context.frame_size or 1024
        spf = sr / fps
        apos = 0
        for i in range(n_frames):
            x = (i * 2) % size[0]
            img = np.ascontiguousarray(tex[:, x : x + size[0]])
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
            while apos < (i + 1) * spf:  # interleave audio as we go, a frame_size at a time
                t = (apos + np.arange(fsz)) / sr
                pcm = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32).reshape(1, -1)
                fr = av.AudioFrame.from_ndarray(pcm, format="fltp", layout="mono")
                fr.sample_rate, fr.pts = sr, apos
                for p in a.encode(fr):
                    c.mux(p)
                apos += fsz
        for s in (vs, a):
            for p in s.encode(None):
                c.mux(p)


# -- the measured child processes -------------------------------------------------------

def child_decode(paths: list[str]) -> dict:
    import resource

    import pyarrow as pa

    from medialake.operators.decode import decode_stream
    from medialake.pipelines.config import DecodeConfig

    recs = pa.Table.from_pylist([{"asset_id": f"a{i}", "uri": p, "media_type": "video", "size": os.path.getsize(p),
                                  "mtime": None} for i, p in enumerate(paths)])
    cfg = DecodeConfig()
    t0 = time.perf_counter()
    rows = segs = 0
    errors = []
    for i in range(recs.num_rows):  # one record per task, as the pipeline maps them
        for block in decode_stream(recs.slice(i, 1), cfg):
            rows += block.num_rows
            segs += sum(1 for x in block.column("segment_index").to_pylist() if x >= 0)
            errors += [e for e in block.column("error").to_pylist() if e]
    return {"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "segments": segs,
            "errors": errors, "seconds": time.perf_counter() - t0}


def child_ingest(folder: str, db: str, concurrency: str = "0") -> dict:
    import threading

    import psutil

    import medialake
    from medialake.pipelines.config import load_config

    me = psutil.Process()
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            total = 0
            for p in [me] + me.children(recursive=True):
                try:
                    total += p.memory_full_info().pss
                except (psutil.Error, OSError):
                    pass
            peak[0] = max(peak[0], total / 2**20)
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    from medialake.pipelines.config import ROLES

    decode = {"concurrency": int(concurrency)} if int(concurrency) else {}
    cfg = load_config(overrides={**{role: {"model": None} for role in ROLES}, "decode": decode})
    t0 = time.perf_counter()
    s = medialake.ingest(folder, db, config=cfg)
    dt = time.perf_counter() - t0
    stop.set()
    th.join()
    return {"peak_mib": peak[0], "segments": s.segments, "errors": list(s.failures.values()), "seconds": dt}


def run_child(kind: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", MEDIALAKE_PROGRESS="0")
    out = subprocess.run([sys.executable, __file__, "--child", kind, *args], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="length of each of the 1-vs-10 videos")
    ap.add_argument("--hour-fps", type=int, default=5)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-hour", action="store_true", help="skip the (longer) 1-hour run")
    ap.add_argument("--skip-decode", action="store_true", help="skip the decode-operator 1-vs-10 run")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        res = child_decode(rest) if kind == "decode" else child_ingest(*rest)
        print(json.dumps(res))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one, ten = tmp / "one", tmp / "ten"
        one.mkdir()
        ten.mkdir()
        t = time.perf_counter()
        src = one / "v0.mp4"
        make_video(src, args.minutes * 60, 30, (320, 240))
        shutil.copy(src, ten / "v0.mp4")
        for i in range(1, 10):  # the same size and length, other pictures (so not duplicates)
            make_video(ten / f"v{i}.mp4", args.minutes * 60, 30, (320, 240), seed=i)
        print(f"videos: {args.minutes:g} min, 320x240, 30 fps, H.264 + AAC, {src.stat().st_size / 1e6:.1f} MB each, "
              f"10 different ones (made in {time.perf_counter() - t:.0f} s); every model role off")
        if not args.skip_decode:
            r1 = run_child("decode", str(src))
            r10 = run_child("decode", *[str(p) for p in sorted(ten.iterdir())])
            print(f"decode operator, 1 video:   peak RSS {r1['peak_mib']:7.1f} MiB, {r1['segments']} segments, {r1['seconds']:.1f} s")
            print(f"decode operator, 10 videos: peak RSS {r10['peak_mib']:7.1f} MiB, {r10['segments']} segments, {r10['seconds']:.1f} s")
            print(f"ratio peak(10)/peak(1) decode = {r10['peak_mib'] / r1['peak_mib']:.2f}  (goal <= 1.2)")
        if not args.skip_ingest:
            for conc in (1, 0):
                label = "decode.concurrency=1" if conc else "default concurrency"
                i1 = run_child("ingest", str(one), str(tmp / f"db1_{conc}.lance"), str(conc))
                i10 = run_child("ingest", str(ten), str(tmp / f"db10_{conc}.lance"), str(conc))
                print(f"ingest (Ray Data + LanceDB, {label}), 1 video:   peak PSS {i1['peak_mib']:7.1f} MiB, "
                      f"{i1['segments']} segments, {i1['seconds']:.1f} s")
                print(f"ingest (Ray Data + LanceDB, {label}), 10 videos: peak PSS {i10['peak_mib']:7.1f} MiB, "
                      f"{i10['segments']} segments, {i10['seconds']:.1f} s")
                print(f"ratio peak(10)/peak(1) ingest, {label} = {i10['peak_mib'] / i1['peak_mib']:.2f}  (goal <= 1.2)")
        if not args.skip_hour:
            hour = tmp / "hour.mp4"
            t = time.perf_counter()
            make_video(hour, 3600, args.hour_fps, (64, 48))
            print(f"1-hour video: 64x48, {args.hour_fps} fps, H.264 + AAC 16 kHz, {hour.stat().st_size / 1e6:.1f} MB "
                  f"(made in {time.perf_counter() - t:.0f} s)")
            rh = run_child("decode", str(hour))
            print(f"decode operator, 1-hour video: peak RSS {rh['peak_mib']:7.1f} MiB ({rh['peak_mib'] / 1024:.2f} GiB, "
                  f"goal < 2 GiB), {rh['segments']} segments, {rh['seconds']:.1f} s, errors: {len(rh['errors'])}")
            whole = 3600 * 16000 * 4 / 2**20
            print(f"  (the same audio held whole as 16 kHz float32 would be {whole:.0f} MiB by itself)")


if __name__ == "__main__":
    main()
