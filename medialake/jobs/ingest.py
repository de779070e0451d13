"""The ingest job: scan, diff against ``assets``, run the Ray Data plan, sink, record the run."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from medialake.operators.diff import OUTCOMES
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
    outcomes: dict[str, int] = field(default_factory=dict)  # new, changed, moved, deleted, ...
    run_id: str | None = None
    #: seconds from the start of the run until the first finished segment reached the sink:
    #: the stream's warm-up (actors started, models loaded, the first file through every stage)
    first_result_s: float | None = None
    #: seconds from the start of the run until the first asset was committed (searchable)
    first_commit_s: float | None = None
    #: commits of segment fragments the run made (each one Lance Append, then the assets it completes)
    commits: int = 0

    def line(self) -> str:
        return (f"assets seen: {self.seen}, ingested: {self.ingested}, skipped: {self.skipped}, "
                f"failed: {self.failed} ({self.segments} segments, {self.seconds:.1f} s)")

    def details(self) -> str:
        """One line of the diff outcomes, e.g. ``new: 3, changed: 1, unchanged: 9, ...``."""
        return ", ".join(f"{k}: {v}" for k, v in self.outcomes.items())

    def to_dict(self) -> dict:
        return asdict(self)


def _hash_or_marker(content_hash, fs, record) -> str:
    """The content hash of a file, or a per-uri marker when it cannot be read (a dangling
    link, no permission): the file then goes on to decode, which records why it failed."""
    try:
        return content_hash(fs, record.path)
    except OSError:
        return f"unreadable:{record.uri}"


def ingest(
    source: str | Path,
    db: str | Path,
    config: IngestConfig | None = None,
    *,
    profile: str | None = None,
    config_path: str | Path | None = None,
    full: bool = False,
    address: str | None = None,
    progress=None,
) -> IngestSummary:
    """Ingest every media file under ``source`` into the LanceDB database ``db``.

    Only what changed since the last run goes through the models: new files, changed
    files (size, mtime or etag differ and the content hash confirms it), files processed
    with another config or model version, and assets not done (failed, or left pending
    by a crash). Moved and duplicated files only gain a location; assets whose files are
    all gone are marked deleted and lose their segments. ``full`` redoes every asset.

    The run holds the database lock (a second ingest on the same database refuses), and
    follows the commit protocol: an asset is marked ``pending`` before any of its segments
    is written and ``done`` after the last one, and leftovers of assets not done are
    removed when a run starts, so a crash at any point leaves nothing half visible and the
    next run finishes the work. A file that cannot be decoded, or on which a model keeps
    failing, becomes a failed asset row (with ``config.on_error == "record"``, the
    default) and the run goes on. Every run adds a row to ``runs``.

    ``progress``: an observer told what the run does (``begin(total, sizes)``, ``batch(table)``
    for every batch that reaches the sink, ``set_phase(name)``, ``close()``), such as
    :class:`medialake.jobs.progress.IngestProgress`.
    """
    from medialake.jobs.checks import writable_database
    from medialake.lock import DatabaseLock

    from medialake.operators.scan import resolve_source

    cfg = config or load_config(config_path, profile=profile)
    resolve_source(str(source))  # a missing source fails before the database is touched
    writable_database(str(db))  # a file, a read-only directory: one line, before any work
    with DatabaseLock(str(db)):
        try:
            return _run(source, db, cfg, full=full, address=address, progress=progress)
        finally:
            if progress is not None:
                progress.close()


@dataclass(frozen=True)
class _RunIds:
    """What every row a run writes is stamped with."""

    run_id: str
    config_hash: str
    model_versions: str


def _run(source, db, cfg: IngestConfig, *, full: bool, address: str | None, progress=None) -> IngestSummary:
    from medialake.operators.scan import resolve_source
    from medialake.pipelines.versions import model_versions
    from medialake.store import Store, maintain, needs_maintenance

    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    ids = _RunIds(run_id=uuid.uuid4().hex, config_hash=cfg.config_hash(), model_versions=model_versions(cfg))
    fs, root_path, prefix = resolve_source(str(source))
    records = scan(str(source), cfg.extensions)
    store = Store(str(db))
    prev, changes = _changes(store, records, cfg, ids, fs=fs, root=prefix + root_path, full=full)
    now = datetime.now(timezone.utc)
    _rewrite_assets(store, changes, prev, ids.run_id, now)  # moves, duplicates, metadata, deletions
    # the work: mark pending, drop old segments, run the pipeline; the sink marks done
    extra = {w.asset_id: {"content_hash": w.content_hash, "etag": w.etag, "locations": changes.locations[w.asset_id],
                          "model_versions": ids.model_versions, "run_id": ids.run_id} for w in changes.todo}
    counts, first_result = None, None
    if changes.todo:
        _mark_pending(store, changes, extra, ids.config_hash, now)
        counts, first_result = _process(store, changes, cfg, extra, ids.config_hash, address, t0, progress)
    summary = IngestSummary(
        seen=len(records),
        ingested=counts.done if counts else 0,
        skipped=len(records) - len(changes.todo),
        failed=counts.failed if counts else 0,
        segments=counts.segments if counts else 0,
        seconds=time.perf_counter() - t0,
        failures=counts.failures if counts else {},
        outcomes={k: changes.count(k) for k in OUTCOMES},
        run_id=ids.run_id,
        first_result_s=first_result,
        first_commit_s=(counts.first_commit_at - t0) if counts and counts.first_commit_at else None,
        commits=counts.commits if counts else 0,
    )
    if changes.todo or changes.deleted or needs_maintenance(store):  # also after a crash in maintain
        # vector index per vector column (exact search below the threshold), positional
        # full-text index, then compaction: see medialake.store.maintain
        if progress is not None:
            progress.set_phase("indexing")
        if address:  # on a cluster: in a Ray task there, not in this driver process
            from medialake.pipelines.runtime import maintain_on_cluster

            maintain_on_cluster(store)
            for name in ("segments", "frames", "assets", "runs"):
                store.forget(name)  # changed by the task: the next read sees its versions
        else:
            maintain(store)
    _record_run(store, summary, ids, source=source, started=started, full=full, address=address)
    return summary


def _changes(store, records, cfg: IngestConfig, ids: _RunIds, *, fs, root: str, full: bool):
    """Prepare the database (vector columns, leftovers of a crashed run removed) and diff
    the scanned ``records`` against its assets: returns (previous asset rows, changes)."""
    from medialake.operators.diff import content_hash, diff
    from medialake.pipelines.plan import vector_dims

    from medialake.integrity import ensure_intact

    ensure_intact(store.uri, storage_options=store.storage_options)  # damaged files: refuse with the fix
    store.ensure_vector_columns(vector_dims(cfg))  # image/audio vector columns, widths from the models
    store.remove_uncommitted()  # leftovers of a crashed run: segments of assets not done
    store.remove_orphans()  # and fragments it wrote but never committed
    prev = store.assets().to_pylist()
    changes = diff(records, prev, root=root, config_hash=ids.config_hash, model_versions=ids.model_versions,
                   full=full, hasher=lambda r: _hash_or_marker(content_hash, fs, r))
    return prev, changes


def _rewrite_assets(store, changes, prev: list[dict], run_id: str, now: datetime) -> None:
    """The changes that need no model work: rewritten asset rows, then deleted assets."""
    # 1. moves, duplicates, refreshed metadata: rewrite asset rows, no model work
    if changes.updates:
        store.upsert_assets(pa.Table.from_pylist(changes.updates))
    # 2. deleted: hide the asset first, then remove its segments
    if changes.deleted:
        by_id = {a["asset_id"]: a for a in prev}
        gone = [{**by_id[aid], "status": "deleted", "reason": "no file under the source holds it any more",
                 "locations": [], "n_segments": 0, "ingested_at": now, "run_id": run_id} for aid in changes.deleted]
        store.upsert_assets(pa.Table.from_pylist(gone))
        store.delete_segments(changes.deleted)


def _mark_pending(store, changes, extra: dict[str, dict], config_hash: str, now: datetime) -> None:
    """Mark the assets to process ``pending`` (their segments stay hidden until the sink
    marks them done) and drop their old segments."""
    store.upsert_assets(pa.Table.from_pylist([
        {"asset_id": w.asset_id, "uri": w.uri, "media_type": w.media_type, "size": w.size, "mtime": w.mtime,
         "status": "pending", "config_hash": config_hash, "ingested_at": now, **extra[w.asset_id]}
        for w in changes.todo]))
    store.delete_segments([w.asset_id for w in changes.todo])


def _process(store, changes, cfg: IngestConfig, extra: dict[str, dict], config_hash: str, address: str | None,
             t0: float, progress=None):
    """Run the pipeline over ``changes.todo`` into the sink, which marks assets done, then
    summarize each asset. Returns (sink counts, seconds until the first result)."""
    from medialake.operators.sink import LanceSink, writer_for
    from medialake.pipelines.adapter import new_ledger
    from medialake.pipelines.plan import build
    from medialake.pipelines.runtime import ensure_ray
    from medialake.pipelines.summaries import preload, summarize_assets

    first_result = None
    if progress is not None:
        progress.begin(len(changes.todo), {w.asset_id: w.size or 0 for w in changes.todo})
    ray = ensure_ray(address)
    summarizer = preload(cfg)  # loads in a driver thread while the stream runs
    sink = LanceSink(store, config_hash=config_hash, asset_extra=extra, flush_rows=cfg.commit_every,
                     flush_s=cfg.commit_every_s)
    # the workers write the segment rows as fragments; the driver gets receipts and commits.
    # The attempt ledger's counts (in the GCS key-value store) are dropped with the stream,
    # so a long-lived driver (``medialake watch``) leaves none behind.
    ledger = new_ledger()
    try:
        plan = build(changes.todo, cfg, writer=writer_for(store), ledger=ledger)
        for batch in plan.iter_batches(batch_size=None, batch_format="pyarrow"):
            if first_result is None:
                first_result = time.perf_counter() - t0
            sink.write(batch)
            if progress is not None:
                progress.batch(batch)
    finally:
        ledger.close()
    counts = sink.close()
    if progress is not None:
        progress.set_phase("writing summaries")
    store.remove_uncommitted([w.asset_id for w in changes.todo])  # segments of assets that failed midway
    # one summary per asset, on the driver
    summarize_assets(store, [w.asset_id for w in changes.todo], cfg, loading=summarizer)
    return counts, first_result


def _record_run(store, summary: IngestSummary, ids: _RunIds, *, source, started: datetime, full: bool,
                address: str | None) -> None:
    """Add the run's row to ``runs``."""
    store.add("runs", pa.Table.from_pylist([{
        "run_id": ids.run_id, "started_at": started, "finished_at": datetime.now(timezone.utc),
        "source": str(source), "config_hash": ids.config_hash, "seen": summary.seen, "ingested": summary.ingested,
        "skipped": summary.skipped, "failed": summary.failed, "segments": summary.segments,
        "status": "done", "full": full, "address": address, "model_versions": ids.model_versions,
        **summary.outcomes,
    }]))
