"""The LanceDB database: open it, create the tables, read the asset index.

One database is one directory (or object-store URI) holding the ``assets``, ``segments``
and ``runs`` tables, and ``frames`` once an ingest with an ``image_text`` model made it. Filters passed to LanceDB are built here from typed values with
:func:`sql_str`, never by pasting user text.
"""

from __future__ import annotations

from typing import Iterable

import pyarrow as pa

from medialake import schema
from medialake.errors import InputError

TABLES = {"assets": schema.ASSETS, "segments": schema.SEGMENTS, "runs": schema.RUNS}


def sql_str(value: str) -> str:
    """Quote ``value`` as an SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_in(column: str, values: Iterable[str]) -> str:
    vals = ", ".join(sql_str(v) for v in values)
    return f"{column} IN ({vals})" if vals else "false"


class Store:
    def __init__(self, uri: str, create: bool = True):
        import lancedb

        self.uri = str(uri)
        try:
            self.db = lancedb.connect(self.uri)
        except Exception as e:
            raise InputError(f"cannot open database {self.uri!r}: {e}") from e
        self._tables: dict = {}
        #: Lance storage options for direct dataset access (fragments, commits); None: from
        #: the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ... as for LanceDB).
        self.storage_options: dict | None = None
        if create:
            existing = set(self.table_names())
            for name, sch in TABLES.items():
                if name not in existing:
                    self.db.create_table(name, schema=sch, exist_ok=True)
            self.migrate()

    def has_table(self, name: str) -> bool:
        return name in self._tables or name in self.table_names()

    def frames(self):
        """The ``frames`` table, or None when the database has none (no image_text model yet)."""
        return self.table("frames") if self.has_table("frames") else None

    def table_names(self) -> list[str]:
        res = self.db.list_tables()
        return list(getattr(res, "tables", res))

    def table(self, name: str):
        if name not in self._tables:
            try:
                self._tables[name] = self.db.open_table(name)
            except (FileNotFoundError, ValueError) as e:
                raise InputError(
                    f"database {self.uri!r} has no {name!r} table; run `medialake ingest SOURCE --db {self.uri}` first"
                ) from e
        return self._tables[name]

    def forget(self, name: str) -> None:
        """Drop the cached handle of table ``name`` (it was changed behind LanceDB's back)."""
        self._tables.pop(name, None)

    def assets(self, columns: list[str] | None = None, where: str | None = None) -> pa.Table:
        q = self.table("assets").search()
        if where:
            q = q.where(where)
        if columns:
            q = q.select(columns)
        return q.limit(None).to_arrow() if hasattr(q, "limit") else q.to_arrow()

    def add(self, name: str, table: pa.Table) -> None:
        if table.num_rows:
            target = self.table(name).schema if name == "segments" else TABLES[name]
            self.table(name).add(schema.conform(table, target.with_metadata(TABLES[name].metadata)))

    def ensure_vector_columns(self, dims: dict[str, int]) -> None:
        """Add the nullable vector columns in ``dims`` (``{"image_vector": 512}``) to
        ``segments`` where missing; a column that exists with another width is an error."""
        from medialake.errors import ConfigError

        seg = self.table("segments")
        have = {f.name: f.type for f in seg.schema}
        missing = []
        for field in schema.vector_fields(dims):
            if field.name not in have:
                missing.append(field)
            elif have[field.name] != field.type:
                raise ConfigError(
                    f"segments.{field.name} in {self.uri!r} holds {have[field.name]} but the configured model "
                    f"gives {field.type}; use the model the database was built with, or a new --db")
        if missing:
            seg.add_columns(pa.schema(missing))
            self._tables.pop("segments", None)
        if "image_vector" in dims:
            self._ensure_frames(int(dims["image_vector"]))

    def _ensure_frames(self, dim: int) -> None:
        """Create the ``frames`` table for ``dim``-wide vectors, or check the one there is."""
        from medialake.errors import ConfigError

        want = schema.frames_schema(dim)
        if not self.has_table("frames"):
            self.db.create_table("frames", schema=want, exist_ok=True)
            return
        have = self.table("frames").schema.field("vector").type
        if have != want.field("vector").type:
            raise ConfigError(f"frames.vector in {self.uri!r} holds {have} but the configured image_text model "
                              f"gives {want.field('vector').type}; use the model the database was built with, or a new --db")

    def upsert_assets(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = schema.conform(rows, schema.ASSETS)
        (self.table("assets").merge_insert("asset_id").when_matched_update_all()
         .when_not_matched_insert_all().execute(rows))

    def delete_segments(self, asset_ids: list[str]) -> None:
        """Delete the segments of ``asset_ids``, and their frames."""
        frames = self.frames()
        for i in range(0, len(asset_ids), 500):
            cond = sql_in("asset_id", asset_ids[i : i + 500])
            self.table("segments").delete(cond)
            if frames is not None:
                frames.delete(cond)

    def refresh_indexes(self) -> None:
        """Rebuild the full-text index over the combined text after a run."""
        seg = self.table("segments")
        if seg.count_rows():
            seg.create_fts_index("text", replace=True)

    def migrate(self) -> None:
        """Bring tables made by an older medialake up to :data:`medialake.schema.SCHEMA_VERSION`.

        Renamed columns (:data:`medialake.schema.RENAMED`) are renamed in place, keeping
        their values; the nullable columns a newer medialake defines are added (null in
        existing rows); the table then records the current schema version.
        """
        for name, sch in TABLES.items():
            try:
                tbl = self.table(name)
            except InputError:
                continue
            have = set(tbl.schema.names)
            renames = [{"path": old, "rename": new} for old, new in schema.RENAMED.get(name, {}).items()
                       if old in have and new not in have]
            if renames:
                tbl.alter_columns(*renames)
                have = set(tbl.schema.names)
            missing = [f for f in sch if f.name not in have and f.nullable]
            if missing:
                tbl.add_columns(missing)
            version = schema.schema_version(tbl.schema)
            older = version is not None and version < schema.SCHEMA_VERSION
            if older:
                tbl.to_lance().update_schema_metadata({"medialake.schema_version": str(schema.SCHEMA_VERSION)})
            if renames or missing or older:
                self._tables.pop(name, None)

    def remove_orphans(self) -> int:
        """Delete ``segments`` data files that no version references: fragments a crashed
        run wrote but never committed (call under the database lock). Returns how many."""
        from medialake.operators.fragments import remove_orphans, segments_uri

        runs = self.table("runs")
        since = None
        if runs.count_rows():
            import pyarrow.compute as pc

            since = pc.max(runs.search().select(["finished_at"]).limit(None).to_arrow().column("finished_at")).as_py()
        removed = remove_orphans(segments_uri(self.uri), self.storage_options, since=since)
        self.forget("segments")
        if self.has_table("frames"):
            from medialake.operators.fragments import table_uri

            removed += remove_orphans(table_uri(self.uri, "frames"), self.storage_options, since=since)
            self.forget("frames")
        return removed

    def uncommitted_ids(self) -> list[str]:
        """Ids of assets whose segments must not be visible: every status but ``done``."""
        rows = self.assets(["asset_id"], where="status != 'done'")
        return rows.column("asset_id").to_pylist()

    def committed_filter(self) -> str | None:
        """SQL filter over ``segments`` that keeps only segments of committed assets.

        A run marks every asset it will write as ``pending`` before writing any of its
        segments and marks it ``done`` after the last one, so excluding the non-done
        assets hides half-written results. Returns None when nothing needs hiding.
        Combine with other filters using ``AND`` and pass ``prefilter=True``.
        """
        ids = self.uncommitted_ids()
        return f"NOT ({sql_in('asset_id', ids)})" if ids else None

    def remove_uncommitted(self, asset_ids: Iterable[str] | None = None) -> int:
        """Delete segments whose asset is not ``done`` (leftovers of a crashed run).

        With ``asset_ids``, only those assets are checked. Returns how many assets had
        leftovers removed.
        """
        seg = self.table("segments")
        if asset_ids is None:
            present = set(seg.search().select(["asset_id"]).limit(None).to_arrow().column("asset_id").to_pylist())
            frames = self.frames()
            if frames is not None:  # a crash between the frames' commit and the segments'
                present |= set(frames.search().select(["asset_id"]).limit(None).to_arrow()
                               .column("asset_id").to_pylist())
        else:
            present = set(asset_ids)
        if not present:
            return 0
        done = set(self.assets(["asset_id"], where="status = 'done'").column("asset_id").to_pylist())
        stale = sorted(present - done)
        self.delete_segments(stale)
        return len(stale)


# --- indexes and compaction (run after every ingest) ------------------------------------

#: Below this many non-null vectors a column is searched exactly (a flat scan is fast and
#: exact there); at or above it an ANN index is built.
ANN_MIN_ROWS = 50_000


def vector_columns(table) -> dict[str, int]:
    """``{column: dim}`` for every fixed-size float vector column of a LanceDB table."""
    out = {}
    for f in table.schema:
        t = f.type
        if pa.types.is_fixed_size_list(t) and pa.types.is_floating(t.value_type):
            out[f.name] = t.list_size
    return out


#: Rows per IVF partition, whatever the table's size. A query probes a fixed number of
#: partitions (``SearchConfig.nprobes``, 8), so a steady partition size keeps the share of
#: each query's neighbourhood that it searches, and with it the recall, as the table grows
#: (``benchmarks/search_bench.py``: recall@10 0.993-0.996 at 1M rows with nprobes 8; other sizes not yet measured),
#: and keeps each partition's HNSW graph quick to build and to search.
ROWS_PER_PARTITION = 8192

#: IVF_HNSW_SQ holds one byte per dimension and row (8-bit codes) plus its level-0 graph
#: (2*m neighbour ids of 4 bytes) in LanceDB's index cache, 6 GiB by default and shared by
#: every index of a table. A column whose index would pass this gets IVF_PQ instead
#: (dim/4 bytes a row), searched with a refine factor.
SQ_MAX_BYTES = 2 << 30


def index_type_for(n_rows: int, dim: int, m: int = 12) -> str:
    """IVF_HNSW_SQ while its in-memory size fits :data:`SQ_MAX_BYTES`, IVF_PQ above."""
    return "IVF_HNSW_SQ" if n_rows * (dim + 2 * m * 4) <= SQ_MAX_BYTES else "IVF_PQ"


def index_params(n_rows: int, dim: int, index_type: str | None = None) -> dict:
    """The ANN index parameters medialake uses for ``n_rows`` vectors of width ``dim``, in
    one place: the index type (:func:`index_type_for` when not given), the partitions
    (one per :data:`ROWS_PER_PARTITION` rows) and the type's own knobs.

    IVF_HNSW_SQ: each partition holds an HNSW graph over 8-bit scalar-quantised vectors;
    m=12 / ef_construction=64 build 4x faster than LanceDB's defaults (20 / 300) for the same
    recall once queries use ``ef`` ~100. IVF_PQ: dim/4 sub-vectors of 8 bits (96 bytes a
    row at 384 dims), searched with a refine factor that re-ranks at least
    ``medialake.search.lists.PQ_MIN_RERANK`` (200) candidates on full vectors. At 10M rows dim/8
    codes gave recall@10 0.61 (0.99 at 300k), dim/4 0.959, same build time (README, "10M rows")."""
    index_type = index_type or index_type_for(n_rows, dim)
    partitions = max(1, n_rows // ROWS_PER_PARTITION)
    if index_type == "IVF_HNSW_SQ":
        return {"index_type": index_type, "num_partitions": partitions, "m": 12, "ef_construction": 64}
    if index_type == "IVF_PQ":
        sub = dim // 4 if dim % 4 == 0 else dim // 2 if dim % 2 == 0 else dim
        return {"index_type": index_type, "num_partitions": partitions, "num_sub_vectors": sub}
    raise ValueError(f"unknown index type {index_type!r}; use IVF_HNSW_SQ or IVF_PQ")


def _index_on(table, column: str):
    for idx in table.list_indices():
        if list(idx.columns) == [column]:
            return idx
    return None


def ensure_vector_index(table, column: str, *, min_rows: int = ANN_MIN_ROWS, index_type: str | None = None,
                        rebuild_fraction: float = 0.5, **params) -> str:
    """Build or refresh the ANN index on ``column``; returns what it did.

    ``"exact"``: fewer than ``min_rows`` vectors, so no index (flat search is exact).
    ``"built"``: a new index (first time over the threshold, or the unindexed rows grew
    past ``rebuild_fraction`` of the indexed ones, so the partitions are retrained).
    ``"current"``: an index exists; new rows are folded in by :func:`optimize`.
    """
    n = table.count_rows(f"{column} IS NOT NULL")
    idx = _index_on(table, column)
    if n < min_rows:
        return "exact"
    if idx is not None:
        stats = table.index_stats(idx.name)
        if stats is not None and stats.num_unindexed_rows <= rebuild_fraction * max(1, stats.num_indexed_rows):
            return "current"
    p = {**index_params(n, vector_columns(table)[column], index_type), **params}
    table.create_index(metric="cosine", vector_column_name=column, replace=True, **p)
    return "built"


def ensure_fts_index(table, column: str = "text") -> str:
    """Build the full-text index (with word positions, for phrase queries) on ``column``.

    Returns ``"built"``, or ``"current"`` when an index with positions already exists (new
    rows are folded in by :func:`optimize`), or ``"empty"`` for an empty table.
    """
    if table.count_rows() == 0:
        return "empty"
    idx = _index_on(table, column)
    if idx is not None and (getattr(idx, "index_details", None) or {}).get("with_position"):
        return "current"
    table.create_fts_index(column, replace=True, with_position=True)
    return "built"


def optimize(table, keep_versions_for_s: float = 7 * 24 * 3600) -> None:
    """Compact small fragments, fold new rows into the indexes, drop old versions (many
    nightly runs each append a few fragments: reads slow down with their number).

    A table with a vector index is done with Lance directly, not LanceDB's ``optimize()``,
    which remaps the indexes in place and merges them, rebuilding every IVF_HNSW_SQ graph:
    recall@10 fell 0.98 -> 0.84-0.90 at 300k rows in 20 fragments, 0.995 -> 0.50 at 1M
    (lancedb 0.40, pylance 4.0.2). New rows go into delta indexes (``num_indices_to_merge=0``),
    then fragments are compacted with ``defer_index_remap`` (Lance maps the indexes' row
    addresses at query time), so compaction changes nothing an index returns
    (``tests/test_store.py``). :func:`ensure_vector_index` retrains an index once the rows it
    misses pass half of those it holds.
    """
    from datetime import timedelta

    if not table.count_rows():
        return
    if not any(str(i.index_type).upper().startswith("IVF") for i in table.list_indices()):
        # no vector index (assets, runs): LanceDB's own optimize (pylance 4.0.2's compaction
        # fails on the assets table's list-of-struct column: "Incorrect array length ...")
        table.optimize(cleanup_older_than=timedelta(seconds=keep_versions_for_s))
        return
    ds = lance_latest(table)
    # new rows into delta indexes first, while their fragments are new
    ds.optimize.optimize_indices(num_indices_to_merge=0)
    ds = lance_latest(table)
    ds.optimize.compact_files(defer_index_remap=True)
    ds = lance_latest(table)
    ds.cleanup_old_versions(older_than=timedelta(seconds=keep_versions_for_s))
    table.checkout_latest()


def lance_latest(table):
    """The Lance dataset behind ``table`` at its latest version."""
    ds = table.to_lance()
    return ds.checkout_version(ds.latest_version) if ds.version != ds.latest_version else ds


def needs_maintenance(store: "Store") -> bool:
    """True when ``segments`` has rows that its full-text index does not cover: the last
    :func:`maintain` did not finish (the process died during compaction or an index build),
    so the next ingest runs it even when no file changed."""
    seg = store.table("segments")
    if seg.count_rows() == 0:
        return False
    idx = _index_on(seg, "text")
    if idx is None:
        return True
    stats = seg.index_stats(idx.name)
    return stats is not None and stats.num_unindexed_rows > 0


def maintain(store: "Store", *, min_rows: int = ANN_MIN_ROWS, index_type: str | None = None) -> dict[str, str]:
    """After an ingest run: index every vector column and the combined text, then optimize.

    Returns ``{column: "exact" | "built" | "current" | "empty"}`` for the segments table.
    """
    seg = store.table("segments")
    report = {}
    for column in vector_columns(seg):
        report[column] = ensure_vector_index(seg, column, min_rows=min_rows, index_type=index_type)
    report["text"] = ensure_fts_index(seg, "text")
    frames = store.frames()
    if frames is not None:
        report["frames.vector"] = ensure_vector_index(frames, "vector", min_rows=min_rows, index_type=index_type)
    for name in ("segments", "assets", "runs") + (("frames",) if frames is not None else ()):
        optimize(store.table(name))
    return report
