"""Soak: one ingest of a generated archive, then incremental runs that change, move and
delete 5% of the files each; does anything grow or leak, is every file accounted for?

    python benchmarks/soak_bench.py --files 1000 --rounds 10     # the issue's size
    python benchmarks/soak_bench.py --files 200 --rounds 4       # ~10 min on 2 loaded cores

The archive mixes small videos (PyAV), WAV tones and PNG photos, 2% of them broken
(random bytes under a media extension). All rounds run in this one process on one local
Ray (as a long-lived scheduler or ``medialake serve`` would), with a thread sampling the
RSS of every process by kind: the driver, Ray's workers (``ray::...``), Ray's daemons
(gcs_server, raylet, agents). After each round it prints, per kind, the RSS at the end
of the round and its peak; the driver's open file descriptors; temporary files left in
the temp directory; unreferenced Lance data files; versions and fragments of each table
after the run's compaction; and checks that every file on disk is a done asset (or a
failed one, for the broken files) listing it among its locations, that no asset is
pending, that every done asset has all its segments, and that no deleted file is still
listed. The slopes (MiB or fds per round, least squares over the rounds after the first
incremental one) come with their standard error: within noise when |slope| < 2 x error.
The ``RESULT`` line comes last.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import wave
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KINDS = ("driver", "workers", "daemons")


# --- the archive ---------------------------------------------------------------------
def _wav(path: Path, rng: random.Random) -> None:
    sr, secs = 16000, rng.uniform(1.0, 3.0)
    t = np.arange(int(sr * secs)) / sr
    x = (0.3 * np.sin(2 * np.pi * rng.uniform(200, 2000) * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr), w.writeframes(x.tobytes())


def _png(path: Path, rng: random.Random) -> None:
    from PIL import Image

    arr = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    arr[:, : rng.randrange(8, 56)] = [rng.randrange(256) for _ in range(3)]
    Image.fromarray(arr).save(path)


def _mp4(path: Path, rng: random.Random) -> None:
    import av

    fps, n = 5, rng.randrange(6, 12)
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.time_base = Fraction(1, fps)
        base = rng.randrange(256)
        for i in range(n):
            img = np.full((48, 64, 3), (base + 20 * i) % 256, np.uint8)
            img[:, (i * 5) % 64:] = 255 - base
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode():
            out.mux(p)


MAKERS = {".mp4": _mp4, ".wav": _wav, ".png": _png}


def make_file(path: Path, rng: random.Random, broken: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if broken:
        path.write_bytes(rng.randbytes(rng.randrange(200, 4000)))
    else:
        MAKERS[path.suffix](path, rng)


def make_archive(root: Path, n: int, rng: random.Random) -> set[str]:
    """``n`` files, a third of each kind; returns the names of the broken ones (2%)."""
    broken = set(rng.sample(range(n), max(1, round(0.02 * n))))
    names = set()
    for i in range(n):
        ext = (".png", ".wav", ".mp4")[i % 3]
        p = root / f"d{i % 10}" / f"f{i:05d}{ext}"
        make_file(p, rng, i in broken)
        if i in broken:
            names.add(p.name)
    return names


def mutate(root: Path, rng: random.Random, share: float, broken: set[str], serial: list[int]) -> Counter:
    """Change, move or delete ``share`` of the files (a third each); returns the counts."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    picked = rng.sample(files, max(3, round(share * len(files))))
    done = Counter()
    for i, p in enumerate(picked):
        what = ("changed", "moved", "deleted")[i % 3]
        if what == "changed":
            make_file(p, rng, p.name in broken)
            os.utime(p, (time.time() + 1, time.time() + 1))
        elif what == "moved":
            serial[0] += 1
            dst = root / "moved" / f"m{serial[0]:05d}-{p.name}"
            dst.parent.mkdir(exist_ok=True)
            p.rename(dst)
            if p.name in broken:
                broken.add(dst.name)
        else:
            p.unlink()
        done[what] += 1
    return done


# --- measuring -----------------------------------------------------------------------
def kind_of(p, driver_pid: int) -> str | None:
    if p.pid == driver_pid:
        return "driver"
    try:
        name, cmd = p.name(), " ".join(p.cmdline()[:3])
    except Exception:  # noqa: BLE001 - gone
        return None
    if name.startswith("ray::") or "default_worker.py" in cmd:
        return "workers"
    if name in ("gcs_server", "raylet") or "ray/" in cmd or "ray." in cmd:
        return "daemons"
    return None


class Sampler(threading.Thread):
    """Every ``every`` s: summed RSS per kind of the driver's process tree."""

    def __init__(self, every: float = 1.0):
        super().__init__(daemon=True)
        import psutil

        self.psutil, self.every, self.pid = psutil, every, os.getpid()
        self.samples: list[tuple[float, int, dict[str, int]]] = []
        self.round = 0
        self.stop = threading.Event()

    def now(self) -> dict[str, int]:
        me = self.psutil.Process(self.pid)
        out = dict.fromkeys(KINDS, 0)
        for p in [me] + me.children(recursive=True):
            k = kind_of(p, self.pid)
            if k:
                try:
                    out[k] += p.memory_info().rss
                except self.psutil.Error:
                    pass
        return out

    def run(self):
        while not self.stop.wait(self.every):
            self.samples.append((time.time(), self.round, self.now()))


def slope(ys: list[float]) -> tuple[float, float]:
    """Least-squares slope per step of ``ys`` and its standard error."""
    if len(ys) < 2:
        return 0.0, float("inf")
    x = np.arange(len(ys), dtype=float)
    y = np.asarray(ys, float)
    b, a = np.polyfit(x, y, 1)
    if len(ys) < 3:
        return float(b), float("inf")
    resid = y - (a + b * x)
    se = np.sqrt(resid.var(ddof=2) / ((x - x.mean()) ** 2).sum()) if len(ys) > 2 else float("inf")
    return float(b), float(se)


def lance_state(db: str) -> dict[str, tuple[int, int]]:
    import lance

    out = {}
    for name in ("assets", "segments", "runs"):
        ds = lance.dataset(f"{db}/{name}.lance")
        out[name] = (len(ds.versions()), len(ds.get_fragments()))
    return out


def unreferenced_files(db: str) -> int:
    """Data files of ``segments`` that no kept version names (leaked fragments)."""
    import lance

    uri = f"{db}/segments.lance"
    ds = lance.dataset(uri)
    named = set()
    for v in ds.versions():
        named |= {f.path for fr in ds.checkout_version(v["version"]).get_fragments() for f in fr.data_files()}
    return sum(1 for p in Path(uri, "data").iterdir() if p.name not in named)


def account(src: Path, db: str, cfg, broken: set[str]) -> list[str]:
    """Problems: files not accounted for, pending assets, incomplete done assets, stale locations."""
    from medialake.operators.scan import scan
    from medialake.store import Store

    store = Store(db, create=False)
    assets = store.assets().to_pylist()
    segs = store.table("segments").search().select(["asset_id"]).limit(None).to_arrow().column("asset_id").to_pylist()
    per = Counter(segs)
    where = {}
    for a in assets:
        if a["status"] in ("done", "failed"):
            for loc in a["locations"] or [{"uri": a["uri"]}]:
                where[loc["uri"]] = a
    problems = []
    on_disk = {r.uri: r for r in scan(str(src), cfg.extensions)}
    for uri in on_disk:
        a = where.get(uri)
        want = "failed" if Path(uri).name in broken else "done"
        if a is None:
            problems.append(f"not accounted for: {uri}")
        elif a["status"] != want:
            problems.append(f"{uri}: {a['status']} ({a['reason']}), expected {want}")
    for uri in set(where) - set(on_disk):
        problems.append(f"gone but still listed: {uri}")
    for a in assets:
        if a["status"] == "pending":
            problems.append(f"pending: {a['uri']}")
        if a["status"] == "done" and per[a["asset_id"]] != a["n_segments"]:
            problems.append(f"{a['uri']}: {per[a['asset_id']]} segments, n_segments {a['n_segments']}")
    return problems


def temp_entries(skip: set[str]) -> set[str]:
    """Entries of this run's temp directory (``TMPDIR``) not in ``skip`` (Ray's session
    directory ``ray``, which lives there while Ray runs, is not counted)."""
    return {n for n in os.listdir(tempfile.gettempdir()) if n not in skip and n != "ray"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=10, help="incremental runs after the first ingest")
    ap.add_argument("--change", type=float, default=0.05, help="share of files changed/moved/deleted per round")
    ap.add_argument("--work", default=None, help="working directory (default: a new temp dir, removed after)")
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()

    import psutil

    from medialake.jobs.ingest import ingest
    from medialake.pipelines.config import load_config
    from medialake.pipelines.runtime import ensure_ray

    rng = random.Random(args.seed)
    work = Path(args.work or tempfile.mkdtemp(prefix="medialake-soak-"))
    # a temp directory of our own (inherited by Ray's workers): what is left there is ours
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = tempfile.tempdir = str(work / "tmp")
    src, db = work / "src", str(work / "lake.lance")
    shutil.rmtree(src, ignore_errors=True), shutil.rmtree(db, ignore_errors=True)
    t0 = time.time()
    broken = make_archive(src, args.files, rng)
    print(f"archive: {args.files} files ({len(broken)} broken) in {time.time() - t0:.0f} s under {src}", flush=True)
    cfg = load_config(overrides={"asr": {"model": None}, "text": {"model": None}, "ocr": {"model": None},
                                 "captioner": {"model": None}, "summarizer": {"model": None}})
    before_tmp = temp_entries(set())
    ensure_ray()
    sampler = Sampler()
    sampler.start()
    me = psutil.Process()
    rows, all_problems, serial = [], [], [0]
    for rnd in range(args.rounds + 1):
        sampler.round = rnd
        changes = Counter() if rnd == 0 else mutate(src, rng, args.change, broken, serial)
        t = time.time()
        s = ingest(src, db, cfg)
        wall = time.time() - t
        end = sampler.now()
        peak = {k: max([v[k] for _, r, v in sampler.samples if r == rnd] + [end[k]]) for k in KINDS}
        problems = account(src, db, cfg, broken)
        all_problems += [f"round {rnd}: {p}" for p in problems]
        state = lance_state(db)
        row = {"round": rnd, "wall_s": wall, "end": end, "peak": peak, "fds": me.num_fds(),
               "temp_left": len(temp_entries(before_tmp)), "unreferenced": unreferenced_files(db), "lance": state,
               "problems": len(problems), "ingested": s.ingested, "failed": s.failed, "changes": dict(changes),
               "outcomes": {k: v for k, v in s.outcomes.items() if v}}
        rows.append(row)
        mib = lambda d: " ".join(f"{k}={d[k] / 2**20:.0f}" for k in KINDS)  # noqa: E731
        print(f"round {rnd}: {wall:6.1f} s, ingested {s.ingested}, failed {s.failed}, {row['outcomes']}; "
              f"RSS MiB end {mib(end)} | peak {mib(peak)}; driver fds {row['fds']}; temp left {row['temp_left']}; "
              f"unreferenced data files {row['unreferenced']}; versions/fragments "
              + ", ".join(f"{n} {v}/{f}" for n, (v, f) in state.items())
              + f"; problems {len(problems)}", flush=True)
        for p in problems[:5]:
            print("   ", p)
    sampler.stop.set()

    warm = rows[2:] if len(rows) > 3 else rows[1:]  # after the first ingest and the first incremental run
    slopes = {k: slope([r["end"][k] / 2**20 for r in warm]) for k in KINDS}
    fd_slope = slope([r["fds"] for r in warm])
    print(f"slopes over rounds {warm[0]['round']}..{warm[-1]['round']} (per round, +- standard error):")
    for k, (b, se) in slopes.items():
        print(f"  {k:8s} RSS {b:+7.1f} MiB +- {se:.1f} ({'within noise' if abs(b) < 2 * se else 'GROWS' if b > 0 else 'shrinks'})")
    print(f"  driver fds {fd_slope[0]:+.1f} +- {fd_slope[1]:.1f}")
    print(f"load: {Path('/proc/pressure/cpu').read_text().splitlines()[0] if Path('/proc/pressure/cpu').exists() else 'n/a'}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    last = rows[-1]
    print("RESULT " + " ".join([
        f"files={args.files}", f"rounds={args.rounds}",
        f"accounted={'all' if not all_problems else 'NO'}", f"problems={len(all_problems)}",
        *(f"{k}_rss_slope_mib_per_round={slopes[k][0]:.1f}+-{slopes[k][1]:.1f}" for k in KINDS),
        f"fds_slope_per_round={fd_slope[0]:.1f}+-{fd_slope[1]:.1f}",
        f"temp_left={last['temp_left']}", f"unreferenced_files={last['unreferenced']}",
        f"segments_versions={last['lance']['segments'][0]}", f"segments_fragments={last['lance']['segments'][1]}",
    ]))


if __name__ == "__main__":
    main()
