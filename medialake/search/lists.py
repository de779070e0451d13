"""Run one query against one index: a vector column, the full-text index, a phrase.

Each function returns hits best first, as dicts of the selected columns. They take
the ``where`` string built by :mod:`medialake.search.filters` (typed values only).
"""

from __future__ import annotations

import re

import numpy as np

#: Columns every list returns (thumbnails are fetched later, for the winners only).
HIT_COLUMNS = ["segment_id", "asset_id", "media_type", "start_s", "end_s", "text", "language"]


def vector_hits(table, column: str, vector: np.ndarray, limit: int, *, where: str | None = None,
                nprobes: int = 20, refine_factor: int | None = None, ef: int | None = None,
                columns: list[str] = HIT_COLUMNS) -> list[dict]:
    """Nearest segments to ``vector`` in ``column`` (cosine), through its ANN index if it has one."""
    q = table.search(np.asarray(vector, dtype=np.float32), vector_column_name=column).distance_type("cosine")
    q = q.nprobes(nprobes)
    if refine_factor:
        q = q.refine_factor(refine_factor)
    if ef:  # HNSW needs ef >= the number of candidates it returns
        q = q.ef(max(ef, limit * (refine_factor or 1)))
    if where:
        q = q.where(where, prefilter=True)
    return q.select(columns + ["_distance"]).limit(limit).to_list()


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
    return q.select(columns + ["_score"]).limit(limit).to_list()


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
    return q.select(columns + ["_score"]).limit(limit).to_list()


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
