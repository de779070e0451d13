"""Small hand-made databases for search tests: real MiniLM text vectors, real LanceDB."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from medialake import schema
from medialake.arrow import vector_column
from medialake.models.text import TextEncoder
from medialake.store import Store


def seg(asset_id, i, start, end, text, media_type="video", language="en", thumbnail=None):
    return {"segment_id": f"{asset_id}-{i}", "asset_id": asset_id, "media_type": media_type, "modality": media_type,
            "segment_index": i, "start_s": float(start), "end_s": float(end), "text": text, "transcript": text,
            "language": language, "thumbnail": thumbnail}


def asset(asset_id, uri, media_type, duration, mtime):
    return {"asset_id": asset_id, "uri": uri, "media_type": media_type, "duration_s": duration, "status": "done",
            "mtime": mtime, "size": 1000, "n_segments": 1, "config_hash": "t"}


def write_lake(db: str, assets: list[dict], segments: list[dict], extra_vectors: dict | None = None) -> Store:
    """Create ``db`` with these rows; text vectors come from the real MiniLM encoder.

    ``extra_vectors``: {column: (n, dim) array} added as extra vector columns (e.g. the
    ``image_vector`` column that the image/text role writes).
    """
    import lancedb

    extra_vectors = extra_vectors or {}
    fields = list(schema.SEGMENTS)
    for col, vecs in extra_vectors.items():
        fields.append(pa.field(col, schema.vector_type(vecs.shape[1])))
    seg_schema = pa.schema(fields, metadata=schema.SEGMENTS.metadata)
    lancedb.connect(db).create_table("segments", schema=seg_schema)
    store = Store(db)
    store.upsert_assets(pa.Table.from_pylist(assets))
    texts = [s["text"] for s in segments]
    present = np.array([t is not None for t in texts])
    vecs = TextEncoder.shared().encode([t for t in texts if t is not None])
    table = pa.Table.from_pylist(segments)
    table = table.append_column("text_vector", vector_column(vecs, present, schema.TEXT_DIM))
    for col, v in extra_vectors.items():
        table = table.append_column(col, vector_column(v.astype(np.float32), np.ones(len(v), bool), v.shape[1]))
    store.table("segments").add(schema.conform(table, seg_schema))
    return store


UTC = timezone.utc
ASSETS = [
    asset("v1", "/archive/talks/budget.mp4", "video", 30.0, datetime(2024, 3, 1, tzinfo=UTC)),
    asset("v2", "/archive/talks/offsite.mp4", "video", 600.0, datetime(2024, 6, 1, tzinfo=UTC)),
    asset("a1", "/archive/radio/lighthouse.mp3", "audio", 20.0, datetime(2023, 1, 5, tzinfo=UTC)),
    asset("a2", "/archive/radio/nachrichten.mp3", "audio", 40.0, datetime(2023, 2, 5, tzinfo=UTC)),
    asset("i1", "/archive/photos/cat.jpg", "image", 0.0, datetime(2022, 7, 1, tzinfo=UTC)),
]
SEGMENTS = [
    seg("v1", 0, 0, 10, "Good morning everyone, welcome to the team meeting."),
    seg("v1", 1, 10, 20, "The quarterly budget review starts at nine in the main hall.", thumbnail=b"\xff\xd8v1-1"),
    seg("v1", 2, 20, 30, "After the review we will discuss the travel budget for next quarter.", thumbnail=b"\xff\xd8v1-2"),
    seg("v2", 0, 0, 10, "Our review of the budget is quarterly; this offsite plans the next year."),
    seg("v2", 1, 300, 310, "Lunch is served on the terrace."),
    seg("a1", 0, 0, 10, "The keeper climbs the tower every night to light the lamp."),
    seg("a1", 1, 10, 20, "Fresh bread is delivered to the island by boat on Fridays."),
    seg("a2", 0, 0, 10, "Die Nachrichten des Tages: das Wetter bleibt sonnig.", media_type="audio", language="de"),
    seg("i1", 0, 0, 0, "A grey cat sleeping on a sofa.", media_type="image", language=None, thumbnail=b"\xff\xd8cat"),
]
for s in SEGMENTS:
    if s["asset_id"].startswith("a"):
        s["media_type"] = s["modality"] = "audio"
