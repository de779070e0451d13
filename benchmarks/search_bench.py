"""Search benchmark: index build time, query latency and recall@10 on N synthetic segments.

    python benchmarks/search_bench.py 1000000 --db /tmp/scale-data/1m [--repeat 3] [--queries 200] [--nprobes 8 16]

Builds a segments table of N rows with a 384-dim ``text_vector``, a 512-dim
``image_vector`` and a ``text`` column, in chunks (memory stays at a few hundred MB),
indexes it the way an ingest run does (``medialake.store``), then over ``--queries``
queries prints p50/p99 latency and CPU-ms per query (``time.process_time``, which other
work on the machine hardly moves) of vector, full-text and hybrid queries (what
``search()`` does after embedding: both vector spaces + full text + phrase, RRF, moments,
winners' text and thumbnails), recall@10 of the ANN index against exact search, the CPU
pressure during each run (Linux PSI), a hybrid query part by part, and the latency of exact
(flat) search on a few queries side by side. The timed queries run ``--repeat`` times; the
figures reported are the medians over the runs, with their spread.

With ``--db DIR`` the table, its indexes and the exact top 10 of the queries are kept in
DIR and reused by the next run with the same N (``--rebuild-index`` rebuilds the vector
indexes only). A new table is compacted before it is indexed, as ``medialake.store.maintain``
compacts after an ingest run. ``--top-file F`` writes the
hybrid top 10 of every query to F, or compares with F where it exists: run it with the old
code first (this file imports the checkout it lies in, so copy it there), then the new.
``--prepare`` (generate) and ``--index-only`` (compact and
index) do the long untimed work at low priority outside the benchmark lock; ``--vectors
text_vector`` keeps one vector column, for sizes where two do not fit. The last line is
``RESULT n=N vector_p50_ms=X vector_p99_ms=X hybrid_p50_ms=X hybrid_p99_ms=X hybrid_cpu_ms=X
recall_at_10=X cpu_pressure=X`` (vector: the slower column; recall: the lowest run and column).

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
from medialake.search.lists import fulltext_hits, phrase_hits, vector_hits  # noqa: E402
from medialake.search.query import find_moments  # noqa: E402
from medialake.search.spaces import VectorQuery, space_of  # noqa: E402

ALL_DIMS = {"text_vector": 384, "image_vector": 512}
#: The vector columns generated and measured (``--vectors`` may keep one of them).
DIMS = dict(ALL_DIMS)
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


def build(db: str, n: int, chunk: int, cents: dict, qv: dict | None = None):
    """A new segments table of N generated rows in ``db`` (no index); with query vectors
    ``qv``, their exact top 10 is kept on the way (saved beside the table)."""
    import lancedb

    conn = lancedb.connect(db)
    probs = word_probs()
    table, best = None, TopK(qv) if qv is not None else None
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        t = chunk_table(start, min(chunk, n - start), cents, probs)
        if table is None:
            table = conn.create_table("segments", schema=t.schema, mode="overwrite")
        table.add(t)
        if best is not None:
            best.update(start, t)
    print(f"generated {n} rows in {time.perf_counter() - t0:.1f} s", flush=True)
    if best is not None:
        np.savez(truth_path(db, n, chunk, qv), **best.ids())
    return table


def queries(nq: int, cents: dict) -> tuple[dict, list[str]]:
    rng = np.random.default_rng(7)
    vecs = {col: sample(rng, cents[col], nq) for col in DIMS}
    # 2-3 words of middle frequency: what people type (very common words say little)
    texts = [" ".join(f"w{w}" for w in rng.integers(20, 3000, rng.integers(2, 4))) for _ in range(nq)]
    return vecs, texts


class TopK:
    """The exact top k of each query vector over the rows seen so far (numpy, chunk by chunk)."""

    def __init__(self, qv: dict, k: int = 10):
        self.qv, self.k = qv, k
        self.best = {col: (np.full((len(q), k), -np.inf, np.float32), np.zeros((len(q), k), np.int64))
                     for col, q in qv.items()}

    def update(self, start: int, t: pa.Table) -> None:
        for col, q in self.qv.items():
            v = t.column(col).combine_chunks().flatten().to_numpy().reshape(-1, DIMS[col])
            sims = q @ v.T
            ids = np.broadcast_to(np.arange(start, start + len(v)), sims.shape)
            s_all = np.concatenate([self.best[col][0], sims], axis=1)
            i_all = np.concatenate([self.best[col][1], ids], axis=1)
            top = np.argpartition(-s_all, self.k - 1, axis=1)[:, : self.k]
            self.best[col] = (np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1))

    def ids(self) -> dict:
        return {col: ids for col, (_, ids) in self.best.items()}


def truth_path(db: str, n: int, chunk: int, qv: dict) -> str:
    cols = "" if set(qv) == set(ALL_DIMS) else "_" + "-".join(sorted(qv))
    return os.path.join(db, f"_bench_truth_n{n}_c{chunk}_q{len(next(iter(qv.values())))}{cols}.npz")


def ground_truth(db: str, n: int, chunk: int, cents: dict, qv: dict) -> dict:
    """The exact top 10 per query and column: saved by :func:`build` beside the table, or
    recomputed (regenerating the rows chunk by chunk) and saved."""
    path = truth_path(db, n, chunk, qv)
    every = truth_path(db, n, chunk, {col: qv[next(iter(qv))] for col in ALL_DIMS})
    if not os.path.exists(path) and os.path.exists(every):
        path = every  # a table made with every column, measured on some
    if os.path.exists(path):
        ids = {col: a for col, a in np.load(path).items() if col in qv}
        print(f"exact ground truth read from {path}")
    else:
        t0 = time.perf_counter()
        probs, best = word_probs(), TopK(qv)
        for start in range(0, n, chunk):
            best.update(start, chunk_table(start, min(chunk, n - start), cents, probs))
        ids = best.ids()
        np.savez(path, **ids)
        print(f"exact ground truth computed (numpy) in {time.perf_counter() - t0:.1f} s")
    return {col: [set(f"s{i:09d}" for i in row) for row in a] for col, a in ids.items()}


class Pressure:
    """CPU pressure (Linux PSI, /proc/pressure/cpu) over a stretch of time: the share of
    wall time in which some runnable task waited for a core. Near 0: the timings are the
    machine's own; 0.3 and up: other work took the cores."""

    PATH = "/proc/pressure/cpu"

    @classmethod
    def total_us(cls) -> int | None:
        try:
            with open(cls.PATH) as f:
                return int(f.readline().split("total=")[1])
        except (OSError, IndexError, ValueError):
            return None

    def __enter__(self) -> "Pressure":
        self.t0, self.p0 = time.perf_counter(), self.total_us()
        return self

    def __exit__(self, *exc) -> None:
        p1 = self.total_us()
        wall = time.perf_counter() - self.t0
        self.some = None if self.p0 is None or p1 is None else (p1 - self.p0) / 1e6 / max(wall, 1e-9)


class Timed:
    """Wall and CPU time (``time.process_time``: every thread of this process, LanceDB's
    included) of each call timed through it."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __call__(self, fn, *a, **kw):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(*a, **kw)
        self.wall.append(time.perf_counter() - t0)
        self.cpu.append(time.process_time() - c0)
        return out

    def p(self, q: float) -> float:
        return float(np.percentile(np.array(self.wall) * 1000, q))

    @property
    def cpu_ms(self) -> float:
        return float(np.mean(self.cpu) * 1000)

    def line(self) -> str:
        return f"p50 {self.p(50):7.2f} ms  p99 {self.p(99):7.2f} ms  CPU {self.cpu_ms:6.2f} ms/query"


def pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"p50 {np.percentile(a, 50):7.2f} ms  p99 {np.percentile(a, 99):7.2f} ms"


def open_or_build(args, cents: dict, qv: dict):
    """The table in --db if it already holds N rows (built once, reused by later runs),
    else a new one, indexed the way an ingest run does (``medialake.store``)."""
    import lancedb

    conn = lancedb.connect(args.db)
    table = None
    if "segments" in conn.list_tables().tables:
        table = conn.open_table("segments")
        if table.count_rows() != args.n and not args.reuse:
            print(f"{args.db} holds {table.count_rows()} rows, not {args.n}: building it again")
            table = None
    fresh = table is None
    if fresh:
        table = build(args.db, args.n, args.chunk, cents, qv)
    else:
        print(f"reusing the table in {args.db}")
    frags = len(table.to_lance().get_fragments())
    if fresh and frags > max(1, args.n // (1 << 20) + 1):
        # as an ingest run compacts (medialake.store.maintain), before any index (an indexed
        # table compacts too since store.optimize defers the index remap: 1M rows, 20
        # fragments -> 1 in 55 s, recall@10 0.995 / 0.998 before and after; LanceDB's own
        # table.optimize() had dropped it to 0.50 / 0.40)
        t0 = time.perf_counter()
        st.optimize(table)
        print(f"compacted {frags} fragments into {len(table.to_lance().get_fragments())} "
              f"in {time.perf_counter() - t0:.1f} s")
    have = {tuple(i.columns) for i in table.list_indices()}
    for col in DIMS:
        if not fresh and not args.rebuild_index and (col,) in have:
            continue
        extra = {"num_partitions": args.num_partitions} if args.num_partitions else {}
        if args.sub_vectors:
            extra["num_sub_vectors"] = args.sub_vectors
        params = {**st.index_params(args.n, DIMS[col], args.index_type), **extra}
        t0 = time.perf_counter()
        what = st.ensure_vector_index(table, col, min_rows=0, index_type=args.index_type,
                                      rebuild_fraction=-1.0, **extra)
        print(f"index {col} ({DIMS[col]}-dim): {what} {params} in {time.perf_counter() - t0:.1f} s")
    if fresh or ("text",) not in have:
        t0 = time.perf_counter()
        st.ensure_fts_index(table, "text")
        print(f"index text (full text, with positions) in {time.perf_counter() - t0:.1f} s")
    print(f"rows: {table.count_rows()}, indexes: {[(i.columns, i.index_type) for i in table.list_indices()]}")
    return table


def warm(table, args, cents, qv, qt) -> None:
    """Warm the index caches (a served database stays open between queries) so that the
    figures are steady-state latency; the first, cold query is printed on its own."""
    t0 = time.perf_counter()
    for col in DIMS:
        vector_hits(table, col, qv[col][0], 10, nprobes=args.nprobes[0])
    fulltext_hits(table, qt[0], 10)
    print(f"first (cold) queries, both vector columns + full text: {(time.perf_counter() - t0) * 1000:.0f} ms")
    rng = np.random.default_rng(99)
    for col in DIMS:  # other queries than the timed ones
        for v in sample(rng, cents[col], 20):
            vector_hits(table, col, v, 50, nprobes=max(args.nprobes), ef=args.ef, refine_factor=args.refine)
    for t in qt[-20:]:
        phrase_hits(table, t, 50)


def config(args, nprobes: int) -> SearchConfig:
    return SearchConfig(nprobes=nprobes, ef=args.ef, refine_factor=args.refine or None,
                        fused_refine_factor=args.fused_refine or None, candidates=args.candidates)


def one_run(table, args, nprobes: int, qv, qt, truth, agree_too: bool) -> dict:
    """Every timed query once: each vector column alone, then hybrid. Returns the figures."""
    kw = dict(nprobes=nprobes, ef=args.ef, refine_factor=args.refine)
    out: dict = {"vector": {}, "recall": {}}
    with Pressure() as pressure:
        for col in DIMS:
            timed, rec = Timed(), []
            for i in range(args.queries):
                hits = timed(vector_hits, table, col, qv[col][i], 10, **kw)
                rec.append(len({h["segment_id"] for h in hits} & truth[col][i]) / 10)
            out["vector"][col], out["recall"][col] = timed, float(np.mean(rec))
        cfg = config(args, nprobes)
        hy = Timed()
        for i in range(args.queries):
            vqs = [VectorQuery(space_of(col), col, qv[col][i], "text") for col in DIMS]
            hy(find_moments, table, vqs, [qt[i]], None, cfg, 10)
        out["hybrid"] = hy
    out["pressure"] = pressure.some
    if agree_too:
        # the same fusion with every fused vector list re-ranked 3x on full vectors (and at
        # least the default candidates): how much of the top 10 the cheaper settings change
        ref = cfg.model_copy(update={"fused_refine_factor": max(args.refine, 3),
                                     "candidates": max(cfg.candidates, SearchConfig().candidates)})
        agree = []
        for i in range(min(50, args.queries)):
            vqs = [VectorQuery(space_of(col), col, qv[col][i], "text") for col in DIMS]
            a = {m.best.segment_id for m in find_moments(table, vqs, [qt[i]], None, cfg, 10)[0]}
            b = {m.best.segment_id for m in find_moments(table, vqs, [qt[i]], None, ref, 10)[0]}
            agree.append(len(a & b) / max(len(b), 1))
        out["agree"] = float(np.mean(agree))
    return out


def breakdown(table, args, nprobes: int, qv, qt, n: int = 100) -> None:
    """Where a hybrid query's time goes: its parts one after another, as
    ``find_moments`` does them (it runs the four lists side by side, so its wall time is
    less than their sum; its CPU about the same)."""
    from medialake.search.fusion import Ranked, rrf
    from medialake.search.lists import fetch_rows, gather
    from medialake.search.moments import merge
    from medialake.search.query import DETAIL_COLUMNS, RANK_COLUMNS

    cfg = config(args, nprobes)
    k = max(cfg.candidates, 40)
    parts = {name: Timed() for name in [*(f"vector {c}" for c in DIMS), "fulltext", "phrase", "fuse (RRF)",
                                         "rows of leaders", "merge"]}
    parts["side by side"] = Timed()  # the four lists as find_moments runs them (threads)
    for i in range(min(n, args.queries)):
        lists = [Ranked(space_of(col), parts[f"vector {col}"](
            vector_hits, table, col, qv[col][i], k, nprobes=nprobes, ef=args.ef,
            refine_factor=cfg.fused_refine_factor, columns=RANK_COLUMNS)) for col in DIMS]
        lists.append(Ranked("fulltext", parts["fulltext"](fulltext_hits, table, qt[i], k, columns=RANK_COLUMNS)))
        lists.append(Ranked("phrase", parts["phrase"](phrase_hits, table, qt[i], k, columns=RANK_COLUMNS)))
        calls = [lambda col=col: vector_hits(table, col, qv[col][i], k, nprobes=nprobes, ef=args.ef,
                                             refine_factor=cfg.fused_refine_factor, columns=RANK_COLUMNS)
                 for col in DIMS]
        calls += [lambda: fulltext_hits(table, qt[i], k, columns=RANK_COLUMNS),
                  lambda: phrase_hits(table, qt[i], k, columns=RANK_COLUMNS)]
        parts["side by side"](gather, calls)
        top = parts["fuse (RRF)"](rrf, lists, cfg.rrf_k)[:30]
        rows = parts["rows of leaders"](fetch_rows, table, [f.row for f in top], DETAIL_COLUMNS + ["thumbnail"])
        for f in top:
            f.row.update(rows.get(f.segment_id, {}))
        parts["merge"](merge, top, cfg.merge_gap_s, cfg.merge_min_ratio)
    print(f"hybrid, part by part ({min(n, args.queries)} queries, one after another, k={k}):")
    for name, t in parts.items():
        print(f"  {name:18s}: {t.line()}")
    print(f"  {'sum':18s}: CPU {sum(t.cpu_ms for p, t in parts.items() if p != 'side by side'):6.2f} ms/query "
          "(the side-by-side line times the four lists again, together)")


def top_file(table, args, nprobes: int, qv, qt) -> None:
    """``--top-file``: the hybrid top 10 of every query (segment, evidence, fused score,
    times) written to the file if it does not exist, else compared with it: how much of the
    top 10 a code change keeps (run once on the old code, then on the new)."""
    import json

    cfg, got = config(args, nprobes), []
    for i in range(args.queries):
        vqs = [VectorQuery(space_of(col), col, qv[col][i], "text") for col in DIMS]
        got.append([[m.best.segment_id, m.evidence, round(m.score, 6), m.start_s, m.end_s]
                    for m in find_moments(table, vqs, [qt[i]], None, cfg, 10)[0]])
    if not os.path.exists(args.top_file):
        with open(args.top_file, "w") as f:
            json.dump(got, f)
        print(f"hybrid top 10 of {len(got)} queries written to {args.top_file}")
        return
    with open(args.top_file) as f:
        old = json.load(f)
    if len(old) != len(got):
        raise SystemExit(f"{args.top_file} holds {len(old)} queries, not {len(got)}: use the same --queries")
    shared = [len({r[0] for r in a} & {r[0] for r in b}) / max(len(b), 1) for a, b in zip(got, old)]
    order = sum([r[0] for r in a] == [r[0] for r in b] for a, b in zip(got, old))
    same = sum(a == b for a, b in zip(got, old))
    print(f"hybrid top 10 against {args.top_file}: {np.mean(shared):.4f} shared, same order in {order} "
          f"and identical (scores, times) in {same} of {len(got)} queries")


def exact_ratio(table, args, qv) -> None:
    col = "text_vector"
    ex, ann = Timed(), Timed()
    for i in range(args.exact_queries):
        q = table.search(qv[col][i], vector_column_name=col).distance_type("cosine").bypass_vector_index()
        ex(lambda: q.select(["segment_id"]).limit(10).to_list())
    for i in range(args.exact_queries):
        ann(vector_hits, table, col, qv[col][i], 10, nprobes=args.nprobes[-1], ef=args.ef, refine_factor=args.refine)
    print(f"exact flat scan {col} ({args.exact_queries} queries): {ex.line()}; "
          f"ANN is {ex.p(50) / ann.p(50):.0f}x faster at p50")


def spread(xs: list[float]) -> str:
    return f"{np.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"


def report(runs: list[dict], args, nprobes: int) -> dict:
    """Print each run and the median over runs (with the spread); return the medians."""
    print(f"-- nprobes={nprobes} ef={args.ef} refine={args.refine} fused lists: refine={args.fused_refine}, "
          f"candidates {args.candidates}; {len(runs)} run(s) of {args.queries} queries")
    for r, run in enumerate(runs, 1):
        psi = "n/a" if run["pressure"] is None else f"{run['pressure']:.2f}"
        print(f" run {r} (CPU pressure, PSI some: {psi})")
        for col in DIMS:
            print(f"  vector {col:12s}: {run['vector'][col].line()}  recall@10 {run['recall'][col]:.3f}")
        print(f"  hybrid (2 vector spaces + full text + phrase, side by side, RRF, moments, text and thumbnails "
              f"of the winners): {run['hybrid'].line()}")
    if "agree" in runs[0]:
        print(f" hybrid top-10 moments shared with fused lists re-ranked 3x, candidates >= default: "
              f"{runs[0]['agree']:.3f} (50 queries)")
    med = {}
    print(" median over runs (min-max):")
    for col in DIMS:
        p50 = [run["vector"][col].p(50) for run in runs]
        p99 = [run["vector"][col].p(99) for run in runs]
        cpu = [run["vector"][col].cpu_ms for run in runs]
        print(f"  vector {col:12s}: p50 {spread(p50)} ms, p99 {spread(p99)} ms, CPU {spread(cpu)} ms/query")
        med[col] = (np.median(p50), np.median(p99))
    p50, p99 = [run["hybrid"].p(50) for run in runs], [run["hybrid"].p(99) for run in runs]
    cpu = [run["hybrid"].cpu_ms for run in runs]
    print(f"  hybrid             : p50 {spread(p50)} ms, p99 {spread(p99)} ms, CPU {spread(cpu)} ms/query")
    psi = [run["pressure"] for run in runs if run["pressure"] is not None]
    return {"vector_p50_ms": max(m[0] for m in med.values()), "vector_p99_ms": max(m[1] for m in med.values()),
            "hybrid_p50_ms": float(np.median(p50)), "hybrid_p99_ms": float(np.median(p99)),
            "hybrid_cpu_ms": float(np.median(cpu)),
            "recall_at_10": min(min(run["recall"].values()) for run in runs),
            "cpu_pressure": float(np.median(psi)) if psi else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of synthetic segments")
    ap.add_argument("--db", default=None, help="database directory, kept and reused by later runs with the same N "
                    "(default: a temp dir, removed at the end)")
    ap.add_argument("--reuse", action="store_true", help="reuse the table in --db whatever its row count")
    ap.add_argument("--rebuild-index", action="store_true", help="rebuild the vector indexes of a reused table")
    ap.add_argument("--prepare", action="store_true", help="only generate the table (no index) and the exact top 10 "
                    "into --db, then stop: nothing timed, so it can run at low priority outside the benchmark lock")
    ap.add_argument("--index-only", action="store_true", help="build what --db lacks (table, indexes), then stop: "
                    "the index build timed on its own, outside the benchmark lock")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs over the same queries; the median is reported")
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--index-type", default=None, choices=["IVF_HNSW_SQ", "IVF_PQ"],
                    help="default: what medialake.store.index_params picks for N")
    ap.add_argument("--num-partitions", type=int, default=None, help="override medialake.store.index_params")
    ap.add_argument("--sub-vectors", type=int, default=None, help="IVF_PQ sub-vectors, overriding medialake.store.index_params")
    dflt = SearchConfig()
    ap.add_argument("--nprobes", type=int, nargs="+", default=[dflt.nprobes],
                    help="query-time settings to compare (default: the search config's)")
    ap.add_argument("--ef", type=int, default=dflt.ef, help="HNSW ef at query time (IVF_HNSW_SQ)")
    ap.add_argument("--refine", type=int, default=dflt.refine_factor or 0,
                    help="refine factor (re-rank on full vectors); 0: none")
    ap.add_argument("--fused-refine", type=int, default=dflt.fused_refine_factor or 0,
                    help="refine factor of vector lists fused with others (hybrid); 0: none (distances then on the "
                         "index's own scale)")
    ap.add_argument("--candidates", type=int, default=dflt.candidates, help="hits taken from each list before fusion")
    ap.add_argument("--exact-queries", type=int, default=10, help="flat-scan queries timed for the ratio")
    ap.add_argument("--vectors", nargs="+", choices=list(ALL_DIMS), default=list(ALL_DIMS),
                    help="vector columns to generate and measure (one alone halves the table for sizes that "
                         "do not fit otherwise)")
    ap.add_argument("--top-file", default=None, help="write the hybrid top 10 of every query to this JSON file, "
                    "or compare with it where it exists (old code first, then new)")
    args = ap.parse_args(argv)

    temp = args.db is None
    args.db = args.db or tempfile.mkdtemp(prefix="ml_bench_")
    cents = {col: centres(dim, seed=i) for i, (col, dim) in enumerate(ALL_DIMS.items())}
    DIMS.clear()
    DIMS.update({col: ALL_DIMS[col] for col in args.vectors})
    cents = {col: cents[col] for col in DIMS}
    try:
        qv, qt = queries(args.queries, cents)
        if args.prepare:
            build(args.db, args.n, args.chunk, cents, qv)
            import resource

            print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
            return 0
        table = open_or_build(args, cents, qv)
        if args.index_only:
            import resource

            print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
            return 0
        truth = ground_truth(args.db, args.n, args.chunk, cents, qv)
        warm(table, args, cents, qv, qt)
        ft = Timed()
        hits = [ft(fulltext_hits, table, text, 10) for text in qt]
        print(f"full-text   : {ft.line()}  (mean hits {np.mean([len(h) for h in hits]):.1f})")
        result = {}
        for nprobes in args.nprobes:
            runs = [one_run(table, args, nprobes, qv, qt, truth, agree_too=r == 0) for r in range(args.repeat)]
            result = report(runs, args, nprobes)
            breakdown(table, args, nprobes, qv, qt)
            if args.top_file:
                top_file(table, args, nprobes, qv, qt)
        if args.exact_queries:
            exact_ratio(table, args, qv)
        import resource

        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
        print("RESULT " + " ".join([f"n={args.n}"] + [f"{k}={v:.3f}" if k.startswith(("recall", "cpu_p")) else
                                                       f"{k}={v:.1f}" for k, v in result.items()]))
    finally:
        if temp:
            shutil.rmtree(args.db, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
