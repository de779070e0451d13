"""Where a run leaves cores idle: ``medialake.ingest`` of a folder with a per-second
timeline of the CPU the process tree uses, split into the model actors, the driver and
the rest (Ray's daemons, Ray Data's actors).

    python benchmarks/cpu_timeline.py [FOLDER] [--set ROLE.FIELD=JSON ...]

FOLDER defaults to the ingest bench's default corpus (``python benchmarks/ingest_bench.py``
makes it). A stretch at ~1.0 on a 2-core machine is a stretch where one core idles: how the
seventh tuning round (README) found the OCR lock and the two-files-per-task tail. Prints
the timeline, then ``RESULT wall_s=X first_result_s=X busy_frac=X`` (CPU-s over cores x wall).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=os.path.join(tempfile.gettempdir(),
                                                              "medialake-bench-corpus-6-30-4-20-20"))
    ap.add_argument("--set", action="append", default=[], metavar="ROLE.FIELD=JSON")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.folder):
        raise SystemExit(f"{a.folder} is not a folder: run benchmarks/ingest_bench.py once, or name one")
    import medialake
    from medialake.pipelines.config import load_config
    from medialake.pipelines.runtime import ensure_ray

    overrides: dict = {}
    for item in a.set:
        key, _, val = item.partition("=")
        sec, _, field = key.partition(".")
        try:
            overrides.setdefault(sec, {})[field] = json.loads(val)
        except json.JSONDecodeError:
            overrides.setdefault(sec, {})[field] = val
    cfg = load_config(None, overrides=overrides)
    ensure_ray()
    import lancedb  # noqa: F401  (start-up, not the run)

    me, rows, stop = os.getpid(), [], threading.Event()

    def sample():
        prev, t0 = {}, time.perf_counter()
        while not stop.is_set():
            cur = {}
            for p in psutil.process_iter(["pid", "cmdline"]):
                try:
                    ct = p.cpu_times()
                    cur[p.pid] = (ct.user + ct.system, " ".join((p.info["cmdline"] or [""])[:1]))
                except psutil.Error:
                    pass
            if prev:
                kinds: dict[str, float] = {}
                for pid, (c, name) in cur.items():
                    if pid in prev and c - prev[pid][0] > 0.005:
                        k = "models" if "MapWorker" in name else ("driver" if pid == me else "other")
                        kinds[k] = kinds.get(k, 0.0) + c - prev[pid][0]
                rows.append((time.perf_counter() - t0, kinds))
            prev = cur
            stop.wait(1.0)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as db:
        summary = medialake.ingest(a.folder, os.path.join(db, "t.lance"), config=cfg, full=True)
    wall = time.perf_counter() - t
    stop.set()
    th.join()
    cores = psutil.cpu_count() or 1
    for now, kinds in rows:
        tot = sum(kinds.values())
        print(f"{now:6.1f} s {tot:4.2f} cores  " + " ".join(f"{k} {v:.2f}" for k, v in sorted(kinds.items()))
              + "  " + "#" * int(tot * 20))
    busy = sum(sum(k.values()) for _, k in rows) / (cores * max(rows[-1][0], 1e-9)) if rows else float("nan")
    print(f"RESULT wall_s={wall:.1f} first_result_s={summary.first_result_s or float('nan'):.1f} busy_frac={busy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
