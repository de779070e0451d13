"""The tables: readable without medialake (polars, duckdb), versioned, strict writers,
migrated from older versions, indexed and compacted after a run."""

from datetime import datetime, timezone

import lance
import numpy as np
import pyarrow as pa
import pytest

from medialake import schema, store as st
from medialake.errors import InputError
from medialake.store import Store

def test_tables_read_with_polars_without_medialake(lake):
    import polars as pl

    seg = pl.scan_pyarrow_dataset(lance.dataset(f"{lake}/segments.lance"))
    per_type = (seg.select("asset_id", "media_type", "end_s", "start_s")
                .group_by("media_type").agg(pl.len().alias("n")).sort("media_type").collect())
    assert dict(zip(per_type["media_type"], per_type["n"])) == {"audio": 3, "image": 1, "video": 5}
    assets = pl.from_arrow(lance.dataset(f"{lake}/assets.lance").to_table(columns=["uri", "duration_s"]))
    assert assets.filter(pl.col("uri").str.ends_with("budget.mp4"))["duration_s"].item() == 30.0
    vec = pl.from_arrow(lance.dataset(f"{lake}/segments.lance").to_table(columns=["text_vector"]))["text_vector"]
    assert vec.dtype == pl.Array(pl.Float32, 384)


def test_tables_read_with_duckdb(lake):
    import duckdb

    segments = lance.dataset(f"{lake}/segments.lance").to_table(columns=["asset_id", "language"])  # noqa: F841
    rows = duckdb.sql("SELECT asset_id FROM segments WHERE language = 'de'").fetchall()
    assert rows == [("a2",)]


def test_schema_version_is_recorded_and_checked(lake):
    sch = lance.dataset(f"{lake}/segments.lance").schema
    assert schema.schema_version(sch) == schema.SCHEMA_VERSION
    newer = sch.with_metadata({b"medialake.schema_version": str(schema.SCHEMA_VERSION + 1).encode()})
    with pytest.raises(InputError, match="newer than this medialake"):
        schema.check_version(newer, "segments")


def test_writers_reject_unknown_columns(tmp_path):
    store = Store(str(tmp_path / "db"))
    with pytest.raises(ValueError, match="not in the segments schema"):
        store.add("segments", pa.table({"segment_id": ["s"], "asset_id": ["a"], "typo_colum": [1]}))


def _rows(n, start=0, dim=384, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = [f"s{start + i}" for i in range(n)]
    return pa.table({
        "segment_id": ids, "asset_id": [f"a{(start + i) // 10}" for i in range(n)], "media_type": ["video"] * n,
        "modality": ["video"] * n, "segment_index": pa.array([i % 10 for i in range(n)], pa.int32()),
        "start_s": [float(i % 10) * 10 for i in range(n)], "end_s": [float(i % 10) * 10 + 10 for i in range(n)],
        "text": [f"word{(start + i) % 37} segment number {start + i}" for i in range(n)],
        "text_vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim),
    }), v


def test_maintain_indexes_above_threshold_and_compacts(tmp_path):
    store = Store(str(tmp_path / "db"))
    vecs = []
    for k in range(6):  # six "nightly runs", each appending a fragment
        t, v = _rows(100, start=100 * k, seed=k)
        store.add("segments", t)
        vecs.append(v)
    seg = store.table("segments")
    assert len(seg.to_lance().get_fragments()) == 6
    assert st.maintain(store, min_rows=10_000) == {"text_vector": "exact", "text": "built"}
    assert len(seg.to_lance().get_fragments()) == 1  # compacted
    report = st.maintain(store, min_rows=500)
    assert report["text_vector"] == "built" and report["text"] == "current"
    kinds = {tuple(i.columns): i.index_type for i in seg.list_indices()}
    assert kinds[("text_vector",)] == "IvfHnswSq" and kinds[("text",)] == "FTS"
    # new rows after the index: folded in by optimize, still found
    t, v = _rows(50, start=600, seed=9)
    store.add("segments", t)
    assert st.maintain(store, min_rows=500)["text_vector"] == "current"
    assert seg.index_stats(seg.list_indices()[0].name).num_unindexed_rows == 0
    from medialake.search.lists import vector_hits

    assert vector_hits(seg, "text_vector", v[7], 1, nprobes=4)[0]["segment_id"] == "s607"
    assert vector_hits(seg, "text_vector", vecs[2][3], 1, nprobes=4)[0]["segment_id"] == "s203"
    assert len(vector_hits(seg, "text_vector", v[0], 200, nprobes=4, ef=100)) == 200  # k above ef is fine


def test_optimize_keeps_what_an_indexed_table_finds(tmp_path):
    """Compacting an indexed table must not change what its ANN index returns: LanceDB's
    own ``table.optimize()`` remaps the index in place, rebuilding each IVF_HNSW_SQ graph,
    which changed these top 10s (recall@10 0.986 -> 0.896 at 300k rows, 0.995 -> 0.50 at 1M)."""
    import lancedb

    from medialake.search.lists import vector_hits

    rng = np.random.default_rng(1)
    n, dim, parts = 40_000, 64, 20
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    v = centres[rng.integers(0, 200, n)] + 0.2 * rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    table = None
    for s in range(0, n, n // parts):  # twenty appends: twenty fragments under one index
        t = pa.table({"segment_id": [f"s{i:06d}" for i in range(s, s + n // parts)],
                      "text_vector": pa.FixedSizeListArray.from_arrays(pa.array(v[s:s + n // parts].reshape(-1)), dim)})
        if table is None:
            table = lancedb.connect(str(tmp_path)).create_table("segments", t)
        else:
            table.add(t)
    assert st.ensure_vector_index(table, "text_vector", min_rows=0) == "built"
    queries = v[rng.integers(0, n, 30)]

    def top10():
        return [[h["segment_id"] for h in vector_hits(table, "text_vector", q, 10, nprobes=8, ef=100,
                                                       refine_factor=3, columns=["segment_id"])] for q in queries]

    before = top10()
    st.optimize(table)
    assert len(table.to_lance().get_fragments()) == 1
    assert top10() == before
    # a row added after the index is found after the next optimize (indexed by a delta
    # index, or searched exactly while unindexed)
    far = -queries[0]
    t = pa.table({"segment_id": ["new0"], "text_vector": pa.FixedSizeListArray.from_arrays(pa.array(far), dim)})
    table.add(t)
    st.optimize(table)
    assert vector_hits(table, "text_vector", far, 1, nprobes=8, ef=100,
                       columns=["segment_id"])[0]["segment_id"] == "new0"
    assert top10() == before


def test_index_params_scale_with_rows():
    p = st.index_params(1_000_000, 384)
    assert p["index_type"] == "IVF_HNSW_SQ" and p["num_partitions"] == 122
    q = st.index_params(1_000_000, 512, "IVF_PQ")
    assert q["num_partitions"] == 122 and q["num_sub_vectors"] == 128
    with pytest.raises(ValueError, match="unknown index type"):
        st.index_params(10, 8, "HNSW")


@pytest.mark.parametrize("dim", [384, 512, 768])
def test_index_params_keep_the_partition_size_and_switch_to_pq_past_the_memory_budget(dim):
    sizes = [100_000, 1_000_000, 3_000_000, 10_000_000, 100_000_000, 360_000_000]
    for n in sizes:
        p = st.index_params(n, dim)
        # the query side probes a fixed number of partitions: their size must not drift
        assert st.ROWS_PER_PARTITION <= n / p["num_partitions"] < 2 * st.ROWS_PER_PARTITION
        sq_bytes = n * (dim + 2 * 12 * 4)
        assert p["index_type"] == ("IVF_HNSW_SQ" if sq_bytes <= st.SQ_MAX_BYTES else "IVF_PQ")
        if p["index_type"] == "IVF_PQ":
            assert dim % p["num_sub_vectors"] == 0 and n * p["num_sub_vectors"] < sq_bytes / 4
    assert st.index_params(1_000_000, dim)["index_type"] == "IVF_HNSW_SQ"
    assert st.index_params(10_000_000, dim)["index_type"] == "IVF_PQ"
    assert st.index_params(10_000_000, dim, "IVF_HNSW_SQ")["index_type"] == "IVF_HNSW_SQ"  # asked for, kept


# The tables as medialake schema version 1 wrote them, spelled out: ``assets`` called the
# config hash ``pipeline_version``.
UTC = pa.timestamp("us", tz="UTC")
V1 = {"medialake.schema_version": "1"}
ASSETS_V1 = pa.schema([
    pa.field("asset_id", pa.string(), nullable=False), pa.field("uri", pa.string(), nullable=False),
    pa.field("media_type", pa.string(), nullable=False), pa.field("size", pa.int64()), pa.field("mtime", UTC),
    pa.field("content_hash", pa.string()), pa.field("duration_s", pa.float64()), pa.field("width", pa.int32()),
    pa.field("height", pa.int32()), pa.field("codecs", pa.string()), pa.field("pipeline_version", pa.string()),
    pa.field("status", pa.string(), nullable=False), pa.field("reason", pa.string()),
    pa.field("n_segments", pa.int32()), pa.field("summary", pa.string()), pa.field("ingested_at", UTC),
    pa.field("etag", pa.string()),
    pa.field("locations", pa.list_(pa.struct([("uri", pa.string()), ("size", pa.int64()), ("mtime", UTC),
                                              ("etag", pa.string())]))),
    pa.field("model_versions", pa.string()), pa.field("run_id", pa.string()),
], metadata={**V1, "medialake.table": "assets"})
SEGMENTS_V1 = pa.schema([
    pa.field("segment_id", pa.string(), nullable=False), pa.field("asset_id", pa.string(), nullable=False),
    pa.field("media_type", pa.string(), nullable=False), pa.field("modality", pa.string(), nullable=False),
    pa.field("segment_index", pa.int32(), nullable=False), pa.field("start_s", pa.float64(), nullable=False),
    pa.field("end_s", pa.float64(), nullable=False), pa.field("thumbnail", pa.binary()),
    pa.field("transcript", pa.string()), pa.field("language", pa.string()), pa.field("ocr_text", pa.string()),
    pa.field("caption", pa.string()), pa.field("text", pa.string()),
    pa.field("text_vector", pa.list_(pa.float32(), 384)),
], metadata={**V1, "medialake.table": "segments"})


@pytest.fixture
def old_db(tmp_path) -> str:
    """A database written by medialake schema version 1, with lancedb alone."""
    import lancedb

    from medialake.models.text import TextEncoder

    db = str(tmp_path / "old.lance")
    conn = lancedb.connect(db)
    assets = conn.create_table("assets", schema=ASSETS_V1)
    assets.add(pa.Table.from_pylist([{
        "asset_id": "v1", "uri": "/archive/talks/budget.mp4", "media_type": "video", "size": 1000,
        "mtime": datetime(2024, 3, 1, tzinfo=timezone.utc), "duration_s": 30.0, "pipeline_version": "hash-1",
        "status": "done", "n_segments": 1}], schema=ASSETS_V1))
    text = "The quarterly budget review starts at nine in the main hall."
    vec = TextEncoder.shared().encode([text])[0]
    segments = conn.create_table("segments", schema=SEGMENTS_V1)
    segments.add(pa.Table.from_pylist([{
        "segment_id": "v1-0", "asset_id": "v1", "media_type": "video", "modality": "video", "segment_index": 0,
        "start_s": 0.0, "end_s": 10.0, "transcript": text, "language": "en", "text": text,
        "text_vector": vec.tolist()}], schema=SEGMENTS_V1))
    segments.create_fts_index("text", with_position=True)
    return db


def test_an_old_database_is_searched_as_it_is(old_db):
    from medialake.search.query import search

    hits = search("quarterly budget review", db=old_db)
    assert [(h["asset_id"], h["asset_uri"], h["start_s"]) for h in hits] == [("v1", "/archive/talks/budget.mp4", 0.0)]
    assert "pipeline_version" in lance.dataset(f"{old_db}/assets.lance").schema.names  # reading changed nothing


def test_opening_an_old_database_for_writing_renames_the_config_hash_column(old_db):
    store = Store(old_db)
    sch = store.table("assets").schema
    assert "pipeline_version" not in sch.names and "config_hash" in sch.names
    assert schema.schema_version(sch) == schema.SCHEMA_VERSION
    assert store.assets(["asset_id", "config_hash"]).to_pylist() == [{"asset_id": "v1", "config_hash": "hash-1"}]
    assert schema.check_version(SEGMENTS_V1, "segments") == 1  # older versions are read as they are
    store.upsert_assets(pa.Table.from_pylist([{"asset_id": "v2", "uri": "/b.mp4", "media_type": "video",
                                               "status": "done", "config_hash": "hash-2"}]))
    assert sorted(Store(old_db).assets(["config_hash"]).column("config_hash").to_pylist()) == ["hash-1", "hash-2"]
