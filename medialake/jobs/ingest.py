"""The ingest job: scan, diff against ``assets``, run the Ray Data plan, sink, record the run."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from medialake.operators.scan import scan
from medialake.pipelines.config import IngestConfig, load_config


@dataclass
class IngestSummary:
    seen: int
    ingested: int
    skipped: int
    failed: int
    segments: int
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        return (f"assets seen: {self.seen}, ingested: {self.ingested}, skipped: {self.skipped}, "
                f"failed: {self.failed} ({self.segments} segments, {self.seconds:.1f} s)")

    def to_dict(self) -> dict:
        return asdict(self)


def _unchanged(record, prev: dict | None, version: str) -> bool:
    if prev is None or prev["status"] != "done" or prev["pipeline_version"] != version:
        return False
    same_mtime = prev["mtime"] == record.mtime if record.mtime and prev["mtime"] else True
    return prev["size"] == record.size and same_mtime


def ingest(
    source: str | Path,
    db: str | Path,
    config: IngestConfig | None = None,
    *,
    profile: str | None = None,
    config_path: str | Path | None = None,
    full: bool = False,
    address: str | None = None,
) -> IngestSummary:
    """Ingest every media file under ``source`` into the LanceDB database ``db``.

    Files already ingested with the same size, mtime and pipeline version are skipped
    unless ``full``. A file that cannot be decoded becomes a failed asset row (with
    ``config.on_error == "record"``, the default) and the run goes on.
    """
    from medialake.pipelines.ingest import build
    from medialake.pipelines.runtime import ensure_ray
    from medialake.operators.sink import LanceSink
    from medialake.store import Store

    cfg = config or load_config(config_path, profile=profile)
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    version = cfg.config_hash()
    records = scan(str(source), cfg.extensions)
    store = Store(str(db))
    from medialake.pipelines.ingest import vector_dims

    store.ensure_vector_columns(vector_dims(cfg))  # image/audio vector columns, widths from the models
    prev = {r["asset_id"]: r for r in store.assets(["asset_id", "size", "mtime", "status", "pipeline_version"]).to_pylist()}
    todo = [r for r in records if full or not _unchanged(r, prev.get(r.asset_id), version)]
    skipped = len(records) - len(todo)
    # Leftovers of earlier runs for the assets about to be (re)done are removed first.
    store.delete_segments([r.asset_id for r in todo])

    counts = None
    if todo:
        ensure_ray(address)
        sink = LanceSink(store, pipeline_version=version)
        for batch in build(todo, cfg).iter_batches(batch_size=None, batch_format="pyarrow"):
            sink.write(batch)
        counts = sink.close()
        from medialake.pipelines.summaries import summarize_assets

        summarize_assets(store, [r.asset_id for r in todo], cfg)  # one summary per asset, on the driver
    summary = IngestSummary(
        seen=len(records),
        ingested=counts.done if counts else 0,
        skipped=skipped,
        failed=counts.failed if counts else 0,
        segments=counts.segments if counts else 0,
        seconds=time.perf_counter() - t0,
        failures=counts.failures if counts else {},
    )
    if todo:
        store.refresh_indexes()
    store.add("runs", pa.Table.from_pylist([{
        "run_id": uuid.uuid4().hex, "started_at": started, "finished_at": datetime.now(timezone.utc),
        "source": str(source), "config_hash": version, "seen": summary.seen, "ingested": summary.ingested,
        "skipped": summary.skipped, "failed": summary.failed, "segments": summary.segments,
    }]))
    return summary
