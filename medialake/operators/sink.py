"""The sink: write segment rows to ``segments``, then mark each asset done or failed.

Rows arrive in any order from the model stages. The sink counts the segments of each
asset and writes the asset row only when its last segment has been written, so an asset
marked ``done`` always has all its segments. The decoder streams segments before it knows
how many there are: their ``n_segments`` is null and a marker row (``segment_index`` -1)
closing the asset carries the count. A failed marker discards the asset's segments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from medialake import schema
from medialake.store import Store

@dataclass
class SinkCounts:
    done: int = 0
    failed: int = 0
    segments: int = 0
    failures: dict[str, str] = field(default_factory=dict)


class LanceSink:
    """Writes stream batches into ``store``; every asset row it writes records
    ``config_hash`` (``IngestConfig.config_hash()`` of the run) and its ``asset_extra``."""

    def __init__(self, store: Store, config_hash: str, flush_rows: int = 256,
                 asset_extra: dict[str, dict] | None = None):
        self.store = store
        # per asset id: more asset columns (content hash, locations, model versions, run id)
        self.asset_extra = asset_extra or {}
        self.failed_ids: set[str] = set()
        self.config_hash = config_hash
        self.flush_rows = flush_rows
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.seen: dict[str, int] = defaultdict(int)
        self.asset_rows: dict[str, dict] = {}
        self.ready: list[dict] = []
        self.counts = SinkCounts()
        self.expected: dict[str, dict] = {}  # asset id -> closing marker row (streamed assets)
        self.reported_failed: set[str] = set()  # failed assets already written as failed rows
        self.spoken: dict[str, dict[str, float]] = defaultdict(dict)  # asset id -> language -> seconds

    def write(self, batch: pa.Table) -> None:
        if self.failed_ids:
            batch = batch.filter(pc.invert(pc.is_in(batch.column("asset_id"), pa.array(sorted(self.failed_ids)))))
        is_seg = pc.greater_equal(batch.column("segment_index"), 0)
        segs = batch.filter(is_seg)
        markers = batch.filter(pc.invert(is_seg))
        if segs.num_rows:
            keep = [c for c in segs.column_names if c not in schema.STREAM_ONLY]
            self.pending.append(segs.select(keep))
            self.pending_rows += segs.num_rows
        if "language" in segs.column_names:
            self._tally(segs)
        for row in segs.select(list(schema.ASSET_FROM_STREAM)).to_pylist():
            aid = row["asset_id"]
            if aid in self.failed_ids:
                continue
            self.asset_rows.setdefault(aid, row)
            self.seen[aid] += 1
        for row in markers.select(list(schema.ASSET_FROM_STREAM) + ["error"]).to_pylist():
            error = row.pop("error")
            if error:
                self._discard(row["asset_id"])
                self._finish(row, error)
            elif row["n_segments"]:
                self.expected[row["asset_id"]] = row
            else:
                self._finish(row, None)
        if self.pending_rows >= self.flush_rows:
            self.flush()

    def _tally(self, segs: pa.Table) -> None:
        """Add the seconds of speech per language of these segments to their assets."""
        for aid, lang, a, b in zip(*(segs.column(c).to_pylist() for c in ("asset_id", "language", "start_s", "end_s"))):
            if lang:
                per = self.spoken[aid]
                per[lang] = per.get(lang, 0.0) + max(float(b or 0) - float(a or 0), 1e-3)

    def _language(self, aid: str) -> str | None:
        """The language spoken longest in an asset (ties: the first in alphabetical order)."""
        per = self.spoken.pop(aid, None)
        return min(per, key=lambda k: (-per[k], k)) if per else None

    def _complete(self) -> list[str]:
        return [a for a, m in self.expected.items() if self.seen.get(a, 0) >= m["n_segments"]]

    def _discard(self, aid: str) -> None:
        """Forget (and delete, if already written) the segments of an asset that failed midway."""
        self.failed_ids.add(aid)
        self.expected.pop(aid, None)
        self.asset_rows.pop(aid, None)
        if self.seen.pop(aid, 0):
            kept = []
            for t in self.pending:
                t = t.filter(pc.not_equal(t.column("asset_id"), aid))
                if t.num_rows:
                    kept.append(t)
            self.pending = kept
            self.pending_rows = sum(t.num_rows for t in kept)
            self.store.delete_segments([aid])

    def _finish(self, row: dict, error: str | None) -> None:
        row = dict(row)
        if error:  # one failed row fails its asset, once; its other segments are never committed
            if row["asset_id"] in self.reported_failed:
                return
            self.reported_failed.add(row["asset_id"])
            self.failed_ids.add(row["asset_id"])
            self.asset_rows.pop(row["asset_id"], None)
            self.seen.pop(row["asset_id"], None)
        row.update(self.asset_extra.get(row["asset_id"], {}))
        language = self._language(row["asset_id"])
        row.update(
            language=None if error else language,
            status="failed" if error else "done",
            reason=error,
            config_hash=self.config_hash,
            ingested_at=datetime.now(timezone.utc),
        )
        if error:
            row["n_segments"] = 0
            self.counts.failed += 1
            self.counts.failures[row["uri"]] = error
        else:
            self.counts.done += 1
        self.ready.append(row)

    def flush(self) -> None:
        """Write buffered segments, then the assets whose segments are all written."""
        if self.pending:
            table = pa.concat_tables(self.pending, promote_options="permissive")
            self.store.add("segments", table)
            self.counts.segments += table.num_rows
            self.pending, self.pending_rows = [], 0
        for aid in self._complete():
            self._finish(self.expected.pop(aid), None)
            self.asset_rows.pop(aid, None)
            del self.seen[aid]
        for aid in [a for a, n in self.seen.items()
                    if a in self.asset_rows and self.asset_rows[a]["n_segments"] and n >= self.asset_rows[a]["n_segments"]]:
            self._finish(self.asset_rows.pop(aid), None)
            del self.seen[aid]
        if self.ready:
            self.store.upsert_assets(pa.Table.from_pylist(self.ready))
            self.ready = []

    def close(self) -> SinkCounts:
        self.flush()
        return self.counts
