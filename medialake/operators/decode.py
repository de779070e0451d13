"""decode+chunk: one source file in, its segments out (or one failed marker row).

This is the one-to-many step of the pipeline. ``decode_batch`` is what Ray Data maps over
batches of file records; ``decode_file`` is the same for one record and is what tests call.
Any exception on a file becomes a marker row with ``error`` set, unless
``raise_errors`` is true (tests), so one broken file never stops a run.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from medialake.errors import DecodeError
from medialake.operators.audio import decode_audio, slice_pcm
from medialake.operators.chunk import windows
from medialake.operators.image import apply_exif, decode_image, jpeg_thumbnail
from medialake.operators.probe import open_container, probe
from medialake.operators.video import frame_at
from medialake.pipelines.config import DecodeConfig
from medialake.schema import STREAM


def segment_id_for(asset_id: str, index: int, start_s: float) -> str:
    return hashlib.sha1(f"{asset_id}:{index}:{start_s:.3f}".encode()).hexdigest()[:24]


def _asset_fields(record: dict, p=None) -> dict:
    return {
        "asset_id": record["asset_id"],
        "uri": record["uri"],
        "media_type": record["media_type"],
        "size": record.get("size"),
        "mtime": record.get("mtime"),
        "duration_s": p.duration_s if p else None,
        "width": p.width if p else None,
        "height": p.height if p else None,
        "codecs": p.codecs if p else None,
    }


def _read_bytes(uri: str, limit: int = 64 << 20) -> bytes | None:
    if "://" in uri and not uri.startswith("file://"):
        return None
    with open(uri.removeprefix("file://"), "rb") as f:
        return f.read(limit)


def decode_file(record: dict, cfg: DecodeConfig) -> list[dict]:
    """Decode one file record into segment rows (dicts with the ``STREAM`` columns).

    Raises :class:`DecodeError` (or whatever PyAV raises) on a broken file.
    """
    media_type = record["media_type"]
    rows: list[dict] = []
    with open_container(record["uri"]) as c:
        p = probe(c)
        base = _asset_fields(record, p)
        if media_type == "image":
            img = decode_image(c, cfg.max_image_pixels)
            raw = _read_bytes(record["uri"]) if record["uri"].lower().endswith((".jpg", ".jpeg", ".tif", ".tiff", ".webp")) else None
            if raw:
                img = apply_exif(img, raw)
            base["width"], base["height"], base["duration_s"] = img.width, img.height, 0.0
            rows.append({**base, "modality": "image", "start_s": 0.0, "end_s": 0.0,
                         "thumbnail": jpeg_thumbnail(img, cfg.thumbnail_px, cfg.thumbnail_quality), "audio": None})
        else:
            if media_type == "video" and not p.has_video:
                raise DecodeError("no video stream")
            if media_type == "audio" and not p.has_audio:
                raise DecodeError("no audio stream")
            if p.has_video:
                c.streams.video[0].thread_type = "AUTO"
            pcm = None
            if p.has_audio:
                pcm = decode_audio(c, cfg.sample_rate)
            duration = p.duration_s
            if pcm is not None and (duration is None or media_type == "audio"):
                duration = max(duration or 0.0, len(pcm) / cfg.sample_rate)
            if duration is None:
                raise DecodeError("unknown duration")
            base["duration_s"] = duration
            for start, end in windows(duration, cfg.window_s, cfg.overlap_s):
                thumb = None
                if media_type == "video":
                    img = frame_at(c, start + min(1.0, (end - start) / 2))
                    thumb = jpeg_thumbnail(img, cfg.thumbnail_px, cfg.thumbnail_quality) if img is not None else None
                audio = slice_pcm(pcm, start, end, cfg.sample_rate).tobytes() if pcm is not None else None
                rows.append({**base, "modality": media_type, "start_s": start, "end_s": end,
                             "thumbnail": thumb, "audio": audio})
    for i, row in enumerate(rows):
        row["segment_index"] = i
        row["segment_id"] = segment_id_for(record["asset_id"], i, row["start_s"])
        row["n_segments"] = len(rows)
        row["error"] = None
    if not rows:
        rows.append({**base, "segment_index": -1, "n_segments": 0, "error": None})
    return rows


def failed_row(record: dict, exc: BaseException) -> dict:
    reason = f"{type(exc).__name__}: {exc}".strip()
    return {**_asset_fields(record), "segment_index": -1, "n_segments": 0, "error": reason}


def to_stream_table(rows: list[dict]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in STREAM}
    return pa.Table.from_pydict(cols, schema=STREAM)


def decode_batch(batch: pa.Table, cfg: DecodeConfig, raise_errors: bool = False) -> pa.Table:
    """Ray Data entry point: a batch of file records -> the ``STREAM`` rows of their segments."""
    out: list[dict] = []
    for record in batch.to_pylist():
        try:
            out.extend(decode_file(record, cfg))
        except Exception as e:  # a broken file becomes a failed row, the run goes on
            if raise_errors:
                raise
            out.append(failed_row(record, e))
    return to_stream_table(out)


def pcm_of(row_audio: bytes | None) -> np.ndarray:
    """The float32 PCM carried in a stream row's ``audio`` column."""
    return np.frombuffer(row_audio, dtype=np.float32) if row_audio else np.zeros(0, dtype=np.float32)
