"""The frames list: a query's nearest video frames, as hits on their segments.

The ``frames`` table holds one vector per sampled video frame (``image_text`` space). A
text or image query embedded in that space is searched there too; :func:`frame_hits`
returns the nearest frames folded to one hit per segment (its best frame), so fusion
weighs them with the segment-level lists, and :func:`narrow` then moves the hit's
``start_s``/``end_s`` to that frame's second: the moment says when the picture is shown,
not just which window holds it.
"""

from __future__ import annotations

import numpy as np

#: How long a moment found by one frame lasts, from the frame's time (within its segment).
FRAME_SPAN_S = 1.0


def frame_hits(frames, vector: np.ndarray, limit: int, *, where: str | None = None, nprobes: int = 8,
               refine_factor: int | None = None, ef: int | None = None) -> list[dict]:
    """The segments whose frames are nearest to ``vector`` (cosine), best first: one hit per
    segment, ``segment_id``, ``asset_id``, ``media_type``, ``_distance`` of its best frame,
    ``_frame_t`` (that frame's time) and ``_frame_rowid`` (its row in ``frames``). No
    ``_rowid``: that names rows of ``segments``."""
    q = frames.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector").distance_type("cosine")
    q = q.nprobes(nprobes)
    if refine_factor:
        q = q.refine_factor(refine_factor)
    if ef:
        q = q.ef(max(ef, 4 * limit * (refine_factor or 1)))
    if where:
        q = q.where(where, prefilter=True)
    # several frames of a segment can lead; take more so `limit` segments remain
    rows = (q.with_row_id(True).select(["segment_id", "asset_id", "media_type", "t_s", "_distance"])
            .limit(4 * limit).to_arrow().to_pylist())
    out: dict[str, dict] = {}
    for r in rows:
        if r["segment_id"] in out:
            continue
        out[r["segment_id"]] = {"segment_id": r["segment_id"], "asset_id": r["asset_id"],
                                "media_type": r["media_type"], "_distance": r["_distance"],
                                "_frame_t": float(r["t_s"]), "_frame_rowid": r["_rowid"]}
        if len(out) >= limit:
            break
    return list(out.values())


def narrow(row: dict, span_s: float = FRAME_SPAN_S) -> bool:
    """Move a hit that a frame found (``row["_frame_t"]``) to that frame's second, within
    its segment, unless its matching words narrowed it already. Returns whether it moved."""
    t = row.get("_frame_t")
    if t is None or row.get("_tight") or row.get("start_s") is None:
        return False
    s, e = float(row["start_s"]), float(row["end_s"])
    a = min(max(float(t), s), e)
    row["start_s"], row["end_s"] = a, max(a, min(e, a + span_s))
    row["_tight"] = row["_tight_frame"] = True
    return True


def thumbnails(frames, rowids: list[int]) -> dict[int, bytes | None]:
    """``{row id: JPEG}`` of frames, read by row id."""
    if frames is None or not rowids:
        return {}
    t = frames.take_row_ids(list(rowids)).with_row_id().select(["thumbnail"]).to_arrow()
    return dict(zip(t.column("_rowid").to_pylist(), t.column("thumbnail").to_pylist()))
