"""Search a medialake database for the moments that match a sentence.

``search("quarterly budget review", db="demo.lance")`` embeds the query with the text
encoder the pipeline used, finds the nearest segments, and returns moments: one dict per
hit with ``asset_uri``, ``media_type``, ``start_s``, ``end_s``, ``score`` and ``text``.
"""

from __future__ import annotations

from typing import Literal

from medialake.errors import InputError
from medialake.store import Store, sql_in, sql_str

MEDIA_TYPES = ("video", "audio", "image")


def search(
    query: str,
    db: str,
    *,
    type: Literal["video", "audio", "image"] | None = None,
    limit: int = 10,
    text_model: str = "all-MiniLM-L6-v2",
) -> list[dict]:
    """Return the best ``limit`` moments for ``query``, best first."""
    from medialake.models.text import TextEncoder

    if not query or not query.strip():
        raise InputError("the query is empty; pass a sentence to search for")
    if type is not None and type not in MEDIA_TYPES:
        raise InputError(f"unknown media type {type!r}; use one of {', '.join(MEDIA_TYPES)}")
    if limit < 1:
        raise InputError(f"limit must be at least 1, got {limit}")
    store = Store(db, create=False)
    segments = store.table("segments")
    vec = TextEncoder.shared(text_model).encode([query])[0]
    q = segments.search(vec, vector_column_name="text_vector").distance_type("cosine")
    where = [w for w in (store.committed_filter(), f"media_type = {sql_str(type)}" if type else None) if w]
    if where:  # only committed assets: an ingest running now never shows half an asset
        q = q.where(" AND ".join(f"({w})" for w in where), prefilter=True)
    hits = q.select(["segment_id", "asset_id", "media_type", "start_s", "end_s", "text", "_distance"]).limit(limit).to_list()
    if not hits:
        return []
    assets = {a["asset_id"]: a for a in store.assets(["asset_id", "uri"], where=sql_in("asset_id", {h["asset_id"] for h in hits})).to_pylist()}
    out = []
    for h in hits:
        out.append({
            "asset_id": h["asset_id"],
            "asset_uri": assets.get(h["asset_id"], {}).get("uri"),
            "media_type": h["media_type"],
            "segment_id": h["segment_id"],
            "start_s": h["start_s"],
            "end_s": h["end_s"],
            "score": round(1.0 - float(h["_distance"]), 4),
            "text": h["text"],
        })
    return out
