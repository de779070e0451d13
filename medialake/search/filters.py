"""Search filters, built from typed parameters, never by pasting user text into SQL.

Asset-level conditions (path prefix, source-file date range, duration range) are
evaluated with ``pyarrow.compute`` on the ``assets`` table, which yields a set of asset
ids; segment-level conditions (media type, language) become SQL comparisons whose
values are quoted literals (:func:`medialake.store.sql_str`). A value that cannot match
(``' OR 1=1 --`` as a media type or date) matches nothing and raises nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import pyarrow as pa
import pyarrow.compute as pc

from medialake.store import sql_in, sql_str
from medialake.uris import absolute, local_path

log = logging.getLogger(__name__)

MEDIA_TYPES = ("video", "audio", "image")

#: The where clause that matches no row.
NOTHING = "false"


def _as_datetime(value, end_of_day: bool = False) -> datetime | None:
    """A timezone-aware datetime from a datetime, a date or an ISO-8601 string; None if
    the value is not a date (the filter then matches nothing)."""
    if value is None or isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time.max if end_of_day else time.min)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            log.warning("date filter %r is not an ISO date (YYYY-MM-DD[THH:MM]); it matches nothing", value)
            return None
        if end_of_day and len(text) <= 10:  # a bare date: include the whole day
            dt = datetime.combine(dt.date(), time.max)
    if dt is not None and dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def _as_float(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        log.warning("duration filter %r is not a number of seconds; it matches nothing", value)
        return None
    return f if f == f else None  # NaN matches nothing


def _prefixes(prefix: str) -> set[str]:
    """The prefix as given and, for a relative local path, as the absolute path that
    ``medialake ingest`` records (``samples/video`` -> ``/home/me/samples/video``)."""
    out = {prefix}
    if local_path(prefix) == prefix:  # a plain local path, not a URI (nor empty)
        out.add(absolute(prefix) + (os.sep if prefix.endswith(os.sep) else ""))
    return out


@dataclass(frozen=True)
class Filters:
    """What to keep. Every field is optional; ``None`` means no condition.

    ``media_type``: video, audio or image. ``path_prefix``: the asset URI or path starts
    with it. ``since`` / ``until``: the source file's modification time (date, datetime or
    ISO string; a bare ``until`` date includes that whole day). ``min_duration`` /
    ``max_duration``: the asset's duration in seconds (images have none and are excluded
    by a duration filter). ``language``: the spoken language code of the segment.
    ``taken_since`` / ``taken_until``: the capture time the file records (EXIF, XMP, IPTC or
    container ``creation_time``; inclusive, a bare ``taken_until`` date includes that day);
    files that record none do not match.
    """

    media_type: str | None = None
    path_prefix: str | None = None
    since: datetime | date | str | None = None
    until: datetime | date | str | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    language: str | None = None
    taken_since: datetime | date | str | None = None
    taken_until: datetime | date | str | None = None

    @property
    def asset_level(self) -> bool:
        return any(v is not None for v in (self.path_prefix, self.since, self.until, self.min_duration,
                                           self.max_duration, self.taken_since, self.taken_until))

    def _date_masks(self, assets: pa.Table, mask):
        """``mask`` and the modification-time and capture-time conditions (False: cannot match)."""
        for value, column, op, end in ((self.since, "mtime", pc.greater_equal, False),
                                       (self.until, "mtime", pc.less_equal, True),
                                       (self.taken_since, "taken_at", pc.greater_equal, False),
                                       (self.taken_until, "taken_at", pc.less_equal, True)):
            if value is None:
                continue
            dt = _as_datetime(value, end_of_day=end)
            if dt is None or column not in assets.column_names:
                return False
            col = assets.column(column)
            mask = pc.and_(mask, pc.fill_null(op(col, pa.scalar(dt, type=col.type)), False))
        return mask

    def asset_mask(self, assets: pa.Table) -> pa.ChunkedArray | pa.Array | bool:
        """Boolean mask over ``assets`` (columns uri, mtime, duration_s, taken_at), or False
        when a parameter can never match."""
        mask = pa.array([True] * assets.num_rows)
        if self.path_prefix is not None:
            uri = assets.column("uri")
            hit = pa.array([False] * assets.num_rows)
            for prefix in _prefixes(str(self.path_prefix)):
                hit = pc.or_(hit, pc.fill_null(pc.starts_with(uri, prefix), False))
            mask = pc.and_(mask, hit)
        mask = self._date_masks(assets, mask)
        if mask is False:
            return False
        for value, op in ((self.min_duration, pc.greater_equal), (self.max_duration, pc.less_equal)):
            if value is None:
                continue
            f = _as_float(value)
            if f is None:
                return False
            mask = pc.and_(mask, pc.fill_null(op(assets.column("duration_s"), f), False))
        return mask

    def where(self, store) -> str | None:
        """The SQL condition on ``segments`` for these filters (None: no condition).

        Only quoted literals reach the SQL text: the media type is checked against the
        known types, the language is a quoted string, asset ids come from the table.
        """
        parts = []
        if self.media_type is not None:
            if self.media_type not in MEDIA_TYPES:
                return NOTHING
            parts.append(f"media_type = {sql_str(self.media_type)}")
        if self.language is not None:
            parts.append(f"language = {sql_str(str(self.language))}")
        if self.asset_level:
            have = set(store.table("assets").schema.names)
            assets = store.assets([c for c in ("asset_id", "uri", "mtime", "duration_s", "taken_at") if c in have])
            mask = self.asset_mask(assets)
            if mask is False:
                return NOTHING
            ids = assets.filter(mask).column("asset_id").to_pylist()
            if not ids:
                return NOTHING
            parts.append(sql_in("asset_id", ids))
        return " AND ".join(f"({p})" for p in parts) or None
