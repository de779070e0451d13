"""Exact re-ranking (refine) is paid where a vector list's order is the answer, not under RRF."""

import lancedb
import numpy as np
import pyarrow as pa
import pytest

from medialake import store as st
from medialake.search.config import SearchConfig
from medialake.search.query import find_moments
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
    # not re-ranked: the index's scalar-quantised distances, which are not the exact ones
    for cfg, texts in ((fused_exact, []), (lone_exact, ["word7 other7"])):
        got, want = distances(cfg, texts)
        assert np.abs(got - want).max() > 1e-3
    assert SearchConfig().fused_refine_factor == 1 and SearchConfig().refine_factor == 3


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
