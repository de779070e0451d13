"""The tables: readable without medialake (polars, duckdb), versioned, strict writers,
indexed and compacted after a run."""

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


def test_index_params_scale_with_rows():
    p = st.index_params(1_000_000, 384)
    assert p["index_type"] == "IVF_HNSW_SQ" and p["num_partitions"] == 122
    q = st.index_params(1_000_000, 512, "IVF_PQ")
    assert q["num_partitions"] == 1000 and q["num_sub_vectors"] == 64
    with pytest.raises(ValueError, match="unknown index type"):
        st.index_params(10, 8, "HNSW")
