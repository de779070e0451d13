"""decode+chunk: one source file in, its segments out as they are decoded.

This is the one-to-many step of the pipeline. :func:`decode_stream` is what Ray Data maps
over batches of file records: a generator that yields Arrow blocks of ``STREAM`` rows
every ``decode.rows_per_block`` segments, so a long file never sits in memory whole.

Row protocol (what the sink relies on): each segment row has ``segment_index >= 0`` and
``n_segments`` null; after a file's last segment comes one marker row
(``segment_index = -1``) with the final asset fields, ``n_segments`` = the number of
segments, and ``error`` null, or ``error`` = the reason if the file failed (then any of its
segments already sent are discarded by the sink). Any exception on a file becomes that
failed marker, unless ``raise_errors`` (tests), so one broken file never stops a run; each
file has ``decode.timeout_s`` seconds.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

import pyarrow as pa

from medialake.operators.image import decode_image_file, jpeg_thumbnail
from medialake.operators.sources import Deadline
from medialake.operators.timeline import TimelineReport, iter_timeline
from medialake.operators.video import frame_jpeg, ocr_jpeg
from medialake.operators.config import DecodeConfig
from medialake.operators.fingerprint import FingerprintBuffer
from medialake.operators.metadata_image import image_metadata
from medialake.operators.phash import phash
from medialake.schema import ASSET_FROM_STREAM, STREAM


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


def _image_segments(record: dict, cfg: DecodeConfig, base: dict, info: TimelineReport) -> Iterator[dict]:
    def read_metadata(opened) -> None:
        info.metadata = image_metadata(opened)

    frames, anim_s = decode_image_file(record["uri"], cfg.max_image_pixels, max(1, cfg.frames_per_segment),
                                       on_open=read_metadata)
    img = frames[0]
    base.update(width=img.width, height=img.height, duration_s=anim_s, codecs=None)
    model_frames = [frame_jpeg(f, cfg.frame_px, cfg.frame_quality) for f in frames[: cfg.frames_per_segment]]
    n = len(model_frames)
    ocr = [ocr_jpeg(f, cfg.ocr_px) for f in frames[:1]] if cfg.ocr_px else []  # a still's text is in its first frame
    yield {"modality": "image", "start_s": 0.0, "end_s": anim_s,
           "thumbnail": jpeg_thumbnail(img, cfg.thumbnail_px, cfg.thumbnail_quality), "audio": None,
           "phash": phash(img),
           "frames": model_frames or None, "ocr_frames": ocr or None,
           "frame_times": [round(anim_s * i / n, 4) for i in range(n)] if n else None}


def iter_file_rows(record: dict, cfg: DecodeConfig, deadline: Deadline | None = None) -> Iterator[dict]:
    """Yield a file's segment rows as they are decoded, then its marker row (see module doc).

    The first segment row carries the file's metadata words (``metadata_text``); the marker
    carries its metadata columns and, for sound files, its audio fingerprint.
    Raises :class:`~medialake.errors.DecodeError` (or what PyAV raises) on a broken file.
    """
    deadline = deadline or Deadline(cfg.timeout_s, record["uri"])
    base = _asset_fields(record)
    info = TimelineReport()
    if record["media_type"] == "image":
        segments = _image_segments(record, cfg, base, info)
    else:
        segments = iter_timeline(record["uri"], record["media_type"], cfg, deadline, info)
    heard = FingerprintBuffer(cfg.sample_rate)
    n = 0
    for seg in segments:
        if info.probe is not None and base["codecs"] is None:
            base.update(_asset_fields(record, info.probe))
        if info.modality == "audio" and base["media_type"] == "video":
            base["media_type"] = "audio"  # a "video" file that only holds sound
        if info.modality == "audio":
            heard.add(seg.get("audio"))
        words = info.metadata.text() if n == 0 and info.metadata is not None else None
        yield {**base, **seg, "segment_index": n, "segment_id": segment_id_for(record["asset_id"], n, seg["start_s"]),
               "n_segments": None, "error": None, "metadata_text": words}
        n += 1
    if info.probe is not None:
        base.update(_asset_fields(record, info.probe))
        if info.modality == "audio":
            base["media_type"] = "audio"
    if info.duration_s is not None:
        base["duration_s"] = info.duration_s
    extra = info.metadata.columns() if info.metadata is not None else {}
    yield {**base, **extra, "audio_fingerprint": heard.fingerprint(), "segment_index": -1, "n_segments": n,
           "error": None}


def decode_file(record: dict, cfg: DecodeConfig) -> list[dict]:
    """All segment rows of one file, each with ``n_segments`` filled in (for tests and tools).

    A file with no segment gives its marker row alone.
    """
    rows = list(iter_file_rows(record, cfg))
    marker, segs = rows[-1], rows[:-1]
    carried = {k: marker.get(k) for k in ASSET_FROM_STREAM if k not in ("segment_index",)}
    for r in segs:
        r.update({k: v for k, v in carried.items() if k not in ("asset_id", "uri")}, n_segments=len(segs))
    return segs or [marker]


def failed_row(record: dict, exc: BaseException) -> dict:
    msg = str(exc).strip()
    reason = f"{type(exc).__name__}: {msg}"
    if record["uri"] not in msg and record["uri"].rsplit("/", 1)[-1] not in msg:
        reason = f"{type(exc).__name__}: {record['uri']}: {msg or 'decoding failed'}"
    return {**_asset_fields(record), "segment_index": -1, "n_segments": 0, "error": reason}


def to_stream_table(rows: list[dict]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in STREAM}
    return pa.Table.from_pydict(cols, schema=STREAM)


def decode_stream(batch: pa.Table, cfg: DecodeConfig, raise_errors: bool = False,
                  drop: tuple[str, ...] = ()) -> Iterator[pa.Table]:
    """Ray Data entry point: file records in, ``STREAM`` blocks out, as segments are decoded.
    ``drop``: columns to leave null because no stage of the plan reads them."""
    out: list[dict] = []
    for record in batch.to_pylist():
        try:
            for row in iter_file_rows(record, cfg):
                for name in drop:
                    row[name] = None
                out.append(row)
                if len(out) >= cfg.rows_per_block:
                    yield to_stream_table(out)
                    out = []
        except Exception as e:  # a broken file becomes a failed row, the run goes on
            if raise_errors:
                raise
            out = [r for r in out if r["asset_id"] != record["asset_id"]]
            out.append(failed_row(record, e))
    if out:
        yield to_stream_table(out)


def decode_batch(batch: pa.Table, cfg: DecodeConfig, raise_errors: bool = False) -> pa.Table:
    """:func:`decode_stream` gathered into one table (small batches, tests)."""
    tables = list(decode_stream(batch, cfg, raise_errors))
    return pa.concat_tables(tables) if tables else to_stream_table([])
