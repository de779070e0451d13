"""Arrow schemas of the tables, in one place.

``assets``: one row per source file. ``segments``: one row per chunk, one vector column
per embedding space. ``runs``: one row per ingestion run. The tables are plain Lance
datasets, readable with pyarrow, polars or duckdb without medialake.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

#: Embedding spaces and their vector widths. ``text`` is sentence embeddings of the
#: combined text; others are added by the model profile.
TEXT_DIM = 384

ASSET_STATUSES = ("done", "failed")


def vector_type(dim: int) -> pa.DataType:
    return pa.list_(pa.float32(), dim)


ASSETS = pa.schema(
    [
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
        pa.field("media_type", pa.string(), nullable=False),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.timestamp("us", tz="UTC")),
        pa.field("content_hash", pa.string()),
        pa.field("duration_s", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("codecs", pa.string()),
        pa.field("pipeline_version", pa.string()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("n_segments", pa.int32()),
        pa.field("summary", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ],
    metadata={"medialake.schema_version": str(SCHEMA_VERSION), "medialake.table": "assets"},
)


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
            pa.field("language", pa.string()),
            pa.field("ocr_text", pa.string()),
            pa.field("caption", pa.string()),
            pa.field("text", pa.string()),
            pa.field("text_vector", vector_type(text_dim)),
        ],
        metadata={"medialake.schema_version": str(SCHEMA_VERSION), "medialake.table": "segments"},
    )


SEGMENTS = segments_schema()

RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("source", pa.string()),
        pa.field("config_hash", pa.string()),
        pa.field("seen", pa.int64()),
        pa.field("ingested", pa.int64()),
        pa.field("skipped", pa.int64()),
        pa.field("failed", pa.int64()),
        pa.field("segments", pa.int64()),
    ],
    metadata={"medialake.schema_version": str(SCHEMA_VERSION), "medialake.table": "runs"},
)


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

#: Rows flowing between pipeline stages: one per segment, or one marker per asset that
#: produced no segment (``segment_index`` = -1) or failed (``error`` set). Asset fields
#: ride along on every row so the sink can write the asset when its last segment lands.
STREAM = pa.schema(
    [
        pa.field("asset_id", pa.string()),
        pa.field("uri", pa.string()),
        pa.field("media_type", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.timestamp("us", tz="UTC")),
        pa.field("duration_s", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("codecs", pa.string()),
        pa.field("n_segments", pa.int32()),
        pa.field("error", pa.string()),
        pa.field("segment_id", pa.string()),
        pa.field("segment_index", pa.int32()),
        pa.field("modality", pa.string()),
        pa.field("start_s", pa.float64()),
        pa.field("end_s", pa.float64()),
        pa.field("thumbnail", pa.binary()),
        pa.field("audio", pa.binary()),  # float32 mono PCM at DecodeConfig.sample_rate
        # Model-ready frames of the segment: JPEG bytes whose shorter side is
        # DecodeConfig.frame_px, and their times in seconds (source timeline).
        pa.field("frames", pa.list_(pa.binary())),
        pa.field("frame_times", pa.list_(pa.float64())),
    ]
)

#: Columns the sink keeps from a stream row for the asset table.
ASSET_FROM_STREAM = ("asset_id", "uri", "media_type", "size", "mtime", "duration_s", "width", "height", "codecs", "n_segments")


# --- incremental ingestion (issue 6) ------------------------------------------------
#: ``pending``: being (re)processed by a run, its segments are not committed yet;
#: ``deleted``: every file that held it is gone, its segments were removed.
ASSET_STATUSES = ("done", "failed", "pending", "deleted")

#: One place where an asset's content lives: the uri and the metadata seen there.
LOCATION = pa.struct([("uri", pa.string()), ("size", pa.int64()),
                      ("mtime", pa.timestamp("us", tz="UTC")), ("etag", pa.string())])


def extend_schema(base: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
    """``base`` with ``fields`` appended (keeps its metadata)."""
    out = base
    for f in fields:
        out = out.append(f)
    return out.with_metadata(base.metadata)


ASSETS = extend_schema(ASSETS, [
    pa.field("etag", pa.string()),
    # every uri that holds this content (moves and duplicates need no model work)
    pa.field("locations", pa.list_(LOCATION)),
    # JSON {role: "model@version"} of the models that produced the segments
    pa.field("model_versions", pa.string()),
    pa.field("run_id", pa.string()),
])

RUNS = extend_schema(RUNS, [
    pa.field("status", pa.string()),  # running / done (a crashed run leaves no row)
    pa.field("full", pa.bool_()),
    pa.field("address", pa.string()),
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
])

def schema_version(sch: pa.Schema) -> int | None:
    """The medialake schema version recorded in a table's schema metadata (None if absent)."""
    raw = (sch.metadata or {}).get(b"medialake.schema_version")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def check_version(sch: pa.Schema, where: str = "table") -> int | None:
    """Raise if ``sch`` was written by a newer medialake than this one; return its version.

    Tables without a version (written by other tools) are accepted as they are.
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


def segments_schema_with(dims: dict[str, int], text_dim: int = TEXT_DIM) -> pa.Schema:
    """The segments schema plus one nullable vector column per entry of ``dims``."""
    base = segments_schema(text_dim)
    for f in vector_fields({k: v for k, v in dims.items() if k != "text_vector"}):
        base = base.append(f)
    return base.with_metadata(segments_schema(text_dim).metadata)

PAYLOADS = ("audio", "frames", "frame_times")
RECORD = pa.schema([STREAM.field(n) for n in ("asset_id", "uri", "media_type", "size", "mtime")])
