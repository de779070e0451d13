"""Arrow schemas of the tables, in one place.

``assets``: one row per source file. ``segments``: one row per chunk, one vector column
per embedding space. ``frames``: one row per sampled video frame the ``image_text`` role
embedded (made when that role has a model). ``runs``: one row per ingestion run. The tables are plain Lance
datasets, readable with pyarrow, polars or duckdb without medialake.

The rows flowing between pipeline stages (:data:`STREAM`) are declared here too, from the
fields of the tables they end up in, so the role of every stream column is read off this
module: asset fields, segment fields, control fields and payloads.
"""

from __future__ import annotations

import pyarrow as pa

#: Version 2: ``assets.pipeline_version`` became ``assets.config_hash`` (see
#: :data:`RENAMED`). Version 3: what files say about themselves (``assets.taken_at``,
#: ``camera_make``, ``camera_model``, ``gps_lat``, ``gps_lon``, ``metadata``), near-duplicate
#: signatures (``segments.phash``, ``assets.audio_fingerprint``) and ``segments.metadata_text``.
#: Version 4: the ``frames`` table (:func:`frames_schema`), per-frame vectors of video.
#: :meth:`medialake.store.Store.migrate` upgrades older tables (new columns are null).
SCHEMA_VERSION = 4

#: Embedding spaces and their vector widths. ``text`` is sentence embeddings of the
#: combined text; others are added by the model profile.
TEXT_DIM = 384

#: ``done``: all its segments are committed; ``failed``: ``reason`` says why;
#: ``pending``: being (re)processed by a run, its segments are not committed yet;
#: ``deleted``: every file that held it is gone, its segments were removed.
ASSET_STATUSES = ("done", "failed", "pending", "deleted")

_UTC = pa.timestamp("us", tz="UTC")

#: One place where an asset's content lives: the uri and the metadata seen there.
LOCATION = pa.struct([("uri", pa.string()), ("size", pa.int64()), ("mtime", _UTC), ("etag", pa.string())])


#: Timed words of a segment (``segments.words``).
WORDS = pa.list_(pa.struct([("word", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
                            ("probability", pa.float32())]))


def vector_type(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


def _metadata(table: str) -> dict[str, str]:
    return {"medialake.schema_version": str(SCHEMA_VERSION), "medialake.table": table}


ASSETS = pa.schema(
    [
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("media_type", pa.string(), nullable=False),
        pa.field("size", pa.int64()),
        pa.field("mtime", _UTC),
        pa.field("content_hash", pa.string()),
        pa.field("duration_s", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("codecs", pa.string()),
        pa.field("config_hash", pa.string()),  # IngestConfig.config_hash() of the run that made it
        pa.field("status", pa.string(), nullable=False),  # one of ASSET_STATUSES
        pa.field("reason", pa.string()),
        pa.field("n_segments", pa.int32()),
        pa.field("summary", pa.string()),
        pa.field("ingested_at", _UTC),
        pa.field("etag", pa.string()),
        # every uri that holds this content (moves and duplicates need no model work)
        pa.field("locations", pa.list_(LOCATION)),
        # JSON {role: "model@version"} of the models that produced the segments
        pa.field("model_versions", pa.string()),
        pa.field("run_id", pa.string()),
        # the language spoken longest in the asset's segments (null: no speech recognised)
        pa.field("language", pa.string()),
        # what the file says about itself (medialake.operators.metadata): capture time as the
        # camera's wall clock tagged UTC, camera, GPS; the other EXIF/XMP/IPTC/container tags as JSON
        pa.field("taken_at", _UTC),
        pa.field("camera_make", pa.string()),
        pa.field("camera_model", pa.string()),
        pa.field("gps_lat", pa.float64()),
        pa.field("gps_lon", pa.float64()),
        pa.field("metadata", pa.string()),
        # sound and music files: chroma fingerprint (medialake.operators.fingerprint), for near-duplicates
        pa.field("audio_fingerprint", pa.binary()),
    ],
    metadata=_metadata("assets"),
)

#: Columns renamed since an older schema version, per table: ``{table: {old: new}}``.
RENAMED = {"assets": {"pipeline_version": "config_hash"}}


def segments_schema(text_dim: int = TEXT_DIM) -> pa.Schema:
    return pa.schema(
        [
            pa.field("segment_id", pa.string(), nullable=False),
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("media_type", pa.string(), nullable=False),
            pa.field("modality", pa.string(), nullable=False),
            pa.field("segment_index", pa.int32(), nullable=False),
            pa.field("start_s", pa.float64(), nullable=False),
            pa.field("end_s", pa.float64(), nullable=False),
            pa.field("thumbnail", pa.binary()),
            pa.field("transcript", pa.string()),
            pa.field("language", pa.string()),  # detected per segment by the asr role
            # the transcript's words: seconds on the asset's timeline, recognizer confidence 0-1
            pa.field("words", WORDS),
            pa.field("ocr_text", pa.string()),
            pa.field("caption", pa.string()),
            pa.field("text", pa.string()),
            pa.field("text_vector", vector_type(text_dim)),
            # 64-bit DCT perceptual hash of the segment's picture (photos, video keyframes)
            pa.field("phash", pa.int64()),
            # the asset's metadata words, on its first segment (the text role joins them into ``text``)
            pa.field("metadata_text", pa.string()),
        ],
        metadata=_metadata("segments"),
    )


SEGMENTS = segments_schema()


def frames_schema(dim: int) -> pa.Schema:
    """The ``frames`` table: one row per sampled video frame that the ``image_text`` role
    embedded, ``vector`` in the same space (and width, ``dim``) as ``segments.image_vector``;
    ``t_s``: the frame's time on the asset's timeline; ``thumbnail``: a small JPEG."""
    return pa.schema(
        [
            pa.field("asset_id", pa.string(), nullable=False),
            pa.field("segment_id", pa.string(), nullable=False),
            pa.field("media_type", pa.string(), nullable=False),
            pa.field("frame_index", pa.int32(), nullable=False),  # order in its segment
            pa.field("t_s", pa.float64(), nullable=False),
            pa.field("thumbnail", pa.binary()),
            pa.field("vector", vector_type(dim)),
        ],
        metadata=_metadata("frames"),
    )


#: What the ``image_text`` stage hands the fragment writer per segment row (stream column
#: ``frame_rows``): each sampled frame's time, small JPEG and vector (rows of ``frames``).
FRAME_ROWS = pa.list_(pa.struct([("t_s", pa.float64()), ("thumbnail", pa.binary()),
                                 ("vector", pa.list_(pa.float32()))]))

RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", _UTC),
        pa.field("finished_at", _UTC),
        pa.field("source", pa.string()),
        pa.field("config_hash", pa.string()),
        pa.field("seen", pa.int64()),
        pa.field("ingested", pa.int64()),
        pa.field("skipped", pa.int64()),
        pa.field("failed", pa.int64()),
        pa.field("segments", pa.int64()),
        pa.field("status", pa.string()),  # running / done (a crashed run leaves no row)
        pa.field("full", pa.bool_()),
        pa.field("address", pa.string()),
        # one count per diff outcome (medialake.operators.diff.OUTCOMES)
        pa.field("new", pa.int64()),
        pa.field("changed", pa.int64()),
        pa.field("unchanged", pa.int64()),
        pa.field("moved", pa.int64()),
        pa.field("duplicate", pa.int64()),
        pa.field("stale", pa.int64()),
        pa.field("retried", pa.int64()),
        pa.field("deleted", pa.int64()),
        pa.field("forced", pa.int64()),
        pa.field("model_versions", pa.string()),
    ],
    metadata=_metadata("runs"),
)


def _nullable(sch: pa.Schema, names: tuple[str, ...]) -> list[pa.Field]:
    return [sch.field(n).with_nullable(True) for n in names]


#: Columns the sink keeps from a stream row for the asset table.
ASSET_FROM_STREAM = ("asset_id", "uri", "media_type", "size", "mtime", "duration_s", "width", "height", "codecs",
                     "n_segments") + (
    # set on the asset's closing marker row only (decode), null on its segment rows
    "taken_at", "camera_make", "camera_model", "gps_lat", "gps_lon", "metadata", "audio_fingerprint")

#: Decode's payloads: float32 mono PCM at ``DecodeConfig.sample_rate`` (``audio``), the
#: model-ready frames of the segment, JPEG bytes whose shorter side is
#: ``DecodeConfig.frame_px``, with their times in seconds on the source timeline, and the
#: same frames larger for OCR (``ocr_frames``, longer side ``DecodeConfig.ocr_px``). Decode
#: makes them, model stages read them, the sink never stores them.
PAYLOADS = ("audio", "frames", "frame_times", "ocr_frames")

#: Rows flowing between pipeline stages: one per segment, or one marker per asset that
#: produced no segment (``segment_index`` = -1) or failed (``error`` set). Asset fields
#: ride along on every row so the sink can write the asset when its last segment lands.
STREAM = pa.schema(
    _nullable(ASSETS, ASSET_FROM_STREAM)
    + [pa.field("error", pa.string())]  # control: why the file failed (marker rows)
    + _nullable(SEGMENTS, ("segment_id", "segment_index", "modality", "start_s", "end_s", "thumbnail",
                                 "phash", "metadata_text"))
    + [pa.field("audio", pa.binary()), pa.field("frames", pa.list_(pa.binary())),
       pa.field("frame_times", pa.list_(pa.float64())), pa.field("ocr_frames", pa.list_(pa.binary()))]
    + [pa.field("frame_rows", FRAME_ROWS)]  # image_text's per-frame output, for the frames table
)

#: Stream columns the sink does not store: all but those of the segments schema.
STREAM_ONLY = tuple(n for n in STREAM.names if n not in SEGMENTS.names)

#: The file records the pipeline starts from, one per file to decode.
RECORD = pa.schema(STREAM.field(n) for n in ("asset_id", "uri", "media_type", "size", "mtime"))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns, in order, cast to its types.

    Missing nullable columns are filled with nulls. Unknown columns are an error rather
    than silently dropped, so a typo in an operator shows up at once.
    """
    unknown = [n for n in table.column_names if n not in schema.names]
    if unknown:
        raise ValueError(
            f"columns {unknown} are not in the {schema.metadata.get(b'medialake.table', b'?').decode()} "
            f"schema; add them to medialake/schema.py or drop them before writing"
        )
    cols = []
    for field in schema:
        if field.name in table.column_names:
            cols.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            cols.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ValueError(f"required column {field.name!r} is missing")
    return pa.Table.from_arrays(cols, schema=schema)


def schema_version(sch: pa.Schema) -> int | None:
    """The medialake schema version recorded in a table's schema metadata (None if absent)."""
    raw = (sch.metadata or {}).get(b"medialake.schema_version")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def check_version(sch: pa.Schema, where: str = "table") -> int | None:
    """Raise if ``sch`` was written by a newer medialake than this one; return its version.

    Tables without a version (written by other tools) and tables of older versions are
    accepted as they are (``Store.migrate`` upgrades them when opened for writing).
    """
    from medialake.errors import InputError

    v = schema_version(sch)
    if v is not None and v > SCHEMA_VERSION:
        raise InputError(
            f"{where} has medialake schema version {v}, newer than this medialake reads ({SCHEMA_VERSION}); "
            f"upgrade medialake (pip install -U medialake)"
        )
    return v


#: Vector columns whose width depends on the model that fills them (a role with no model
#: leaves them out of a new table, or null in an existing one): column -> config role.
MODEL_VECTOR_COLUMNS = {"image_vector": "image_text", "audio_vector": "audio"}


def vector_fields(dims: dict[str, int]) -> list[pa.Field]:
    """Nullable vector fields for ``{"image_vector": 512, ...}`` (unknown names rejected)."""
    unknown = sorted(set(dims) - set(MODEL_VECTOR_COLUMNS) - {"text_vector"})
    if unknown:
        raise ValueError(f"vector columns {unknown} are not known; use {sorted(MODEL_VECTOR_COLUMNS)}")
    return [pa.field(name, vector_type(int(dim)), nullable=True) for name, dim in sorted(dims.items())]
