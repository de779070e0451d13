"""The HTTP API under load: concurrent searches while an ingest and a compaction write the
same database, slow clients, hostile uploads; errors, latency, the server's memory.

    python benchmarks/api_load_bench.py                      # the issue's size: 50 clients, 60 s
    python benchmarks/api_load_bench.py --clients 10 --seconds 15

Everything runs on loopback. The database is made here by a real ingest (Ray, Whisper
tiny.en, MiniLM) of the bundled samples plus generated media (small videos, WAV tones,
PNGs, one 36 MB PNG for the slow readers). ``medialake serve`` then runs as its own
process. For ``--seconds`` the clients (asyncio, one httpx connection each) search in a
loop with queries from the samples' speech, while a writer process ingests new files in
rounds, each followed by a compaction (``medialake.store.maintain`` under the database
lock). In the second half, slow clients join: connections that send nothing, headers a
byte a second (slowloris), uploads that stall halfway, readers of the large file that
read 4 KiB a second; the normal clients' p99 in each half shows whether they starve. Then,
with the writer done, hostile uploads are sent (each kind once to warm up, then
``--repeat`` times, the sound once): a PNG declaring 100,000 x 100,000 pixels, one declaring 9,000 x 9,000
(81 MP), a Content-Length of 10 GB, a multipart body without its closing boundary, one
cut short with the client closing, and 30 minutes of compressed near-silence (searched by
its first minute). Each must be answered 4xx (or, for the one cut short, dropped) without
5xx; its time is printed and the server's RSS before and after. ``RESULT`` comes last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent
QUERIES = ["quarterly budget review", "cockatoo on a wooden perch", "lighthouse keeper climbed the stairs",
           "fresh bread delivered to the island", "front left", "light the lamp every evening",
           "budget starts at nine", "wooden perch", "island on Tuesday morning", "stairs"]
OVERRIDES = {"asr": {"model": "whisper-tiny.en"}, "ocr": {"model": None}, "captioner": {"model": None}}


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


# --- the database and the writer --------------------------------------------------------
def make_source(src: Path, files: int, seed: int) -> None:
    from PIL import Image
    from soak_bench import make_archive

    shutil.copytree(REPO / "samples", src, ignore=shutil.ignore_patterns("NOTICE", "*.yaml"), dirs_exist_ok=True)
    make_archive(src / "gen", files, random.Random(seed))
    big = np.random.default_rng(seed).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    Image.fromarray(big).save(src / "big.png", compress_level=1)  # ~36 MB: more than socket buffers hold


def writer(db: str, src: str, until: float, seed: int) -> None:
    """Rounds of (new files, ingest, compaction) until ``until``; one JSON line per round."""
    from soak_bench import make_file

    from medialake.jobs.ingest import ingest
    from medialake.lock import DatabaseLock
    from medialake.pipelines.config import load_config
    from medialake.pipelines.runtime import ensure_ray
    from medialake.store import Store, maintain

    cfg = load_config(overrides=OVERRIDES)
    ensure_ray()
    rng, n = random.Random(seed), 0
    while time.time() < until:
        for _ in range(20):
            n += 1
            make_file(Path(src) / "new" / f"w{n:05d}{('.png', '.wav', '.mp4')[n % 3]}", rng, False)
        t = time.time()
        s = ingest(src, db, cfg)
        t_ingest = time.time() - t
        t = time.time()
        with DatabaseLock(db):
            maintain(Store(db, create=False))
        print(json.dumps({"ingested": s.ingested, "ingest_s": round(t_ingest, 1),
                          "compaction_s": round(time.time() - t, 1)}), flush=True)


# --- clients ------------------------------------------------------------------------------
async def searcher(base: str, until: float, lat: list, errors: list, rng: random.Random) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=1)) as c:
        while time.time() < until:
            q = rng.choice(QUERIES)
            t = time.perf_counter()
            try:
                r = await c.get("/api/search", params={"q": q, "limit": 10})
                ok = r.status_code == 200 and isinstance(r.json(), list)
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:200]}")
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                ok = False
                errors.append(f"{type(e).__name__}: {e}")
            if ok:
                lat.append((time.time(), (time.perf_counter() - t) * 1000))


async def slow_client(kind: str, port: int, until: float, big_id: str, stats: dict) -> None:
    """One slow client of ``kind``, reconnecting whenever the server drops it, until ``until``:
    ``silent`` sends nothing, ``slowloris`` a header byte a second, ``upload`` stops halfway
    through its body, ``reader`` asks for the large file and reads 4 KiB a second."""
    first = {"silent": b"", "slowloris": b"GET /api/search?q=x HTTP/1.1\r\n",
             "upload": b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
                       b"Content-Type: multipart/form-data; boundary=xx\r\n\r\n--xx\r\n",
             "reader": f"GET /api/assets/{big_id}/media HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()}[kind]
    while time.time() < until:
        t, w = time.time(), None
        try:
            reader, w = await asyncio.open_connection("127.0.0.1", port, limit=4096)
            if kind == "reader":
                w.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            w.write(first)
            while time.time() < until:
                if kind == "slowloris":
                    w.write(b"X")
                    await w.drain()
                try:
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                except (asyncio.TimeoutError, TimeoutError):
                    continue
                if not data:
                    break  # the server closed the connection
                if kind != "reader":
                    stats["answered"] += 1
                else:
                    await asyncio.sleep(1.0)
        except (ConnectionError, OSError):
            pass
        finally:
            if w is not None:
                w.close()
        if time.time() < until:
            stats["dropped"] += 1
            stats["held_s"].append(time.time() - t)


# --- hostile uploads ------------------------------------------------------------------------
def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 65536, 9)) + chunk(b"IEND", b""))


def silence_flac(path: Path, minutes: int = 30) -> bytes:
    import av

    sr = 8000
    with av.open(str(path), "w") as c:
        s = c.add_stream("flac", rate=sr, layout="mono")
        block = np.zeros((1, sr * 10), np.int16)
        block[0, ::97] = 1
        for i in range(minutes * 6):
            f = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            f.sample_rate, f.pts = sr, i * block.shape[1]
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path.read_bytes()


def form(name: str, data: bytes, close: bool = True) -> bytes:
    head = f'--xx\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    return head + data + (b"\r\n--xx--\r\n" if close else b"")


def raw_request(port: int, body: bytes, length: int | None = None, shut: bool = False) -> tuple[str, float]:
    """Send a POST /api/search; returns (status line or 'dropped', seconds)."""
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    s.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
              + f"Content-Length: {len(body) if length is None else length}\r\n\r\n".encode() + body)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while b"\r\n" not in out and (chunk := s.recv(4096)):
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return (out.split(b"\r\n", 1)[0].decode(errors="replace") or "dropped"), time.perf_counter() - t


def hostile_cases(work: Path) -> dict:
    flac = silence_flac(work / "silence.flac")
    return {
        "png_100000x100000": lambda port: raw_request(port, form("bomb.png", png_header(100_000, 100_000))),
        "png_9000x9000": lambda port: raw_request(port, form("bomb.png", png_header(9_000, 9_000))),
        "content_length_10GB": lambda port: raw_request(port, b"--xx\r\n", length=10 << 30),
        "multipart_no_closing_boundary": lambda port: raw_request(port, form("a.png", b"\x89PNG" + b"0" * 5000, False)),
        "multipart_cut_short_client_closes": lambda port: raw_request(port, form("a.png", b"0" * 5000, False),
                                                                      length=200_000, shut=True),
        f"flac_30min_silence_{len(flac) // 1024}KiB": lambda port: raw_request(port, form("q.flac", flac)),
    }


def refused(kind: str, status: str) -> bool:
    if kind.startswith("flac"):
        return status.startswith("HTTP/1.1 200") or status.startswith("HTTP/1.1 4")  # searched by its first minute
    if kind == "multipart_cut_short_client_closes":
        return status == "dropped" or status.startswith("HTTP/1.1 4")
    return status.startswith("HTTP/1.1 4")


# --- main ---------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--slow", type=int, default=8, help="slow clients of each kind in the second half")
    ap.add_argument("--files", type=int, default=120, help="generated files in the database")
    ap.add_argument("--repeat", type=int, default=5, help="each hostile upload, after one warm-up")
    ap.add_argument("--work", default=None, help="working directory (default: a new temp dir, removed after)")
    ap.add_argument("--role", default="bench", choices=["bench", "writer"], help=argparse.SUPPRESS)
    ap.add_argument("--db"), ap.add_argument("--src"), ap.add_argument("--until", type=float)
    args = ap.parse_args()
    if args.role == "writer":
        return writer(args.db, args.src, args.until, seed=7)

    import httpx
    import psutil

    work = Path(args.work or tempfile.mkdtemp(prefix="medialake-api-load-"))
    src, db = work / "src", str(work / "lake.lance")
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    load = lambda: Path("/proc/pressure/cpu").read_text().splitlines()[0]  # noqa: E731
    print(f"load at start: {load()}; {os.getloadavg()}", flush=True)
    if not Path(db).exists():
        t = time.time()
        make_source(src, args.files, seed=18)
        code = ("import sys; from medialake.jobs.ingest import ingest; from medialake.pipelines.config import load_config;"
                f"s = ingest(sys.argv[1], sys.argv[2], load_config(overrides={OVERRIDES!r}));"
                "print('ingested', s.ingested, 'failed', s.failed)")
        subprocess.run([sys.executable, "-c", code, str(src), db], env=env, check=True)
        print(f"database: {time.time() - t:.0f} s", flush=True)
    from medialake.operators.scan import asset_id_for
    from medialake.store import Store

    big_id = asset_id_for(str(src / "big.png"))
    segs = Store(db, create=False).table("segments").count_rows()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = subprocess.Popen([sys.executable, "-c", "import sys; from medialake.jobs.cli import main; sys.exit(main(sys.argv[1:]))",
                               "serve", "--db", db, "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                raise SystemExit(f"medialake serve exited with {server.returncode}")
            try:
                if httpx.get(base + "/api/search", params={"q": "budget"}, timeout=60).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        proc = psutil.Process(server.pid)
        rss0 = proc.memory_info().rss
        print(f"server pid {server.pid} on port {port}, {segs} segments, RSS {rss0 / 2**20:.0f} MiB", flush=True)

        # --- load: searches + writer; slow clients in the second half -------------------------
        t0 = time.time()
        until = t0 + args.seconds
        w = subprocess.Popen([sys.executable, __file__, "--role", "writer", "--db", db, "--src", str(src),
                              "--until", str(until)], env=env, stdout=subprocess.PIPE, text=True)
        lat, errors = [], []
        slow = {k: {"dropped": 0, "answered": 0, "held_s": []} for k in ("silent", "slowloris", "upload", "reader")}

        async def run():
            rng = random.Random(1)
            tasks = [searcher(base, until, lat, errors, random.Random(rng.random())) for _ in range(args.clients)]

            async def slow_half():
                await asyncio.sleep(args.seconds / 2)
                await asyncio.gather(*(slow_client(k, port, until, big_id, slow[k]) for k in slow for _ in range(args.slow)))
            await asyncio.gather(*tasks, slow_half())
        asyncio.run(run())
        rounds = [json.loads(line) for line in w.communicate(timeout=900)[0].splitlines() if line.startswith("{")]
        mid = t0 + args.seconds / 2
        first = [ms for ts, ms in lat if ts < mid]
        second = [ms for ts, ms in lat if ts >= mid]
        every = [ms for _, ms in lat]
        print(f"load over the run: {load()}; {os.getloadavg()}", flush=True)
        print(f"writer: {len(rounds)} rounds of (20 new files, ingest, compaction): {rounds}")
        print(f"searches: {len(lat)} ok, {len(errors)} errors, {len(lat) / args.seconds:.1f}/s; "
              f"p50 {pct(every, 50):.0f} ms, p99 {pct(every, 99):.0f} ms; first half (no slow clients) p50 "
              f"{pct(first, 50):.0f} p99 {pct(first, 99):.0f} ms ({len(first)}); second half "
              f"({args.slow} slow clients of each kind) p50 {pct(second, 50):.0f} p99 {pct(second, 99):.0f} ms ({len(second)})")
        for e in sorted(set(errors))[:5]:
            print("   error:", e)
        for k, v in slow.items():
            held = v["held_s"]
            print(f"slow {k:9s}: dropped by the server {v['dropped']} times, held {pct(held, 50):.1f} s median "
                  f"(max {max(held) if held else float('nan'):.1f}), answered {v['answered']}")
        rss1 = proc.memory_info().rss

        # --- hostile uploads ------------------------------------------------------------
        cases = hostile_cases(work)
        for kind, send in cases.items():  # warm-up: the first of each kind may load a model
            send(port)
        rss2 = proc.memory_info().rss
        n_ok, n_all, worst = 0, 0, {}
        for kind, send in cases.items():
            times, statuses = [], []
            for _ in range(1 if kind.startswith("flac") else args.repeat):  # not a refusal: a minute searched
                status, s = send(port)
                times.append(s)
                statuses.append(status)
                n_all += 1
                n_ok += refused(kind, status)
            if not kind.startswith("flac"):
                worst[kind] = max(times)
            else:
                audio_ms = max(times) * 1000
            print(f"hostile {kind}: {sorted(set(statuses))} in {pct(times, 50) * 1000:.0f} ms median, "
                  f"{max(times) * 1000:.0f} ms max")
        rss3 = proc.memory_info().rss
        growth = (rss3 - rss2) / 2**20
        print(f"server RSS MiB: start {rss0 / 2**20:.0f}, after the load {rss1 / 2**20:.0f}, after warm-up of the "
              f"hostile uploads {rss2 / 2**20:.0f}, after {n_all} more {rss3 / 2**20:.0f} ({growth:+.0f})")
        print(f"load at the end: {load()}; {os.getloadavg()}", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    slow_drops = sum(v["dropped"] for v in slow.values())
    print("RESULT " + " ".join([
        f"clients={args.clients}", f"seconds={args.seconds:.0f}", f"requests={len(lat) + len(errors)}",
        f"errors={len(errors)}", f"throughput_per_s={len(lat) / args.seconds:.1f}",
        f"p50_ms={pct(every, 50):.0f}", f"p99_ms={pct(every, 99):.0f}",
        f"p99_ms_no_slow_clients={pct(first, 99):.0f}", f"slow_client_p99_ms={pct(second, 99):.0f}",
        f"slow_clients={args.slow * len(slow)}", f"slow_drops={slow_drops}",
        f"writer_rounds={len(rounds)}", f"hostile_refused={n_ok}/{n_all}",
        f"hostile_max_ms={max(worst.values()) * 1000:.0f}", f"audio_bomb_ms={audio_ms:.0f}",
        f"rss_growth_mib={growth:.0f}",
    ]))


if __name__ == "__main__":
    main()
