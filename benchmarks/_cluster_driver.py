"""The driver of ``benchmarks/cluster_bench.py``: one process that runs the ingest and
nothing else, so its CPU (read by the bench with ``os.wait4`` when it exits) is the
driver's whole cost: interpreter start, imports, joining the cluster, the pipeline,
the commits, indexing, the run's row. Only the optional profile's sampling thread
(``--profile``) is not the driver's work; its own CPU is reported and taken out.

    python benchmarks/_cluster_driver.py SRC DB ADDRESS MODEL_DIR OUT_JSON [--profile] [--commit-every-s=S]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def main(argv: list[str]) -> int:
    at_main = time.process_time()  # the interpreter's start and this script's imports
    src, db, address, model_dir, out = argv[:5]
    profile = "--profile" in argv
    from cluster_bench import DriverProfile, config

    import medialake

    every = [float(a.split("=", 1)[1]) for a in argv if a.startswith("--commit-every-s=")]
    cfg = config(model_dir, *every)
    prof = DriverProfile() if profile else None
    if prof is not None:
        prof.__enter__()
    t, at_ingest = time.perf_counter(), time.process_time()
    try:
        summary = medialake.ingest(src, db, config=cfg, address=address)
    finally:
        wall, after_ingest = time.perf_counter() - t, time.process_time()
        if prof is not None:
            prof.__exit__(None, None, None)
    threads = prof.by_thread() if prof is not None else {}
    Path(out).write_text(json.dumps({
        "seconds": wall, "commits": summary.commits, "first_commit_s": summary.first_commit_s,
        "line": summary.line(), "phases": prof.cpu if prof is not None else {}, "threads": threads,
        "process_phases": prof.process_cpu if prof is not None else {},
        "calls": prof.calls if prof is not None else {},
        "process_cpu_at": {"main": at_main, "ingest": at_ingest, "after ingest": after_ingest},
        "measuring_cpu_s": threads.get("driver-profile", 0.0)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
