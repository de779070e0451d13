"""Run one query against one index: a vector column, the full-text index, a phrase.

Each function returns hits best first, as dicts of the selected columns. They take
the ``where`` string built by :mod:`medialake.search.filters` (typed values only).
"""

from __future__ import annotations

import re

import numpy as np

#: Columns a list returns unless told otherwise: what a caller of one list needs, nothing
#: wide. Each hit also carries ``_rowid``, by which :func:`fetch_rows` reads other columns
#: of the few segments that win (a random-access take, not a filtered scan); hybrid search
#: asks its lists for ``segment_id`` only and reads the rest that way.
HIT_COLUMNS = ["segment_id", "asset_id", "media_type", "start_s", "end_s"]


#: An IVF_PQ index orders its candidates by 8-bit codes of 8-dim pieces of each vector,
#: too coarse to rank neighbours that lie close together: at least this many of them are
#: re-ranked on full vectors. ``benchmarks/search_bench.py 300000 --vectors text_vector
#: --index-type IVF_PQ``, nprobes 8, k 10: recall@10 0.60 re-ranking 30, 0.95 at 100, 0.99 at 200.
PQ_MIN_RERANK = 200

_index_types: dict = {}


def index_type(table, column: str, ttl_s: float = 10.0) -> str | None:
    """The ANN index type on ``column`` (``IvfPq``, ``IvfHnswSq``...), None without one;
    looked up once per table handle every ``ttl_s`` seconds."""
    import time

    now = time.monotonic()
    hit = _index_types.get(id(table))
    if hit is None or now - hit[0] > ttl_s:
        types = {}
        for idx in table.list_indices():
            if len(idx.columns) == 1:
                types[idx.columns[0]] = str(idx.index_type)
        hit = _index_types[id(table)] = (now, types)
    return hit[1].get(column)


def refine_for(kind: str | None, refine_factor: int | None, limit: int) -> int | None:
    """The refine factor a query of ``limit`` hits uses on an index of type ``kind``:
    ``refine_factor``, raised on IVF_PQ so that :data:`PQ_MIN_RERANK` candidates are re-ranked."""
    if kind is not None and kind.replace("_", "").lower() == "ivfpq":
        return max(refine_factor or 1, -(-PQ_MIN_RERANK // max(limit, 1)))
    return refine_factor


def vector_hits(table, column: str, vector: np.ndarray, limit: int, *, where: str | None = None,
                nprobes: int = 20, refine_factor: int | None = None, ef: int | None = None,
                columns: list[str] = HIT_COLUMNS) -> list[dict]:
    """Nearest segments to ``vector`` in ``column`` (cosine), through its ANN index if it
    has one (an IVF_PQ index re-ranks at least :data:`PQ_MIN_RERANK` candidates)."""
    q = table.search(np.asarray(vector, dtype=np.float32), vector_column_name=column).distance_type("cosine")
    q = q.nprobes(nprobes)
    refine_factor = refine_for(index_type(table, column), refine_factor, limit)
    if refine_factor:
        q = q.refine_factor(refine_factor)
    if ef:  # HNSW needs ef >= the number of candidates it returns
        q = q.ef(max(ef, limit * (refine_factor or 1)))
    if where:
        q = q.where(where, prefilter=True)
    return q.with_row_id(True).select(columns + ["_distance"]).limit(limit).to_arrow().to_pylist()


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of ``text`` (letters and digits), lower-cased."""
    return [w.lower() for w in _WORD.findall(text or "")]


def fulltext_hits(table, text: str, limit: int, *, where: str | None = None, column: str = "text",
                  columns: list[str] = HIT_COLUMNS) -> list[dict]:
    """BM25 matches of any word of ``text``. The text is a structured match query, never
    parsed as query syntax, so quotes and operators in it are just words."""
    from lancedb.query import MatchQuery

    terms = " ".join(words(text))
    if not terms:
        return []
    q = table.search(MatchQuery(terms, column), query_type="fts")
    if where:
        q = q.where(where, prefilter=True)
    return q.with_row_id(True).select(columns + ["_score"]).limit(limit).to_arrow().to_pylist()


def phrase_hits(table, text: str, limit: int, *, where: str | None = None, column: str = "text",
                columns: list[str] = HIT_COLUMNS) -> list[dict]:
    """Segments containing the words of ``text`` as an exact phrase (needs a positional
    full-text index; see :func:`medialake.store.ensure_fts_index`). Single words: none."""
    from lancedb.query import PhraseQuery

    terms = words(text)
    if len(terms) < 2:
        return []
    q = table.search(PhraseQuery(" ".join(terms), column), query_type="fts")
    if where:
        q = q.where(where, prefilter=True)
    return q.with_row_id(True).select(columns + ["_score"]).limit(limit).to_arrow().to_pylist()


_datasets: dict[int, tuple] = {}


def dataset_of(table):
    """The pylance dataset behind ``table`` at the version the handle reads, opened once per
    version and handle; None for a table without one (a remote table)."""
    try:
        version = table.version
        hit = _datasets.get(id(table))
        if hit is not None and hit[0] is table and hit[1] == version:
            return hit[2]
        ds = table.to_lance()
    except (NotImplementedError, AttributeError, ImportError):
        return None
    if len(_datasets) >= 16:  # handles come and go (a search opens its own): keep a few
        _datasets.clear()
    _datasets[id(table)] = (table, version, ds)
    return ds


def take_rows(table, row_ids: list[int], columns: list[str]):
    """``columns`` of the rows with ``row_ids`` (an Arrow table, any order). Through pylance's
    take by row id on the cached dataset where there is one: 4.3 against LanceDB's 6.0 CPU-ms
    for 30 rows of 8 columns, 0.8 against 3.1 for one column (100k rows; LanceDB plans a query
    per take). A deleted row is left out by both."""
    ds = dataset_of(table)
    if ds is not None:
        return ds._take_rows(row_ids, columns=columns)
    return table.take_row_ids(row_ids).select(columns).to_arrow()


def fetch_rows(table, hits: list[dict], columns: list[str]) -> dict[str, dict]:
    """``columns`` of the segments behind ``hits`` (dicts with ``segment_id`` and the
    ``_rowid`` the lists return), keyed by segment id. Rows are taken by row id; hits
    without one (or whose row moved since) are read with a ``segment_id IN`` filter."""
    from medialake.store import sql_in

    cols = ["segment_id", *[c for c in columns if c != "segment_id"]]
    ids = [h["_rowid"] for h in hits if h.get("_rowid") is not None]
    out: dict[str, dict] = {}
    if ids:
        for row in take_rows(table, ids, cols).to_pylist():
            out[row["segment_id"]] = row
    missing = [h["segment_id"] for h in hits if h["segment_id"] not in out]
    if missing:
        for row in table.search().where(sql_in("segment_id", missing)).select(cols).limit(len(missing)).to_list():
            out[row["segment_id"]] = row
    return out


_pool = None


def gather(calls: list) -> list:
    """Run independent list queries side by side (LanceDB releases the GIL while it
    searches), returning their results in order. Hybrid latency is then about the slowest
    list rather than the sum."""
    global _pool
    if len(calls) <= 1:
        return [c() for c in calls]
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="medialake-search")
    return [f.result() for f in [_pool.submit(c) for c in calls]]


def phash_hits(table, hashes: list[int], limit: int, *, where: str | None = None, max_bits: int = 12,
               columns: list[str] = HIT_COLUMNS) -> list[dict]:
    """Segments whose picture's perceptual hash (``segments.phash``) is within ``max_bits`` of
    one of ``hashes``, nearest first, with ``_distance`` = differing bits / 64. This is how an
    image query finds the photo or video keyframe it was made from without an image model."""
    import pyarrow as pa

    from medialake.operators.phash import hamming_matrix

    if not hashes or "phash" not in table.schema.names:
        return []
    cond = "phash IS NOT NULL" + (f" AND ({where})" if where else "")
    t = table.search().where(cond).select(columns + ["phash"]).with_row_id(True).limit(None).to_arrow()
    if t.num_rows == 0:
        return []
    bits = hamming_matrix(np.array(hashes, dtype=np.int64), t.column("phash").to_numpy()).min(axis=0)
    keep = np.flatnonzero(bits <= max_bits)
    keep = keep[np.lexsort((keep, bits[keep]))][:limit]
    rows = t.take(pa.array(keep, type=pa.int64())).drop_columns(["phash"]).to_pylist()
    for row, b in zip(rows, bits[keep]):
        row["_distance"] = round(float(b) / 64, 4)
    return rows

