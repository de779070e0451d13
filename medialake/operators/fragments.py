"""Segment rows written as Lance fragments where they are made; receipts for the committer.

The last stage of the plan runs :class:`FragmentWriter` on the workers: it writes the
segment rows of a batch as Lance data files next to the ``segments`` table
(:func:`lance.fragment.write_fragments`) and returns a *receipt*: one small row per asset
in the batch (how many of its segments the fragment holds) plus the batch's marker rows,
the fragment metadata as JSON on the first row. Thumbnails, texts and vectors never
travel to the driver, which only commits fragments (:func:`commit_fragments`, one Lance
``Append``) and flips assets from pending to done (:class:`medialake.operators.sink.LanceSink`).

The per-frame rows the ``image_text`` stage hands on (stream column ``frame_rows``) are
written the same way, as fragments of the ``frames`` table, named on the receipt's first
row (``frame_fragments``); the committer commits them with the segments, before the
assets they belong to turn done.

A written fragment is invisible until it is committed; one left by a crash is an
unreferenced file that :func:`remove_orphans` deletes when the next run starts.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc

from medialake import schema

#: Stream columns a receipt keeps (what the committer needs to finish an asset row).
RECEIPT_COLUMNS = schema.ASSET_FROM_STREAM + ("error", "segment_index")

#: A receipt: per asset, segments written (``written``), or a marker row (``segment_index`` -1);
#: ``fragments``: JSON list of ``FragmentMetadata`` on the receipt's first row, else null;
#: ``spoken``: JSON ``{language: seconds}`` of the asset's segments in this batch (its
#: asset's language is the one spoken longest).
RECEIPT = pa.schema([schema.STREAM.field(n) for n in RECEIPT_COLUMNS]
                    + [pa.field("written", pa.int32()), pa.field("fragments", pa.string()),
                       pa.field("spoken", pa.string()), pa.field("frame_fragments", pa.string())])


def is_receipt(batch: pa.Table) -> bool:
    return "fragments" in batch.column_names


def segments_uri(db: str) -> str:
    """Where LanceDB keeps the ``segments`` table of database ``db``."""
    return table_uri(db, "segments")


def table_uri(db: str, name: str) -> str:
    """Where LanceDB keeps table ``name`` of database ``db``."""
    return str(db).rstrip("/") + f"/{name}.lance"


def frame_table(segs: pa.Table) -> pa.Table | None:
    """The ``frames`` rows that the segment rows ``segs`` carry in ``frame_rows`` (None: none)."""
    if "frame_rows" not in segs.column_names or segs.column("frame_rows").null_count == segs.num_rows:
        return None
    rows = []
    cols = [segs.column(c).to_pylist() for c in ("asset_id", "segment_id", "media_type", "frame_rows")]
    for aid, sid, media, frames in zip(*cols):
        for i, f in enumerate(frames or []):
            rows.append({"asset_id": aid, "segment_id": sid, "media_type": media, "frame_index": i, **f})
    return pa.Table.from_pylist(rows) if rows else None


class FragmentWriter:
    """Batch callable: STREAM rows in, a :data:`RECEIPT` out, the segment rows written as
    uncommitted fragments of the Lance dataset at ``uri`` with ``target`` (its schema)."""

    def __init__(self, uri: str, target: pa.Schema, data_storage_version: str | None = None,
                 storage_options: dict | None = None, frames: "FragmentWriter | None" = None):
        self.uri, self.target = uri, target
        self.data_storage_version = data_storage_version
        self.storage_options = storage_options or None
        #: the writer of the ``frames`` table (None: the database has none, frame rows are dropped)
        self.frames = frames

    def write(self, segs: pa.Table) -> list[str]:
        """Write ``segs`` (segment rows, any stream columns) as fragments; their metadata as JSON."""
        keep = [c for c in segs.column_names if c not in schema.STREAM_ONLY]
        return self.write_rows(schema.conform(segs.select(keep), self.target))

    def write_rows(self, table: pa.Table) -> list[str]:
        """Write rows of this writer's table (conformed to its schema) as fragments; their metadata as JSON."""
        from lance.fragment import write_fragments

        table = schema.conform(table, self.target)
        frags = write_fragments(table, self.uri, schema=self.target, mode="append",
                                data_storage_version=self.data_storage_version,
                                storage_options=self.storage_options)
        return [json.dumps(f.to_json()) for f in frags]

    def __call__(self, batch: pa.Table) -> pa.Table:
        is_seg = pc.greater_equal(batch.column("segment_index"), 0)
        segs = batch.filter(is_seg)
        markers = batch.filter(pc.invert(is_seg)).select(list(RECEIPT_COLUMNS))
        rows = []
        if segs.num_rows:
            frags = self.write(segs)
            counts: dict[str, int] = {}
            first: dict[str, dict] = {}
            for row in segs.select(list(RECEIPT_COLUMNS)).to_pylist():
                counts[row["asset_id"]] = counts.get(row["asset_id"], 0) + 1
                first.setdefault(row["asset_id"], row)
            spoken = _spoken(segs)
            rows = [{**first[a], "written": n, "fragments": None, "frame_fragments": None,
                     "spoken": json.dumps(spoken[a]) if spoken.get(a) else None} for a, n in counts.items()]
            rows[0]["fragments"] = "[" + ", ".join(frags) + "]"
            frames = frame_table(segs) if self.frames is not None else None
            if frames is not None:
                rows[0]["frame_fragments"] = "[" + ", ".join(self.frames.write_rows(frames)) + "]"
        out = pa.Table.from_pylist(rows, schema=RECEIPT)
        if markers.num_rows:
            m = markers.append_column("written", pa.nulls(markers.num_rows, pa.int32()))
            m = m.append_column("fragments", pa.nulls(markers.num_rows, pa.string()))
            m = m.append_column("spoken", pa.nulls(markers.num_rows, pa.string()))
            m = m.append_column("frame_fragments", pa.nulls(markers.num_rows, pa.string()))
            out = pa.concat_tables([out, m.cast(RECEIPT)])
        return out


def _spoken(segs: pa.Table) -> dict[str, dict[str, float]]:
    """Per asset id, seconds of its segments per detected language."""
    out: dict[str, dict[str, float]] = {}
    if "language" not in segs.column_names:
        return out
    for aid, lang, a, b in zip(*(segs.column(c).to_pylist() for c in ("asset_id", "language", "start_s", "end_s"))):
        if lang:
            per = out.setdefault(aid, {})
            per[lang] = per.get(lang, 0.0) + max(float(b or 0) - float(a or 0), 1e-3)
    return out


def fragments_of(receipts: pa.Table, column: str = "fragments") -> list[str]:
    """The fragment metadata (JSON) a receipt table carries: of ``segments`` (``fragments``)
    or of ``frames`` (``frame_fragments``)."""
    if column not in receipts.column_names:
        return []
    return [json.dumps(f) for cell in receipts.column(column).to_pylist() if cell for f in json.loads(cell)]


def commit_fragments(uri: str, fragments: list[str], storage_options: dict | None = None) -> int:
    """Commit written fragments (their JSON metadata) to the dataset at ``uri`` in one
    Lance ``Append``: all of them become visible at once, or none. Returns the new version."""
    import lance
    from lance.fragment import FragmentMetadata

    if not fragments:
        return lance.dataset(uri, storage_options=storage_options).version
    metas = [FragmentMetadata.from_json(f) for f in fragments]
    ds = lance.dataset(uri, storage_options=storage_options)
    op = lance.LanceOperation.Append(metas)
    return lance.LanceDataset.commit(uri, op, read_version=ds.version, storage_options=storage_options).version


def _data_files(ds) -> set[str]:
    return {f.path for frag in ds.get_fragments() for f in frag.data_files()}


def _filesystem(uri: str, storage_options: dict | None):
    import pyarrow.fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    fs, path = pafs.FileSystem.from_uri(uri)
    return fs, path


def remove_orphans(uri: str, storage_options: dict | None = None, since: datetime | None = None) -> int:
    """Delete data files of the dataset at ``uri`` that no version references: fragments
    a run wrote and never committed (it crashed). ``since``: when the last run that
    finished ended (UTC); older files are left to Lance's own cleanup (``optimize``), so a
    database whose last run finished costs one listing. Only safe under the database lock
    (a fragment being written now looks the same). Returns how many files it deleted.

    (Lance's ``cleanup_old_versions(delete_unverified=True)`` would be the tool, but it
    lists only files older than the oldest version it keeps, so it never sees these.)
    """
    import lance
    import pyarrow.fs as pafs

    ds = lance.dataset(uri, storage_options=storage_options)
    fs, root = _filesystem(uri, storage_options)
    infos = fs.get_file_info(pafs.FileSelector(root.rstrip("/") + "/data", allow_not_found=True))
    floor = None if since is None else since.astimezone(timezone.utc) - timedelta(minutes=10)  # clock skew
    live = _data_files(ds)
    orphans = {i.base_name: i.path for i in infos if i.type == pafs.FileType.File and i.base_name not in live
               and (floor is None or i.mtime is None or i.mtime.astimezone(timezone.utc) >= floor)}
    for v in sorted(ds.versions(), key=lambda v: v["version"], reverse=True)[1:]:
        if not orphans:
            break
        ts = v["timestamp"].replace(tzinfo=timezone.utc) if v["timestamp"].tzinfo is None else v["timestamp"]
        if floor is not None and ts < floor:
            break  # an older version cannot name a newer file
        for name in _data_files(ds.checkout_version(v["version"])):
            orphans.pop(name, None)  # kept for time travel to that version
    for path in orphans.values():
        fs.delete_file(path)
    return len(orphans)
