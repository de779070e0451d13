"""Exact re-ranking (refine) is paid where a vector list's order is the answer, not under RRF."""

import lancedb
import numpy as np
import pyarrow as pa
import pytest

from medialake import store as st
from medialake.search.config import SearchConfig
from medialake.search.query import find_moments
from medialake.search.lists import vector_hits
from medialake.search.spaces import VectorQuery


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    rng = np.random.default_rng(3)
    n, dim = 3000, 32
    v = rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    t = pa.table({
        "segment_id": [f"s{i:05d}" for i in range(n)],
        "asset_id": [f"a{i:05d}" for i in range(n)],
        "media_type": ["video"] * n,
        "start_s": np.zeros(n), "end_s": np.full(n, 10.0),
        "text": [f"word{i % 97} other{i % 13}" for i in range(n)],
        "language": ["en"] * n, "thumbnail": pa.nulls(n, pa.binary()),
        "text_vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim),
    })
    table = lancedb.connect(str(tmp_path_factory.mktemp("refine"))).create_table("segments", t)
    assert st.ensure_vector_index(table, "text_vector", min_rows=0, num_partitions=2) == "built"
    st.ensure_fts_index(table, "text")
    return table, v


def exact_distance(v, q, ids):
    return 1.0 - v[[int(s[1:]) for s in ids]] @ q


def test_refine_factor_governs_a_lone_vector_list_and_fused_refine_factor_fused_ones(indexed):
    table, v = indexed
    q = v[7] + 0.3 * np.random.default_rng(0).standard_normal(v.shape[1]).astype(np.float32)
    q /= np.linalg.norm(q)
    vq = [VectorQuery("text", "text_vector", q, "text")]

    def distances(cfg, texts):
        moments, _ = find_moments(table, vq, texts, None, cfg, 5)
        best = [m.best for m in moments if m.best.row.get("_distance") is not None]
        assert best, "the vector list contributed nothing"
        return np.array([f.row["_distance"] for f in best]), exact_distance(v, q, [f.segment_id for f in best])

    lone_exact = SearchConfig(candidates=20, refine_factor=3, fused_refine_factor=None, min_score=0)
    fused_exact = SearchConfig(candidates=20, refine_factor=None, fused_refine_factor=1, min_score=0)
    # re-ranked on full vectors: the exact cosine distances
    got, want = distances(lone_exact, [])
    assert np.allclose(got, want, atol=1e-5)
    got, want = distances(fused_exact, ["word7 other7"])
    assert np.allclose(got, want, atol=1e-5)
    # not re-ranked, the list returns the index's scalar-quantised distances, not the exact
    # ones; the leaders' similarities (and distances) are then computed from their vectors
    raw = vector_hits(table, "text_vector", q, 20, nprobes=20, refine_factor=None, columns=["segment_id"])
    assert np.abs(np.array([h["_distance"] for h in raw]) - exact_distance(v, q, [h["segment_id"] for h in raw])).max() > 1e-3
    for cfg, texts in ((fused_exact, []), (lone_exact, ["word7 other7"])):
        got, want = distances(cfg, texts)
        assert np.allclose(got, want, atol=1e-5)
    assert SearchConfig().fused_refine_factor == 1 and SearchConfig().refine_factor == 3


def test_fetch_rows_reads_a_table_as_it_is_now(indexed, tmp_path):
    from medialake.search.lists import dataset_of, fetch_rows

    table, _ = indexed
    t = lancedb.connect(str(tmp_path)).create_table("x", table.search().limit(50).to_arrow())
    hits = t.search().with_row_id(True).select(["segment_id"]).limit(5).to_list()
    assert set(fetch_rows(t, hits, ["text"])) == {h["segment_id"] for h in hits}
    assert dataset_of(t) is dataset_of(t)  # opened once per version
    t.delete(f"segment_id = '{hits[0]['segment_id']}'")
    rows = fetch_rows(t, hits, ["text"])  # a newer version: the deleted row is gone
    assert hits[0]["segment_id"] not in rows and len(rows) == 4
    assert dataset_of(t).version == t.version


def test_exact_similarities_replace_the_index_distances_of_the_leaders():
    from medialake.search.evidence import exact_similarities, similarity_key
    from medialake.search.fusion import Fused

    vecs = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 0.0]], dtype=np.float32)
    taken = pa.table({"segment_id": ["a", "b", "c"],
                      "v": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), 2)})
    taken = taken.set_column(1, "v", pa.array([[1.0, 0.0], [0.6, 0.8], None], pa.list_(pa.float32(), 2)))
    q = [VectorQuery("text", "v", np.array([2.0, 0.0]), "text"), VectorQuery("text", "v", np.array([0.0, 1.0]), "x")]
    k0, k1 = similarity_key(q[0].name), similarity_key(q[1].name)
    fs = [Fused("a", 1, {"_rowid": 0, "_distance": 0.5, k0: ("text", 0.5)}),
          Fused("b", 1, {"_rowid": 1, "_distance": 0.9, k1: ("text", 0.1)}),
          Fused("c", 1, {"_rowid": 2, "_distance": 0.3, k0: ("text", 0.7)}),  # no vector: kept as it was
          Fused("d", 1, {"segment_id": "d"})]
    exact_similarities(fs, q, lambda ids, cols: taken)
    assert fs[0].row[k0] == ("text", 1.0) and fs[0].row["_distance"] == 0.0
    assert fs[1].row[k1][1] == pytest.approx(0.8) and fs[1].row["_distance"] == pytest.approx(0.2)
    assert fs[2].row[k0] == ("text", 0.7) and fs[2].row["_distance"] == 0.3
    assert fs[3].row == {"segment_id": "d"}


def test_an_ivf_pq_index_re_ranks_enough_candidates_on_full_vectors(tmp_path):
    from medialake.search.lists import PQ_MIN_RERANK, index_type, refine_for, vector_hits

    assert refine_for("IvfPq", 3, 10) == PQ_MIN_RERANK // 10
    assert refine_for("IvfPq", 1, 50) == -(-PQ_MIN_RERANK // 50)
    assert refine_for("IvfPq", 500, 10) == 500  # never lowered
    assert refine_for("IvfHnswSq", 3, 10) == 3 and refine_for(None, None, 10) is None

    rng = np.random.default_rng(5)
    n, dim = 4000, 32
    centres = rng.standard_normal((20, dim)).astype(np.float32)
    v = centres[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    t = pa.table({"segment_id": [f"s{i:05d}" for i in range(n)],
                  "text_vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim)})
    table = lancedb.connect(str(tmp_path)).create_table("segments", t)
    st.ensure_vector_index(table, "text_vector", min_rows=0, index_type="IVF_PQ", num_partitions=4,
                           num_sub_vectors=4)
    assert index_type(table, "text_vector") == "IvfPq"
    recall = []
    for i in range(20):
        q = v[i * 7]
        want = set(np.argsort(-(v @ q))[:10])
        got = {int(h["segment_id"][1:]) for h in vector_hits(table, "text_vector", q, 10, nprobes=4,
                                                               refine_factor=1, columns=["segment_id"])}
        recall.append(len(got & want) / 10)
    # 4 codes of 8 bits per vector rank these clustered neighbours badly; re-ranking 200 on
    # full vectors finds nearly all of them
    assert np.mean(recall) >= 0.95
