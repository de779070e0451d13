"""Rescan benchmark: a nightly run over 10,000 unchanged files does no model work, fast.

    PYTHONPATH=. python benchmarks/rescan_bench.py [--files 10000]

Makes N small distinct files, writes the database a finished first run would leave (one
done asset with its content hash and locations, one segment per file; decoding 10,000
files is not what this measures), then times ``medialake.ingest`` over the unchanged
archive, and again after touching 1% of the files (mtime changes, same bytes: the
content hash is read to confirm, still no model work). Prints the figures side by side;
the goal is a no-change rescan <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.fs as pafs

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import medialake  # noqa: E402
from medialake.operators.diff import content_hash, diff  # noqa: E402
from medialake.operators.scan import scan  # noqa: E402
from medialake.pipelines.config import load_config  # noqa: E402
from medialake.pipelines.versions import model_versions  # noqa: E402
from medialake.store import Store  # noqa: E402


def make_archive(root: str, n: int) -> None:
    for i in range(n):
        d = os.path.join(root, f"d{i // 500:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"img{i:05d}.jpg"), "wb") as f:
            f.write(b"\xff\xd8" + i.to_bytes(4, "big") * 64)


def first_run_tables(root: str, db: str) -> None:
    """What a finished first run leaves: done assets (hash, locations, versions) and segments."""
    cfg = load_config()
    fs = pafs.LocalFileSystem()
    recs = scan(root, cfg.extensions)
    plan = diff(recs, [], root=root, config_hash=cfg.config_hash(), model_versions=model_versions(cfg),
                hasher=lambda r: content_hash(fs, r.path))
    now = datetime.now(timezone.utc)
    versions = model_versions(cfg)
    store = Store(db)
    store.upsert_assets(pa.Table.from_pylist([
        {"asset_id": w.asset_id, "uri": w.uri, "media_type": w.media_type, "size": w.size, "mtime": w.mtime,
         "content_hash": w.content_hash, "locations": plan.locations[w.asset_id], "status": "done",
         "config_hash": cfg.config_hash(), "model_versions": versions, "n_segments": 1, "ingested_at": now}
        for w in plan.todo]))
    store.add("segments", pa.Table.from_pylist([
        {"segment_id": w.asset_id + "-0", "asset_id": w.asset_id, "media_type": "image", "modality": "image",
         "segment_index": 0, "start_s": 0.0, "end_s": 0.0} for w in plan.todo]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rescan-") as tmp:
        root, db = os.path.join(tmp, "archive"), os.path.join(tmp, "lake.lance")
        t = time.perf_counter()
        make_archive(root, args.files)
        first_run_tables(root, db)
        setup_s = time.perf_counter() - t

        t = time.perf_counter()
        s1 = medialake.ingest(root, db)
        rescan_s = time.perf_counter() - t

        touched = sorted(os.listdir(os.path.join(root, "d000")))[: max(1, args.files // 100)]
        for name in touched:
            os.utime(os.path.join(root, "d000", name), (1_700_000_000, 1_700_000_000))
        t = time.perf_counter()
        s2 = medialake.ingest(root, db)
        touched_s = time.perf_counter() - t

        ray_started = "ray" in sys.modules and sys.modules["ray"].is_initialized()
        print(f"files: {args.files}  (setup of the first run's tables: {setup_s:.1f} s)")
        print(f"{'run':<34}{'seconds':>9}{'model work':>12}{'outcomes':>10}")
        print(f"{'rescan, no change':<34}{rescan_s:>9.2f}{s1.ingested:>12d}   {s1.details()}")
        print(f"{'rescan, 1% touched (same bytes)':<34}{touched_s:>9.2f}{s2.ingested:>12d}   {s2.details()}")
        print(f"goal: no-change rescan <= 10 s -> {rescan_s:.2f} s = {rescan_s / 10:.2f} x the goal; "
              f"touched/no-change = {touched_s / rescan_s:.2f}; Ray started: {ray_started}")
        assert s1.ingested == 0 and s2.ingested == 0 and not ray_started, "a rescan with no change did model work"


if __name__ == "__main__":
    main()
