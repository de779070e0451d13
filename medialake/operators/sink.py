"""The sink: commit segment fragments to ``segments``, then mark each asset done or failed.

Rows arrive in any order from the model stages, as *receipts*
(:mod:`medialake.operators.fragments`): the workers have already written the segment rows
as uncommitted Lance fragments; a receipt says how many segments of which asset a
fragment holds. The sink counts the segments of each asset and marks the asset done only
after the fragments holding all of them are committed, so an asset marked ``done`` always
has all its segments. The decoder streams segments before it knows how many there are:
their ``n_segments`` is null and a marker row (``segment_index`` -1) closing the asset
carries the count. A failed marker discards the asset's segments.

Commits come in batches: when ``flush_rows`` segments wait, or ``flush_s`` seconds after
the last commit, so assets become searchable while a run goes. Each commit is one Lance
``Append`` of the waiting fragments, then one upsert of the assets they complete.
Plain stream rows (no receipt) are written as fragments here first: the same protocol
for a loop that calls the operators in one process. The ``frames`` rows of the segments
(per-frame vectors) travel the same way and are committed just before them.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from medialake import schema
from medialake.operators.fragments import (FragmentWriter, commit_fragments, fragments_of, is_receipt, segments_uri,
                                           table_uri)
from medialake.store import Store


@dataclass
class SinkCounts:
    done: int = 0
    failed: int = 0
    segments: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    commits: int = 0
    #: seconds (time.perf_counter) of the first commit that marked an asset done or failed
    first_commit_at: float | None = None


def writer_for(store: Store) -> FragmentWriter:
    """The :class:`FragmentWriter` of ``store``'s ``segments`` table (its schema and format),
    with the writer of its ``frames`` table when it has one."""
    seg = store.table("segments")
    target = seg.schema.with_metadata(schema.SEGMENTS.metadata)
    version = seg.to_lance().data_storage_version
    frames = None
    if store.has_table("frames"):
        fr = store.table("frames")
        frames = FragmentWriter(table_uri(store.uri, "frames"), fr.schema, storage_options=store.storage_options,
                                data_storage_version=fr.to_lance().data_storage_version)
    return FragmentWriter(segments_uri(store.uri), target, data_storage_version=version,
                          storage_options=store.storage_options, frames=frames)


class LanceSink:
    """Commits stream receipts into ``store``; every asset row it writes records
    ``config_hash`` (``IngestConfig.config_hash()`` of the run) and its ``asset_extra``."""

    def __init__(self, store: Store, config_hash: str, flush_rows: int = 256, flush_s: float = 2.0,
                 asset_extra: dict[str, dict] | None = None):
        self.store = store
        # per asset id: more asset columns (content hash, locations, model versions, run id)
        self.asset_extra = asset_extra or {}
        self.config_hash = config_hash
        self.flush_rows, self.flush_s = flush_rows, flush_s
        self.fragments: list[str] = []  # written, not committed yet (JSON metadata)
        self.frame_fragments: list[str] = []  # of the frames table, likewise
        self.pending_rows = 0
        self.last_flush = time.perf_counter()
        self.seen: dict[str, int] = defaultdict(int)  # segments of an asset in fragments so far
        self.asset_rows: dict[str, dict] = {}
        self.ready: list[dict] = []
        self.counts = SinkCounts()
        self.expected: dict[str, dict] = {}  # asset id -> closing marker row (streamed assets)
        self.failed_ids: set[str] = set()
        self.failed_written: set[str] = set()  # failed assets with segments in fragments: delete after commit
        self.reported_failed: set[str] = set()  # failed assets already written as failed rows
        self.spoken: dict[str, dict[str, float]] = defaultdict(dict)  # asset id -> language -> seconds
        self._local: FragmentWriter | None = None

    def write(self, batch: pa.Table) -> None:
        if not is_receipt(batch):
            if self._local is None:
                self._local = writer_for(self.store)
            batch = self._local(batch)
        self.fragments.extend(fragments_of(batch))
        self.frame_fragments.extend(fragments_of(batch, "frame_fragments"))
        is_seg = pc.greater_equal(batch.column("segment_index"), 0)
        segs = batch.filter(is_seg)
        self._tally(segs)
        for row in segs.to_pylist():
            aid = row["asset_id"]
            self.pending_rows += row["written"]
            if aid in self.failed_ids:  # late segments of a failed asset: deleted after the commit
                self.failed_written.add(aid)
                continue
            self.asset_rows.setdefault(aid, row)
            self.seen[aid] += row["written"]
        for row in batch.filter(pc.invert(is_seg)).to_pylist():
            if row["error"]:
                self._discard(row["asset_id"])
                self._finish(row, row["error"])
            elif row["n_segments"]:
                self.expected[row["asset_id"]] = row
            else:
                self._finish(row, None)
        due = time.perf_counter() - self.last_flush >= self.flush_s
        if self.pending_rows >= self.flush_rows or (due and (self.fragments or self.ready or self._complete())):
            self.flush()

    def _tally(self, receipts: pa.Table) -> None:
        """Add the seconds of speech per language that these receipts carry to their assets."""
        for aid, cell in zip(receipts.column("asset_id").to_pylist(), receipts.column("spoken").to_pylist()):
            for lang, secs in (json.loads(cell) if cell else {}).items():
                per = self.spoken[aid]
                per[lang] = per.get(lang, 0.0) + secs

    def _language(self, aid: str) -> str | None:
        """The language spoken longest in an asset (ties: the first in alphabetical order)."""
        per = self.spoken.pop(aid, None)
        return min(per, key=lambda k: (-per[k], k)) if per else None

    def _complete(self) -> list[str]:
        return [a for a, m in self.expected.items() if self.seen.get(a, 0) >= m["n_segments"]]

    def _discard(self, aid: str) -> None:
        """Forget an asset that failed midway; segments of it already written are deleted
        after the next commit (hidden until then: the asset is not done)."""
        if aid in self.failed_ids:
            return
        self.failed_ids.add(aid)
        self.expected.pop(aid, None)
        self.asset_rows.pop(aid, None)
        if self.seen.pop(aid, 0):
            self.failed_written.add(aid)

    def _finish(self, row: dict, error: str | None) -> None:
        row = {k: row.get(k) for k in schema.ASSET_FROM_STREAM}
        aid = row["asset_id"]
        if error:  # one failed row fails its asset, once; its segments are never committed as done
            if aid in self.reported_failed:
                return
            self.reported_failed.add(aid)
        row.update(self.asset_extra.get(aid, {}))
        language = self._language(aid)
        row.update(language=None if error else language, status="failed" if error else "done", reason=error,
                   config_hash=self.config_hash, ingested_at=datetime.now(timezone.utc))
        if error:
            row["n_segments"] = 0
            self.counts.failed += 1
            self.counts.failures[row["uri"]] = error
        else:
            self.counts.done += 1
            self.counts.segments += row["n_segments"] or 0
        self.ready.append(row)

    def flush(self) -> None:
        """Commit the written fragments (frames, then segments), then mark the assets they
        complete done: an asset turns done only once its segments and frames are committed."""
        if self.frame_fragments:
            commit_fragments(table_uri(self.store.uri, "frames"), self.frame_fragments, self.store.storage_options)
            self.store.forget("frames")
            self.frame_fragments = []
        if self.fragments:
            commit_fragments(segments_uri(self.store.uri), self.fragments, self.store.storage_options)
            self.store.forget("segments")  # the next read sees the new version
            self.counts.commits += 1
            self.fragments = []
        self.pending_rows = 0
        if self.failed_written:  # hidden already (not done); now gone
            self.store.delete_segments(sorted(self.failed_written))
            self.failed_written = set()
        for aid in self._complete():
            self._finish(self.expected.pop(aid), None)
            self.asset_rows.pop(aid, None)
            del self.seen[aid]
        # rows that carry their asset's count (no closing marker): done once all are in
        for aid in [a for a, n in self.seen.items()
                    if a in self.asset_rows and self.asset_rows[a]["n_segments"] and n >= self.asset_rows[a]["n_segments"]]:
            self._finish(self.asset_rows.pop(aid), None)
            del self.seen[aid]
        if self.ready:
            self.store.upsert_assets(pa.Table.from_pylist(self.ready))
            if self.counts.first_commit_at is None:
                self.counts.first_commit_at = time.perf_counter()
            self.ready = []
        self.last_flush = time.perf_counter()

    def close(self) -> SinkCounts:
        self.flush()
        return self.counts
