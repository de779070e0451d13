"""``medialake report --db DB``: a summary of a database, computed with polars.

Assets by type and status, hours of media, segments per type, failures grouped by
reason, and the last runs. The tables are read as Lance datasets through
``polars.scan_pyarrow_dataset``, selecting only the columns needed (no thumbnails or
vectors are loaded), the way any user could without medialake.
"""

from __future__ import annotations

import re
from pathlib import Path

from medialake.errors import InputError
from medialake.uris import is_uri


def _scan(db: str, name: str):
    import lance
    import polars as pl

    uri = is_uri(db)  # handed to lance as it is
    path = Path(db) / f"{name}.lance"
    if not uri and not path.exists():
        raise InputError(f"database {db!r} has no {name!r} table; run `medialake ingest SOURCE --db {db}` first")
    try:
        return pl.scan_pyarrow_dataset(lance.dataset(f"{db.rstrip('/')}/{name}.lance" if uri else str(path)))
    except Exception as e:
        raise InputError(f"cannot read the {name!r} table of {db!r}: {e}") from e


def _reason_kind(reason: str | None, uri: str | None) -> str:
    """A failure reason with the file's own path taken out, so equal causes group."""
    text = (reason or "unknown").splitlines()[0]
    if uri:
        text = text.replace(uri, "<file>")
    return re.sub(r"/[^\s:'\"]+", "<path>", text)[:160]


def report(db: str | Path, last_runs: int = 5) -> dict:
    """The summary of ``db`` as polars DataFrames: ``assets`` (type x status: count, hours),
    ``segments`` (per type), ``failures`` (per reason), ``runs`` (the last ``last_runs``),
    and ``totals`` (one row)."""
    import polars as pl

    db = str(db)
    assets = _scan(db, "assets").select("media_type", "status", "duration_s", "reason", "uri").collect()
    segments = _scan(db, "segments").select("media_type", "start_s", "end_s", "text").collect()
    runs = _scan(db, "runs").select("started_at", "finished_at", "source", "seen", "ingested", "skipped", "failed",
                                    "segments").collect()
    by_type = (assets.group_by("media_type", "status")
               .agg(pl.len().alias("assets"), (pl.col("duration_s").fill_null(0).sum() / 3600).alias("hours"))
               .sort("media_type", "status"))
    failed = assets.filter(pl.col("status") == "failed")
    failures = (failed.with_columns(pl.struct("reason", "uri").map_elements(
                    lambda r: _reason_kind(r["reason"], r["uri"]), return_dtype=pl.String).alias("reason"))
                .group_by("reason").agg(pl.len().alias("assets"), pl.col("uri").first().alias("example"))
                .sort("assets", "reason", descending=[True, False]))
    segs = (segments.group_by("media_type")
            .agg(pl.len().alias("segments"), pl.col("text").is_not_null().sum().alias("with_text"),
                 ((pl.col("end_s") - pl.col("start_s")).sum() / 3600).alias("hours"))
            .sort("media_type"))
    last = (runs.sort("started_at", descending=True).head(last_runs)
            .with_columns((pl.col("finished_at") - pl.col("started_at")).dt.total_seconds().alias("seconds"))
            .drop("finished_at"))
    done = assets.filter(pl.col("status") == "done")
    totals = pl.DataFrame({
        "assets": [assets.height], "done": [done.height], "failed": [failed.height],
        "hours": [float(done["duration_s"].fill_null(0).sum()) / 3600], "segments": [segments.height],
        "runs": [runs.height],
    })
    return {"totals": totals, "assets": by_type, "segments": segs, "failures": failures, "runs": last}


def format_report(tables: dict) -> str:
    """The report as text for a terminal."""
    import polars as pl

    t = tables["totals"].row(0, named=True)
    lines = [f"assets: {t['assets']} ({t['done']} done, {t['failed']} failed), "
             f"{t['hours']:.2f} hours of media, {t['segments']} segments, {t['runs']} runs"]
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, fmt_str_lengths=80, tbl_width_chars=140,
                   float_precision=3):
        for name, title in (("assets", "assets by type and status"), ("segments", "segments by type"),
                            ("failures", "failures by reason"), ("runs", "last runs")):
            df = tables[name]
            lines.append(f"\n{title}:")
            lines.append(str(df) if df.height else "  (none)")
    return "\n".join(lines)
