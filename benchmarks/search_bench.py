"""Search benchmark: index build time, query latency and recall@10 on N synthetic segments.

    python benchmarks/search_bench.py 100000 [--db DIR [--reuse]] [--queries 200] [--nprobes 8 16]

Builds a segments table of N rows with a 384-dim ``text_vector``, a 512-dim
``image_vector`` and a ``text`` column, in chunks (memory stays at a few hundred MB),
indexes it the way an ingest run does (``medialake.store``), then over ``--queries``
queries prints p50/p99 latency of vector, full-text and hybrid queries (what ``search()``
does after embedding: both vector spaces + full text + phrase, RRF, moments, winners' text
and thumbnails), recall@10 of the ANN index against exact search, and the
latency of exact (flat) search on a few queries side by side.

The vectors are drawn around 2,000 cluster centres (embeddings of real media cluster by
topic; uniform random vectors are the worst case for any ANN index), L2-normalised; the
text is 8-20 words drawn from a Zipf-like vocabulary of 20,000 words.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from medialake import store as st  # noqa: E402
from medialake.search.config import SearchConfig  # noqa: E402
from medialake.search.lists import fulltext_hits, vector_hits  # noqa: E402
from medialake.search.query import find_moments  # noqa: E402
from medialake.search.spaces import VectorQuery, space_of  # noqa: E402

DIMS = {"text_vector": 384, "image_vector": 512}
N_CENTRES = 2000
VOCAB = 20_000


def centres(dim: int, seed: int) -> np.ndarray:
    c = np.random.default_rng(seed).standard_normal((N_CENTRES, dim)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def sample(rng, cent: np.ndarray, n: int, spread: float = 0.6) -> np.ndarray:
    idx = rng.integers(0, len(cent), n)
    v = cent[idx] + spread * rng.standard_normal((n, cent.shape[1])).astype(np.float32) / np.sqrt(cent.shape[1])
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def word_probs() -> np.ndarray:
    p = 1.0 / np.arange(1, VOCAB + 1) ** 1.05
    return p / p.sum()


def chunk_table(start: int, n: int, cents: dict, probs: np.ndarray) -> pa.Table:
    rng = np.random.default_rng(1000 + start)
    lengths = rng.integers(8, 21, n)
    words = rng.choice(VOCAB, size=int(lengths.sum()), p=probs)
    texts, pos = [], 0
    for ln in lengths:
        texts.append(" ".join(f"w{w}" for w in words[pos : pos + ln]))
        pos += ln
    cols = {
        "segment_id": pa.array([f"s{start + i:09d}" for i in range(n)]),
        "asset_id": pa.array([f"a{(start + i) // 20:08d}" for i in range(n)]),
        "media_type": pa.array(np.array(["video", "audio", "image"])[rng.integers(0, 3, n)]),
        "start_s": pa.array(((start + np.arange(n)) % 20 * 10.0)),
        "end_s": pa.array(((start + np.arange(n)) % 20 * 10.0 + 10.0)),
        "text": pa.array(texts),
        "language": pa.array(["en"] * n),
        # a stand-in for the JPEG thumbnail (real ones are ~10 KB): search reads it for the winners
        "thumbnail": pa.array([b"\xff\xd8" + bytes(254)] * n, pa.binary()),
    }
    for col, dim in DIMS.items():
        v = sample(rng, cents[col], n)
        cols[col] = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim)
    return pa.table(cols)


def build(db: str, n: int, chunk: int, cents: dict):
    import lancedb

    conn = lancedb.connect(db)
    probs = word_probs()
    table = None
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        t = chunk_table(start, min(chunk, n - start), cents, probs)
        if table is None:
            table = conn.create_table("segments", schema=t.schema, mode="overwrite")
        table.add(t)
    print(f"generated {n} rows in {time.perf_counter() - t0:.1f} s")
    return table


def queries(nq: int, cents: dict) -> tuple[dict, list[str]]:
    rng = np.random.default_rng(7)
    vecs = {col: sample(rng, cents[col], nq) for col in DIMS}
    # 2-3 words of middle frequency: what people type (very common words say little)
    texts = [" ".join(f"w{w}" for w in rng.integers(20, 3000, rng.integers(2, 4))) for _ in range(nq)]
    return vecs, texts


def exact_topk(n: int, chunk: int, cents: dict, qv: dict, k: int = 10) -> dict:
    """Ground truth: regenerate the vectors chunk by chunk and keep the top k per query."""
    probs = word_probs()
    best = {col: (np.full((len(q), k), -np.inf, np.float32), np.zeros((len(q), k), np.int64)) for col, q in qv.items()}
    for start in range(0, n, chunk):
        t = chunk_table(start, min(chunk, n - start), cents, probs)
        for col, q in qv.items():
            v = t.column(col).combine_chunks().flatten().to_numpy().reshape(-1, DIMS[col])
            sims = q @ v.T
            ids = np.broadcast_to(np.arange(start, start + len(v)), sims.shape)
            s_all = np.concatenate([best[col][0], sims], axis=1)
            i_all = np.concatenate([best[col][1], ids], axis=1)
            top = np.argpartition(-s_all, k - 1, axis=1)[:, :k]
            best[col] = (np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1))
    return {col: [set(f"s{i:09d}" for i in row) for row in ids] for col, (_, ids) in best.items()}


def pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of synthetic segments")
    ap.add_argument("--db", default=None, help="database directory (default: a temp dir, removed at the end)")
    ap.add_argument("--reuse", action="store_true", help="reuse the table and indexes already in --db")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--index-type", default="IVF_HNSW_SQ", choices=["IVF_HNSW_SQ", "IVF_PQ"])
    ap.add_argument("--num-partitions", type=int, default=None, help="override medialake.store.index_params")
    dflt = SearchConfig()
    ap.add_argument("--nprobes", type=int, nargs="+", default=[dflt.nprobes],
                    help="query-time settings to compare (default: the search config's)")
    ap.add_argument("--ef", type=int, default=dflt.ef, help="HNSW ef at query time (IVF_HNSW_SQ)")
    ap.add_argument("--refine", type=int, default=dflt.refine_factor or 0,
                    help="refine factor (re-rank on full vectors); 0: none")
    ap.add_argument("--fused-refine", type=int, default=dflt.fused_refine_factor or 0,
                    help="refine factor of vector lists fused with others (hybrid); 0: none (distances then on the "
                         "index's own scale)")
    ap.add_argument("--exact-queries", type=int, default=10, help="flat-scan queries timed for the ratio")
    args = ap.parse_args(argv)

    db = args.db or tempfile.mkdtemp(prefix="ml_bench_")
    cents = {col: centres(dim, seed=i) for i, (col, dim) in enumerate(DIMS.items())}
    try:
        if args.reuse:
            import lancedb

            table = lancedb.connect(db).open_table("segments")
        else:
            table = build(db, args.n, args.chunk, cents)
            for col in DIMS:
                extra = {"num_partitions": args.num_partitions} if args.num_partitions else {}
                params = {**st.index_params(args.n, DIMS[col], args.index_type), **extra}
                t0 = time.perf_counter()
                what = st.ensure_vector_index(table, col, min_rows=0, index_type=args.index_type, **extra)
                print(f"index {col} ({DIMS[col]}-dim): {what} {params} in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            st.ensure_fts_index(table, "text")
            print(f"index text (full text, with positions) in {time.perf_counter() - t0:.1f} s")
        print(f"rows: {table.count_rows()}, indexes: {[i.index_type for i in table.list_indices()]}")

        qv, qt = queries(args.queries, cents)
        t0 = time.perf_counter()
        truth = exact_topk(args.n, args.chunk, cents, qv)
        print(f"exact ground truth (numpy) in {time.perf_counter() - t0:.1f} s")

        # warm the index caches (a served database stays open between queries) so the
        # figures are steady-state latency; the first, cold query is printed on its own
        t0 = time.perf_counter()
        for col in DIMS:
            vector_hits(table, col, qv[col][0], 10, nprobes=args.nprobes[0])
        fulltext_hits(table, qt[0], 10)
        print(f"first (cold) queries, both vector columns + full text: {(time.perf_counter() - t0) * 1000:.0f} ms")
        rng = np.random.default_rng(99)
        for col in DIMS:  # other queries than the timed ones
            for v in sample(rng, cents[col], 20):
                vector_hits(table, col, v, 50, nprobes=max(args.nprobes), ef=args.ef, refine_factor=args.refine)

        ft_lat = []
        ft_hits = []
        for text in qt:
            t0 = time.perf_counter()
            ft_hits.append(fulltext_hits(table, text, 10))
            ft_lat.append(time.perf_counter() - t0)
        print(f"full-text   : {pct(ft_lat)}  (mean hits {np.mean([len(h) for h in ft_hits]):.1f})")

        for nprobes in args.nprobes:
            kw = dict(nprobes=nprobes, ef=args.ef, refine_factor=args.refine)
            lat = {col: [] for col in DIMS}
            recall = {col: [] for col in DIMS}
            for col in DIMS:
                for i in range(args.queries):
                    t0 = time.perf_counter()
                    hits = vector_hits(table, col, qv[col][i], 10, **kw)
                    lat[col].append(time.perf_counter() - t0)
                    recall[col].append(len({h["segment_id"] for h in hits} & truth[col][i]) / 10)
            cfg = SearchConfig(nprobes=nprobes, ef=args.ef, refine_factor=args.refine or None,
                               fused_refine_factor=args.fused_refine or None)
            # the same fusion with every fused vector list re-ranked on full vectors: how
            # much of the top 10 the cheaper lists change
            ref = cfg.model_copy(update={"fused_refine_factor": max(args.refine, 3)})
            hy, agree = [], []
            for i in range(args.queries):
                vqs = [VectorQuery(space_of(col), col, qv[col][i], "text") for col in DIMS]
                t0 = time.perf_counter()
                moments, _ = find_moments(table, vqs, [qt[i]], None, cfg, 10)
                hy.append(time.perf_counter() - t0)
                if i < 50:
                    exact, _ = find_moments(table, vqs, [qt[i]], None, ref, 10)
                    a, b = {m.best.segment_id for m in moments}, {m.best.segment_id for m in exact}
                    agree.append(len(a & b) / max(len(b), 1))
            print(f"-- nprobes={nprobes} ef={args.ef} refine={args.refine} fused lists: refine={args.fused_refine}")
            for col in DIMS:
                print(f"vector {col:12s}: {pct(lat[col])}  recall@10 {np.mean(recall[col]):.3f}")
            print(f"hybrid, as search() runs it after embedding (2 vector spaces + full text + phrase, "
                  f"top {max(cfg.candidates, 40)} each, side by side, RRF, moments, text and thumbnails of the "
                  f"winners): {pct(hy)}; top-10 moments shared with fused lists re-ranked at refine="
                  f"{ref.fused_refine_factor}: {np.mean(agree):.3f} (50 queries)")

        if args.exact_queries:
            col = "text_vector"
            ex = []
            for i in range(args.exact_queries):
                t0 = time.perf_counter()
                q = table.search(qv[col][i], vector_column_name=col).distance_type("cosine").bypass_vector_index()
                q.select(["segment_id"]).limit(10).to_list()
                ex.append(time.perf_counter() - t0)
            ann = []
            for i in range(args.exact_queries):
                t0 = time.perf_counter()
                vector_hits(table, col, qv[col][i], 10, nprobes=args.nprobes[-1], ef=args.ef, refine_factor=args.refine)
                ann.append(time.perf_counter() - t0)
            print(f"exact flat scan {col} ({args.exact_queries} queries): {pct(ex)}; "
                  f"ANN is {np.median(ex) / np.median(ann):.0f}x faster at p50")
    finally:
        if args.db is None:
            shutil.rmtree(db, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
